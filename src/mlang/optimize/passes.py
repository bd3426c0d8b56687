"""The one interface every optimization pass follows, and helpers the passes share.

A pass is configured when it is built (its keyword arguments are validated there, so a typo fails
before any work is done), `apply(model, context)` changes the model and returns it (possibly a new
model, as distillation does), and `describe()` says in one line what the last `apply` changed.

A pass that changes the structure of a model (removes rows, swaps a Linear for an int8 one) also
appends a record `{"transform": name, ...}` to `model.transforms`, so that
`mlang.models.serialize.restore` can rebuild the same structure before it loads the tensors
(see `mlang.optimize.transforms`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from mlang.lang.diagnostics import MError


@dataclass
class OptimizationContext:
    """What a pass may need besides the model: calibration/training data and the goal."""

    goal: str = "speed"
    calibration: Any = None
    data: Any = None
    original: Any = None  # the model the pipeline started from (a teacher for recovery)
    notes: list[str] = field(default_factory=list)


class Pass:
    """Base of every optimization pass: configure (in `__init__`) → `apply` → `describe`."""

    name = "pass"

    def __init__(self) -> None:
        self.changes: list[str] = []

    def apply(self, model, context: OptimizationContext | None = None):
        raise NotImplementedError(f"{type(self).__name__} does not implement apply()")

    def describe(self) -> str:
        """One line: what the last `apply` changed (or that it has not run yet)."""
        if not self.changes:
            return f"{self.name}: not applied yet"
        return f"{self.name}: " + "; ".join(self.changes)

    def config(self) -> dict:
        """The pass's settings, JSON-serializable, for reports and model metadata."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def choose(value: Any, allowed: Iterable[str], field_name: str) -> str:
    """Validate an enumerated option, raising an MError that lists the choices."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise MError(f"{value!r} is not a valid {field_name}", field=field_name,
                     hint="use one of: " + ", ".join(repr(a) for a in allowed))
    return value


def fraction(value: Any, field_name: str = "percentage") -> float:
    """A pruning amount given as 0.2 or as 20 (percent), returned as a fraction in [0, 1)."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise MError(f"{value!r} is not a number", field=field_name,
                     hint="give a fraction such as 0.2 (or a percentage such as 20)") from None
    if amount > 1:
        amount /= 100.0
    if not 0 <= amount < 1:
        raise MError(f"{value!r} is out of range", field=field_name,
                     hint="give a fraction in [0, 1) such as 0.2, or a percentage below 100")
    return amount


def torch_module(model):
    """The `torch.nn.Module` inside `model`, or an MError saying what was given instead."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model
    raise MError(f"cannot optimize a {type(model).__name__}: expected a model",
                 field="model", hint="pass a model made by M (or any torch.nn.Module)")


def get_submodule(root, path: str):
    return root.get_submodule(path) if path else root


def set_submodule(root, path: str, module) -> None:
    """Replace the submodule at dotted `path` (e.g. `encoder.layer.0.intermediate.dense`)."""
    parent_path, _, child = path.rpartition(".")
    parent = get_submodule(root, parent_path)
    setattr(parent, child, module)


def record_transform(model, record: dict) -> None:
    """Append a structural change to `model.transforms` so a saved model can be rebuilt."""
    transforms = getattr(model, "transforms", None)
    if transforms is None:
        transforms = []
        try:
            model.transforms = transforms
        except AttributeError:  # a module that forbids new attributes cannot record
            return
    transforms.append(record)
