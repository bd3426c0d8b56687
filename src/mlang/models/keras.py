"""The paper's model-description API (DESIGN §3): a Keras-style `Model` with compile/fit/evaluate/predict.

```python
model = m.Model()
model.add(m.Conv2D(32, kernel=(3, 3), stride=(1, 1), padding='same', input_shape=(64, 64, 3)))
model.add(m.Activation('relu'))
model.compile(optimizer=m.Optimizer('adam', learning_rate=0.001), loss=m.Loss('binary_crossentropy'),
              metrics=[m.Metric('accuracy')])
history = model.fit(x, y, epochs=2, batch_size=32)
```

As in Keras, `input_shape` is channels-last: `(64, 64, 3)` is M's `Image[3, 64, 64]`.  Such a
model takes channels-last arrays and PIL images (decoded like any M image, then laid out
channels-last) and, while its output still has spatial dims, gives them back
channels-last; inside it is an ordinary channels-first M layer stack (same parameters, same
`layers.N` state-dict names as the M declaration of the same stack).
"""
from __future__ import annotations

import difflib

import numpy as np
import torch
from torch import nn

from mlang.lang import types as T
from mlang.lang.diagnostics import Diagnostic, MError
from mlang.models.layers.base import Layer, layer_from_config
from mlang.models.module import MModel, _image_tensor, input_mismatch
from mlang.models.shapes import format_shape, propagate
from mlang.models.spec import ModelSpec
from mlang.models.stack import LayerList

B = T.Sym("B")
_SPATIAL_FIRST_LAYERS = ("Conv1D", "MaxPool1D", "AvgPool1D")


class TrainingOptimizer:
    """A training algorithm by name (`adam`, `adamw`, `sgd`, `rmsprop`, `adagrad`, `nadam`)."""

    ALGORITHMS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop",
                  "adagrad": "Adagrad", "adadelta": "Adadelta", "nadam": "NAdam"}

    def __init__(self, name: str = "adam", learning_rate: float = 0.001, **options):
        key = str(name).lower()
        if key not in self.ALGORITHMS:
            raise MError(f"unknown optimizer '{name}'", hint=_did_you_mean(key, self.ALGORITHMS))
        self.name, self.learning_rate, self.options = key, float(learning_rate), options

    def create(self, parameters) -> torch.optim.Optimizer:
        """The torch optimizer over `parameters`."""
        cls = getattr(torch.optim, self.ALGORITHMS[self.name])
        return cls(parameters, lr=self.learning_rate, **self.options)

    def __repr__(self) -> str:
        return f"TrainingOptimizer({self.name!r}, learning_rate={self.learning_rate})"


def _did_you_mean(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else "one of: " + ", ".join(sorted(known))


_EPS = 1e-7


def _binary_crossentropy(pred, target, from_logits):
    if from_logits:
        return nn.functional.binary_cross_entropy_with_logits(pred, target)
    pred = pred.clamp(_EPS, 1 - _EPS)  # Keras clips probabilities the same way
    return -(target * pred.log() + (1 - target) * (1 - pred).log()).mean()


def _categorical_crossentropy(pred, target, from_logits):
    log_probs = pred.log_softmax(-1) if from_logits else (pred / pred.sum(-1, keepdim=True)).clamp(_EPS, 1 - _EPS).log()
    return -(target * log_probs).sum(-1).mean()


def _sparse_categorical_crossentropy(pred, target, from_logits):
    log_probs = pred.log_softmax(-1) if from_logits else (pred / pred.sum(-1, keepdim=True)).clamp(_EPS, 1 - _EPS).log()
    return nn.functional.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), target.long().reshape(-1))


class Loss:
    """A Keras loss by name; predictions are probabilities unless `from_logits=True`."""

    FUNCTIONS = {
        "binary_crossentropy": _binary_crossentropy,
        "categorical_crossentropy": _categorical_crossentropy,
        "sparse_categorical_crossentropy": _sparse_categorical_crossentropy,
        "mse": lambda p, t, _l: nn.functional.mse_loss(p, t),
        "mae": lambda p, t, _l: nn.functional.l1_loss(p, t),
        "huber": lambda p, t, _l: nn.functional.huber_loss(p, t),
    }
    ALIASES = {"mean_squared_error": "mse", "mean_absolute_error": "mae", "cross_entropy": "sparse_categorical_crossentropy"}

    def __init__(self, name: str, from_logits: bool = False):
        key = self.ALIASES.get(str(name).lower(), str(name).lower())
        if key not in self.FUNCTIONS:
            raise MError(f"unknown loss '{name}'", hint=_did_you_mean(key, [*self.FUNCTIONS, *self.ALIASES]))
        self.name, self.from_logits = key, from_logits

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.name != "sparse_categorical_crossentropy":
            target = target.to(pred.dtype).reshape(pred.shape) if target.numel() == pred.numel() else target.to(pred.dtype)
        return self.FUNCTIONS[self.name](pred, target, self.from_logits)

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


class Metric:
    """A Keras metric by name: `accuracy` (resolved from the loss, as Keras does), `mse`, `mae`, ..."""

    NAMES = ("accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
             "mse", "mae")
    ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}

    def __init__(self, name: str):
        key = self.ALIASES.get(str(name).lower(), str(name).lower())
        if key not in self.NAMES:
            raise MError(f"unknown metric '{name}'", hint=_did_you_mean(key, self.NAMES))
        self.name = key

    def resolved(self, loss: Loss) -> str:
        if self.name != "accuracy":
            return self.name
        return {"binary_crossentropy": "binary_accuracy",
                "categorical_crossentropy": "categorical_accuracy"}.get(loss.name, "sparse_categorical_accuracy")

    def compute(self, pred: torch.Tensor, target: torch.Tensor, loss: Loss) -> float:
        kind = self.resolved(loss)
        if kind == "binary_accuracy":
            threshold = 0.0 if loss.from_logits else 0.5
            return ((pred > threshold).float() == target.reshape(pred.shape).float()).float().mean().item()
        if kind == "categorical_accuracy":
            return (pred.argmax(-1) == target.argmax(-1)).float().mean().item()
        if kind == "sparse_categorical_accuracy":
            return (pred.argmax(-1) == target.reshape(pred.shape[:-1]).long()).float().mean().item()
        diff = pred - target.reshape(pred.shape).to(pred.dtype)
        return (diff.pow(2) if kind == "mse" else diff.abs()).mean().item()

    def __repr__(self) -> str:
        return f"Metric({self.name!r})"


class History:
    """What `fit` returns: `history.history["loss"]` is the per-epoch training loss."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def record(self, epoch: int, values: dict) -> None:
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def numeric_tensor(value, argument: str) -> torch.Tensor:
    """`value` (a tensor, a numpy array or nested lists of numbers) as a tensor with a first
    (example) dimension and a real numeric dtype; float64 becomes float32.  Anything else is an
    `MError` naming `argument` ("x", "y").  `Dataset.tensors` / `Dataset.arrays` read x and y here too."""
    if torch.is_tensor(value):
        tensor = value.detach()
    else:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise _argument_error(f"{argument} must be a tensor or an array of numbers, got "
                                  f"{type(value).__name__}", argument,
                                  "pass one row per example: a [N, ...] tensor, array or list")
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nested lists
            array = np.asarray(value, dtype=object)
        if array.dtype.kind == "O":
            raise _argument_error(f"{argument} is not a rectangular array of numbers (rows of "
                                  "different lengths, or not numbers)", argument,
                                  "every example must have the same shape; pad or resize them first")
        if array.dtype.kind not in "biuf":
            raise _argument_error(f"{argument} must hold numbers, got {_kind_name(array.dtype)}",
                                  argument, _text_hint(argument))
        # A copy only where torch cannot share the memory (np.ascontiguousarray would also turn a
        # 0-d array into a 1-d one).
        shared = array.flags.c_contiguous and array.flags.writeable
        tensor = torch.from_numpy(array if shared else array.copy())
    if tensor.is_complex():
        raise _argument_error(f"{argument} must hold real numbers, got {tensor.dtype}", argument)
    if tensor.dim() == 0:
        raise _argument_error(f"{argument} is a single number; expected one row per example "
                              "(shape [N, ...])", argument)
    if len(tensor) == 0:
        raise _argument_error(f"{argument} has no examples (its first dimension is 0)", argument)
    return tensor.float() if tensor.dtype == torch.float64 else tensor


def check_lengths(x_count: int, y_count: int) -> None:
    """x and y must have one row per example each."""
    if x_count != y_count:
        raise _argument_error(f"x has {x_count} examples but y has {y_count}", "y",
                              "x and y need one row per example, in the same order")


def _argument_error(message: str, argument: str, hint: str | None = None) -> MError:
    # The message names the argument already: no "x:" prefix.
    return MError(message, field=argument, hint=hint, diagnostics=[Diagnostic(message, hint=hint)])


def _kind_name(dtype) -> str:
    return {"U": "text", "S": "bytes", "M": "dates", "m": "time spans", "c": "complex numbers"}.get(
        dtype.kind, str(dtype))


def _text_hint(argument: str) -> str:
    if argument == "x":
        return "texts go in a records or CSV dataset: Dataset.records(rows, text=\"...\", label=\"...\")"
    return "pass numbers (class ids or values to regress on)"


class Model(MModel):
    """A Keras-style sequential model: `add` layers, `compile`, `fit`, `evaluate`, `predict`."""

    kind = "keras"

    def __init__(self, layers: list | None = None, name: str = "Model"):
        super().__init__(ModelSpec(name))
        self.layers = LayerList()
        self.layer_specs: list[Layer] = []
        self.layer_types: list[T.MType] = []
        self.channels_last = False
        self.stack_input: T.MType | None = None
        self.loss: Loss | None = None
        self.metrics: list[Metric] = []
        self.optimizer_spec = None
        self._optimizer = None
        for layer in layers or []:
            self.add(layer)

    # ----- building --------------------------------------------------------------------------
    def add(self, layer: Layer) -> "Model":
        if not isinstance(layer, Layer):
            raise MError(f"Model.add expects a layer (m.Dense(...), m.Conv2D(...)), got {type(layer).__name__}")
        if not self.layer_specs and layer.input_shape is not None:
            self._set_input(tuple(layer.input_shape), layer)
        elif layer.input_shape is not None:
            raise MError(f"{layer.NAME}: only the first layer may give input_shape")
        self.layer_specs.append(layer)
        if self.stack_input is not None:
            self._build_pending()
        return self

    def _set_input(self, shape: tuple, first: Layer) -> None:
        """Keras' channels-last input_shape → M's channels-first stack input."""
        if len(shape) == 3 or (len(shape) == 2 and first.NAME in _SPATIAL_FIRST_LAYERS):
            self.channels_last = True
            dims = (shape[-1], *shape[:-1])
        else:
            dims = shape
        self.stack_input = T.TensorType("float32", (B, *dims))
        if len(dims) == 3:
            self.input_type = T.ImageType(*dims)
        else:
            self.input_type = T.TensorType("float32", (B, *shape))

    def _build_pending(self) -> None:
        start = len(self.layers)
        current = self.layer_types[-1] if self.layer_types else self.stack_input
        for layer in self.layer_specs[start:]:
            out = propagate(current, [layer])[0]
            self.layers.append(layer.build(current))
            self.layer_types.append(out)
            current = out
        self.output_type = current

    def _ensure_built(self, x: torch.Tensor) -> None:
        if self.stack_input is None:
            if not self.layer_specs:
                raise MError("the model has no layers", hint="add layers with model.add(...)")
            self._set_input(tuple(x.shape[1:]), self.layer_specs[0])
            self._build_pending()

    def compute(self, x, **_unused):
        self._ensure_built(x)
        given = x
        try:
            if self.channels_last:
                x = x.movedim(-1, 1)
            for module in self.layers:
                x = module(x)
        except (RuntimeError, IndexError) as error:
            # torch's "mat1 and mat2 shapes cannot be multiplied": say which input was expected.
            mismatch = input_mismatch(self, given, self._user_layout(self.stack_input))
            if mismatch is not None:
                raise mismatch from error
            raise
        if self.channels_last and x.dim() == len(self.stack_input.dims):
            x = x.movedim(1, -1)
        return x

    def _example_tensor(self, item) -> torch.Tensor:
        """PIL images and arrays are taken in this model's layout: channels last (Keras' own),
        decoded like any M image (scaled to [0, 1], resized) and handed to `compute` as H, W, C."""
        if self.channels_last and isinstance(self.input_type, T.ImageType) and not torch.is_tensor(item):
            return _image_tensor(item, self.input_type, channels_last=True).movedim(0, -1)
        return super()._example_tensor(item)

    def example_inputs(self, batch_size: int = 2) -> dict:
        if self.stack_input is None:
            raise MError("the model has no input shape yet", hint="give the first layer input_shape=(...)")
        dims = [batch_size, *(d if isinstance(d, int) else 8 for d in self.stack_input.dims[1:])]
        x = torch.rand(*dims)
        return {"x": x.movedim(1, -1) if self.channels_last else x}

    def summary_rows(self):
        return [(f"{i}: {layer.describe()}", format_shape(self._user_layout(t)),
                 sum(p.numel() for p in module.parameters()))
                for i, (layer, t, module) in enumerate(zip(self.layer_specs, self.layer_types, self.layers))]

    def _user_layout(self, t: T.MType) -> T.MType:
        """Shapes as a Keras user sees them: channels last while the spatial dims remain."""
        if self.channels_last and isinstance(t, T.TensorType) and t.dims and len(t.dims) == len(self.stack_input.dims):
            return T.TensorType(t.dtype, (t.dims[0], *t.dims[2:], t.dims[1]))
        return t

    # ----- training --------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        if loss is None:
            raise MError("Model.compile needs a loss", hint="e.g. loss=m.Loss('binary_crossentropy')")
        self.loss = loss if isinstance(loss, Loss) else Loss(loss)
        self.metrics = [m if isinstance(m, Metric) else Metric(m) for m in (metrics or [])]
        if isinstance(optimizer, str):
            optimizer = TrainingOptimizer(optimizer)
        if not isinstance(optimizer, (TrainingOptimizer, torch.optim.Optimizer)):
            raise MError(f"Model.compile: optimizer must be a training optimizer, got {type(optimizer).__name__}",
                         hint="e.g. m.Optimizer('adam', learning_rate=0.001)")
        self.optimizer_spec = optimizer
        self._optimizer = None

    def _torch_optimizer(self):
        if self._optimizer is None:
            spec = self.optimizer_spec
            self._optimizer = spec if isinstance(spec, torch.optim.Optimizer) else spec.create(self.parameters())
        return self._optimizer

    def _require_compiled(self, what: str) -> None:
        if self.loss is None:
            raise MError(f"Model.{what} needs a compiled model", hint="call model.compile(optimizer=..., loss=...) first")

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
            validation_split: float = 0.0, validation_data=None, verbose: int = 1,
            seed: int | None = None) -> History:
        """Train for `epochs` passes over (x, y); returns a `History` of per-epoch loss and metrics.

        `validation_split=0.2` holds out the last 20 % of the examples (taken before shuffling,
        as Keras does) and reports `val_loss` / `val_<metric>` after each epoch;
        `validation_data=(x_val, y_val)` gives the held-out data instead and takes precedence.
        """
        self._require_compiled("fit")
        x, y = numeric_tensor(x, "x"), numeric_tensor(y, "y")
        check_lengths(len(x), len(y))
        if validation_split and validation_data is None:
            x, y, validation_data = _split_off_validation(x, y, validation_split)
        self._ensure_built(x)
        optimizer, history = self._torch_optimizer(), History()
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        for epoch in range(epochs):
            self.train()
            order = torch.randperm(len(x), generator=generator) if shuffle else torch.arange(len(x))
            totals, seen = {}, 0
            device = self._device()
            for start in range(0, len(x), batch_size):
                index = order[start:start + batch_size]
                target = y[index].to(device)
                pred = self(x[index].to(device))
                loss = self.loss(pred, target)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                values = {"loss": loss.item(), **self._metric_values(pred.detach(), target)}
                for key, value in values.items():
                    totals[key] = totals.get(key, 0.0) + value * len(index)
                seen += len(index)
            epoch_values = {key: total / seen for key, total in totals.items()}
            if validation_data is not None:
                val = self.evaluate(*validation_data, batch_size=batch_size, return_dict=True)
                epoch_values.update({f"val_{k}": v for k, v in val.items()})
            history.record(epoch, epoch_values)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in epoch_values.items()))
        self.eval()
        self.history = history
        return history

    def _metric_values(self, pred, target) -> dict:
        return {m.name: m.compute(pred, target, self.loss) for m in self.metrics}

    def evaluate(self, x, y, batch_size: int = 32, return_dict: bool = False):
        """Loss and metrics over (x, y): `[loss, metric, ...]` (a float with no metrics) or a dict."""
        self._require_compiled("evaluate")
        x, y = numeric_tensor(x, "x"), numeric_tensor(y, "y")
        check_lengths(len(x), len(y))
        pred = self._predict_tensor(x, batch_size)
        y = y.to(pred.device)
        values = {"loss": self.loss(pred, y).item(), **self._metric_values(pred, y)}
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    def _predict_tensor(self, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        self._ensure_built(x)
        was_training = self.training
        self.eval()
        device = self._device()
        with torch.no_grad():
            outputs = [self(x[i:i + batch_size].to(device)) for i in range(0, len(x), batch_size)]
        self.train(was_training)
        return torch.cat(outputs)

    def predict(self, x, batch_size: int = 32) -> np.ndarray:
        """Model outputs for x as a numpy array."""
        return self._predict_tensor(numeric_tensor(x, "x"), batch_size).cpu().numpy()

    def _device(self) -> torch.device:
        return next((p.device for p in self.parameters()), torch.device("cpu"))

    # ----- saving ----------------------------------------------------------------------------
    def config(self, files: dict, prefix: str = "") -> dict:
        if self.stack_input is None:
            raise MError("cannot save a Model before its input shape is known",
                         hint="give the first layer input_shape=(...) or call it on data first")
        shape = [d for d in self.stack_input.dims[1:]]
        if self.channels_last:
            shape = [*shape[1:], shape[0]]
        return {"name": self.spec.name, "input_shape": shape,
                "layers": [layer.to_config() for layer in self.layer_specs]}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = "") -> "Model":
        model = cls(name=config.get("name", "Model"))
        layers = [layer_from_config(c) for c in config["layers"]]
        model._set_input(tuple(config["input_shape"]), layers[0])
        for layer in layers:
            model.add(layer)
        return model


def _split_off_validation(x: torch.Tensor, y: torch.Tensor, fraction) -> tuple:
    """(x, y) for training and the last `fraction` of the examples for validation (Keras' rule)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise _argument_error(f"validation_split must be a fraction between 0 and 1, got {fraction!r}",
                              "validation_split", "for example validation_split=0.2")
    held_out = int(len(x) * fraction)
    if held_out < 1 or held_out >= len(x):
        raise _argument_error(f"validation_split={fraction} of {len(x)} examples leaves "
                              f"{'no validation' if held_out < 1 else 'no training'} examples",
                              "validation_split", "use a larger fraction or more data")
    cut = len(x) - held_out
    return x[:cut], y[:cut], (x[cut:], y[cut:])
