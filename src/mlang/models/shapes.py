"""Shape propagation through a layer stack (torch-free, used by the checker and by builders).

Shapes flow from the model's `input:` type with the symbolic batch dim `B`; each layer's shape rule
gives its output.  A rule's `ShapeError` becomes an `MError` at that layer's line stating the
layer's expectation and the input it actually got.  Unknown shapes flow on as unknown.
"""
from __future__ import annotations

from mlang.lang import types as T
from mlang.lang.diagnostics import MError, Span
from mlang.models.layers.base import Layer, ShapeError


class ShapeMismatch(MError):
    """A layer (or a composition) received a shape it cannot take."""


def propagate(input_type: T.MType, layers: list[Layer]) -> list[T.MType]:
    """The output type after each layer; raises `ShapeMismatch` at the first offending layer."""
    types, current = [], input_type
    for layer in layers:
        try:
            current = layer.output_type(current)
        except ShapeError as exc:
            raise ShapeMismatch(f"shape mismatch at {layer.NAME}: it {exc}, but its input is {current}",
                                layer.span) from None
        types.append(current)
    return types


def build_modules(input_type: T.MType, layers: list[Layer]) -> list:
    """One torch module per layer, each built for its concrete input type."""
    modules, current = [], input_type
    for layer in layers:
        modules.append(layer.build(current))
        current = layer.output_type(current)
    return modules


def field_bindings(field_values: dict) -> T.Bindings:
    """Integer field values as dim bindings, so `Tensor[float32, B, num_labels]` resolves."""
    bindings = T.Bindings()
    for name, value in field_values.items():
        if isinstance(value, int) and not isinstance(value, bool):
            bindings[T.Sym(name)] = value
    return bindings


def resolve_type(t: T.MType, field_values: dict) -> T.MType:
    return T.substitute(t, field_bindings(field_values))


def check_output(actual: T.MType, declared: T.MType, what: str, span: Span | None) -> None:
    """The stack's output must unify with the declared `output:` type."""
    if not T.unify(actual, declared, T.Bindings()):
        raise ShapeMismatch(f"shape mismatch: {what} produces {actual} but its output type is {declared}",
                            span)


def stack_input(t: T.MType) -> T.MType:
    """A stack's view of its input: an `Image[C, H, W]` is a `Tensor[float32, B, C, H, W]`."""
    from mlang.models.layers.base import as_tensor
    return as_tensor(t) if isinstance(t, T.ImageType) else t


def format_shape(t: T.MType) -> str:
    """Keras-style `(None, 32, 64, 64)` for a summary table."""
    if isinstance(t, T.TensorType) and t.dims is not None:
        return "(" + ", ".join("None" if i == 0 and not isinstance(d, int) else
                               ("?" if d is None else str(d)) for i, d in enumerate(t.dims)) + ")"
    return str(t)
