"""What the engine needs from a model, whatever made it.

M's models (`MModel`, docs/architecture.md) bring their own `preprocess`, `example_inputs`,
`input_type`, `task` and `labels`.  A plain `torch.nn.Module` taking one tensor is accepted too:
its inputs are stacked into `{"x": tensor}`.  Every backend, the exporter and the server see a
model only through `Runnable`, so they never special-case where a model came from.
"""
from __future__ import annotations

from typing import Any

from mlang.lang.diagnostics import MError


class Runnable:
    """A model plus the contract the engine relies on (preprocess, example inputs, types)."""

    def __init__(self, model, name: str | None = None):
        import torch

        if not isinstance(model, torch.nn.Module):
            raise MError(f"expected a model, got {type(model).__name__}", field="model",
                         hint="pass an M model, a torch.nn.Module or a registry reference 'name:version'")
        self.model = model.eval()
        self.name = name or getattr(getattr(model, "spec", None), "name", None) or type(model).__name__
        self.follows_contract = callable(getattr(model, "preprocess", None))
        # The image transforms the model was trained with (mlang.data.transforms), checked here.
        from mlang.data.transforms import model_steps

        self.input_steps = model_steps(model)

    @property
    def input_type(self):
        return getattr(self.model, "input_type", None)

    @property
    def task(self) -> str | None:
        return getattr(self.model, "task", None)

    @property
    def labels(self) -> list[str] | None:
        labels = getattr(self.model, "labels", None)
        return list(labels) if labels else None

    def preprocess(self, inputs: list) -> dict[str, Any]:
        """Raw examples → the named tensors `forward` takes (through the model's input
        transforms first, when it was trained with some)."""
        if self.input_steps:
            from mlang.data.transforms import apply_model_transforms

            inputs = apply_model_transforms(self.input_steps, list(inputs))
        if self.follows_contract:
            return dict(self.model.preprocess(list(inputs)))
        return {"x": _stack(inputs)}

    def example_inputs(self, batch_size: int = 2) -> dict[str, Any]:
        if callable(getattr(self.model, "example_inputs", None)):
            return dict(self.model.example_inputs(batch_size=batch_size))
        raise MError(f"model {self.name} has no example_inputs()", field="model",
                     hint="give example inputs explicitly, e.g. export(model, path, example=tensor)")

    def __call__(self, features: dict[str, Any]):
        """Run the model on preprocessed features; always returns a tensor."""
        out = self.model(**features) if self.follows_contract else self.model(*features.values())
        return as_tensor_output(out)


def as_tensor_output(out):
    """Models may return a tensor, a (tensor, ...) tuple or an object with `.logits`."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "logits"):
        return out.logits
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise MError(f"the model returned {type(out).__name__}, not a tensor", field="model")


def _stack(inputs: list):
    import numpy as np
    import torch

    tensors = [x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x)) for x in inputs]
    try:
        stacked = torch.stack(tensors)
    except RuntimeError as error:
        raise MError(f"inputs have different shapes: {error}", field="inputs") from None
    return stacked.float() if stacked.is_floating_point() else stacked


def feature_rows(features: dict[str, Any]) -> int:
    """How many examples a batch of features holds (the first dimension)."""
    return next(iter(features.values())).shape[0]
