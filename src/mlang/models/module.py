"""`MModel`: the `torch.nn.Module` every model M makes is.

The contract (docs/architecture.md):

- `spec` (a `ModelSpec`), `input_type`, `output_type` (M types), `task`, `labels`, `transforms`,
  `input_transforms` (the image transforms raw inputs go through first, `mlang.data.transforms`);
- `preprocess(inputs: list) -> dict[str, Tensor]`: raw examples → the tensors `compute` takes;
- `forward(x)` accepts raw inputs (preprocessed first), a tensor (`{"x": tensor}`), or the dict
  `preprocess` returned (`model(**features)` works too), and returns a tensor;
- `example_inputs(batch_size=2)`: a valid preprocessed batch (export, tracing, benchmarks);
- `summary()`: a Keras-like table of layers, output shapes and parameter counts.

A subclass implements `compute(**features) -> Tensor` (the tensor-level forward) and, to be
savable, `kind` + `config(files, prefix)` + `from_config(config, files, prefix)` (see
`mlang.models.serialize`).  Subclasses with non-tensor inputs (text, images) override
`preprocess` and `example_inputs`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mlang.lang import types as T
from mlang.lang.diagnostics import Diagnostic, MError
from mlang.models.spec import ModelSpec


class MModel(nn.Module):
    """Base class of every model M builds (layer stacks, compositions, pretrained models)."""

    kind = "mmodel"  # the serialization kind (see `mlang.models.serialize.register_kind`)

    def __init__(self, spec: ModelSpec | None = None, *, input_type: T.MType | None = None,
                 output_type: T.MType | None = None, task: str | None = None,
                 labels: list[str] | None = None):
        super().__init__()
        self.spec = spec if spec is not None else ModelSpec(type(self).__name__)
        self.input_type = input_type if input_type is not None else self.spec.input_type
        self.output_type = output_type if output_type is not None else self.spec.output_type
        self.task = task
        self.labels = list(labels) if labels is not None else None
        self.transforms: list[dict] = []
        # The data transforms raw inputs go through first (mlang.data.transforms: records).
        self.input_transforms: list[dict] = []

    # ----- calling ---------------------------------------------------------------------------
    def forward(self, x=None, **features):
        if not features and torch.is_tensor(x):  # the common case, kept cheap
            return self.compute(x=x)
        return self.compute(**self.features(x, features))

    def compute(self, **features) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define compute()")

    def features(self, x, features: dict) -> dict:
        """Normalize what `forward` was given into the keyword tensors `compute` takes."""
        if x is None:
            if not features:
                raise MError(f"{self.spec.name} was called with no input")
            return features
        if isinstance(x, dict):
            return {**x, **features}
        if torch.is_tensor(x):
            return {"x": x, **features}
        if isinstance(x, np.ndarray) and x.dtype != object:
            return {"x": _from_numpy(x), **features}
        return {**self.preprocess(x if isinstance(x, list) else [x]), **features}

    def preprocess(self, inputs: list) -> dict:
        """Raw examples → `{"x": batch}`: numbers, arrays, tensors, images become one tensor."""
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise MError(f"{self.spec.name}.preprocess expects a non-empty list of examples")
        items = [self._example_tensor(item) for item in inputs]
        shapes = {tuple(t.shape) for t in items}
        if len(shapes) > 1:
            raise MError(f"{self.spec.name}: examples have different shapes {sorted(shapes)}",
                         hint="pad or resize inputs to one shape")
        return {"x": torch.stack(items)}

    def _example_tensor(self, item) -> torch.Tensor:
        if isinstance(self.input_type, T.ImageType) and not torch.is_tensor(item):
            return _image_tensor(item, self.input_type)
        if torch.is_tensor(item):
            return item
        dtype = torch.float32
        if isinstance(self.input_type, T.TensorType) and self.input_type.dtype.startswith("int"):
            dtype = torch.int64
        try:
            return torch.as_tensor(np.asarray(item), dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise MError(f"{self.spec.name} cannot turn a {type(item).__name__} into a tensor "
                         f"(its input type is {self.input_type})") from exc

    def example_inputs(self, batch_size: int = 2) -> dict:
        """A valid preprocessed batch with unknown dims set to 8."""
        return {"x": example_tensor(self.input_type, batch_size)}

    # ----- description -----------------------------------------------------------------------
    def count_params(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def summary_rows(self) -> list[tuple[str, str, int]]:
        """(layer, output shape, parameters) per direct child, measured on `example_inputs`."""
        shapes: dict[str, str] = {}
        hooks = []
        children = list(self.summary_children())
        for name, child in children:
            hooks.append(child.register_forward_hook(_record_shape(shapes, name)))
        try:
            with torch.no_grad():
                was_training = self.training
                self.eval()
                self(**self.example_inputs(1))
                self.train(was_training)
        except Exception:  # a model we cannot run on dummy data still gets its parameter table
            pass
        finally:
            for h in hooks:
                h.remove()
        return [(label, shapes.get(label, "?"), sum(p.numel() for p in child.parameters()))
                for label, child in children]

    def summary_children(self):
        """(label, module) pairs listed by `summary()`; layer stacks list their layers."""
        for name, child in self.named_children():
            yield f"{name} ({type(child).__name__})", child

    def summary(self, print_fn=print) -> str:
        """A Keras-like table (layer, output shape, parameters) with totals; printed and returned."""
        rows = self.summary_rows()
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = [max(len(header[i]), *(len(str(r[i])) for r in rows)) if rows else len(header[i])
                  for i in range(3)]
        widths = [max(w, 12) for w in widths]
        rule = "-" * (sum(widths) + 6)
        lines = [f'Model: "{self.spec.name}"', rule,
                 f"{header[0]:<{widths[0]}}   {header[1]:<{widths[1]}}   {header[2]:>{widths[2]}}",
                 "=" * len(rule)]
        for label, shape, count in rows:
            lines.append(f"{label:<{widths[0]}}   {shape:<{widths[1]}}   {count:>{widths[2]},}")
        total, trainable = self.count_params(), self.count_params(trainable_only=True)
        lines += ["=" * len(rule), f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # ----- serialization (see mlang.models.serialize) ----------------------------------------
    def config(self, files: dict, prefix: str = "") -> dict:
        """JSON that rebuilds this architecture; large blobs go in `files` under `prefix`."""
        raise MError(f"{type(self).__name__} models cannot be saved yet (no config())")

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = "") -> "MModel":
        raise NotImplementedError


def input_mismatch(model, given, declared: T.MType | None = None) -> MError | None:
    """The M error for a tensor that does not fit `model`'s declared input type (its rank or a
    known dim differs), or None when it fits or the type says too little to judge.  `declared`
    overrides the input type (a Keras-style model states it channels-last).

    Called only after the layers failed on `given`, so a call that works costs nothing."""
    own_type = declared is None
    declared = getattr(model, "input_type", None) if own_type else declared
    if isinstance(declared, T.ImageType):
        dims = (T.Sym("B"), declared.channels, declared.height, declared.width)
    elif isinstance(declared, T.TensorType) and declared.dims is not None:
        dims = tuple(declared.dims)
    else:
        return None
    if not torch.is_tensor(given):
        return None
    shape = tuple(given.shape)
    name = model.spec.name
    shown = "[" + ", ".join(map(str, shape)) + "]"
    if len(shape) != len(dims):
        return _input_error(f"{name} expects input {declared} ({len(dims)} dims, the first the "
                            f"batch) but was given a tensor of shape {shown}",
                            f"pass a batch shaped [{', '.join(_dim_text(d) for d in dims)}]")
    for index, (want, got) in enumerate(zip(dims, shape)):
        if isinstance(want, int) and want != got:
            symbolic = _declared_dims(model) if own_type else None
            field = symbolic[index] if symbolic and index < len(symbolic) else None
            named = f" ({field.name} = {want})" if isinstance(field, T.Sym) else ""
            return _input_error(f"{name} expects input {declared} but was given a tensor of shape "
                                f"{shown}: dim {index} is {got}, not {want}{named}",
                                (f"build it with {field.name}={got}, or " if isinstance(field, T.Sym)
                                 else "") + f"pass inputs whose dim {index} is {want}")
    return None


def _input_error(message: str, hint: str) -> MError:
    # The message names the model and its input type already: no "input:" prefix.
    return MError(message, field="input", hint=hint, diagnostics=[Diagnostic(message, hint=hint)])


def _declared_dims(model) -> tuple | None:
    """The input dims as declared (field names not yet bound to numbers), when known."""
    declared = getattr(getattr(model, "spec", None), "input_type", None)
    if isinstance(declared, T.ImageType):
        return (T.Sym("B"), declared.channels, declared.height, declared.width)
    if isinstance(declared, T.TensorType) and declared.dims is not None:
        return tuple(declared.dims)
    return None


def _dim_text(dim) -> str:
    return "?" if dim is None else str(dim)


def _record_shape(shapes: dict, name: str):
    def hook(_module, _inputs, output):
        if isinstance(output, tuple):
            output = output[0]
        if torch.is_tensor(output):
            shapes[name] = "(None, " + ", ".join(str(d) for d in output.shape[1:]) + ")"
    return hook


def _from_numpy(array: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor.float() if tensor.dtype == torch.float64 else tensor


def _image_tensor(item, image_type: T.ImageType, channels_last: bool | None = None) -> torch.Tensor:
    """A PIL image or HWC/CHW array → float CHW in [0, 1], resized to the declared size.

    `channels_last` says the array's layout; None guesses it from where a 1/3/4-sized dim is."""
    array = np.asarray(item)
    if array.ndim == 2:  # a grey image, H x W
        array, channels_last = array[:, :, None], True
    if array.ndim != 3:
        raise MError(f"an image must have 2 or 3 dims, got an array of shape {array.shape}")
    if channels_last is None:
        channels_last = array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3, 4)
    tensor = torch.as_tensor(np.array(array))  # a copy: PIL arrays are read-only
    if channels_last:
        tensor = tensor.permute(2, 0, 1)
    tensor = tensor.float() / 255.0 if tensor.dtype == torch.uint8 else tensor.float()
    if isinstance(image_type.channels, int) and tensor.shape[0] != image_type.channels:
        if image_type.channels == 3 and tensor.shape[0] == 1:
            tensor = tensor.expand(3, -1, -1)
        elif image_type.channels == 1:
            tensor = tensor[:3].mean(0, keepdim=True)
        else:
            tensor = tensor[: image_type.channels]
    size = (image_type.height, image_type.width)
    if all(isinstance(d, int) for d in size) and tuple(tensor.shape[1:]) != size:
        tensor = torch.nn.functional.interpolate(tensor[None], size=size, mode="bilinear",
                                                 align_corners=False)[0]
    return tensor


def example_tensor(t: T.MType, batch_size: int = 2, unknown: int = 8) -> torch.Tensor:
    """A dummy batch for an M type: `B` → batch_size, unknown dims → `unknown`."""
    if isinstance(t, T.ImageType):
        dims = [t.channels, t.height, t.width]
        return torch.rand(batch_size, *(d if isinstance(d, int) else unknown for d in dims))
    if isinstance(t, T.TensorType) and t.dims is not None:
        dims = [batch_size if i == 0 and not isinstance(d, int) else (d if isinstance(d, int) else unknown)
                for i, d in enumerate(t.dims)]
        if t.dtype.startswith("int") or t.dtype.startswith("uint"):
            return torch.zeros(*dims, dtype=torch.int64)
        if t.dtype == "bool":
            return torch.zeros(*dims, dtype=torch.bool)
        return torch.rand(*dims)
    raise MError(f"cannot make example inputs for input type {t}",
                 hint="declare the model's `input:` type, or override example_inputs()")
