"""Shape propagation through a layer stack (torch-free, used by the checker and by builders).

Shapes flow from the model's `input:` type with the symbolic batch dim `B`; each layer's shape rule
gives its output.  A rule's `ShapeError` becomes an `MError` at that layer's line stating the
layer's expectation and the input it actually got.  Unknown shapes flow on as unknown.
"""
from __future__ import annotations

import difflib

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


def reject_input_shape(layers: list) -> None:
    """`input_shape` belongs to the Keras-style `m.Model()`; a declared stack states `input:`."""
    for layer in layers:
        if layer.input_shape is not None:
            raise MError(f"{layer.NAME}: input_shape is only for the Python m.Model() API (channels-last)",
                         layer.span, hint="declare the model's input type instead, e.g. input: Image[3, 64, 64]")


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


# ----- composition (shared by sequentialModel/parallelModel and the checker) -----------------

MERGES = ("concat", "sum", "stack")


def check_sequence(types: list[tuple[T.MType, T.MType]], names: list[str]) -> None:
    """Each part's output must fit the next part's input (shared by the checker)."""
    for i in range(len(types) - 1):
        produced, expected = stack_input(types[i][1]), stack_input(types[i + 1][0])
        if not T.unify(produced, expected, T.Bindings()):
            raise ShapeMismatch(
                f"shape mismatch in sequentialModel: part {i + 1} ({names[i]}) outputs {types[i][1]} "
                f"but part {i + 2} ({names[i + 1]}) expects {types[i + 1][0]}")


def merge_type(outputs: list[T.MType], merge: str, names: list[str]) -> T.MType:
    """The merged output type, or `ShapeMismatch` when the parts' outputs cannot be merged."""
    if merge not in MERGES:
        close = difflib.get_close_matches(str(merge), MERGES, n=1)
        raise MError(f"parallelModel: unknown merge '{merge}'",
                     hint=f"did you mean '{close[0]}'?" if close else "use 'concat', 'sum' or 'stack'")
    tensors = [stack_input(t) for t in outputs]
    if any(not isinstance(t, T.TensorType) or t.dims is None for t in tensors):
        return T.ANY
    first = tensors[0]
    for name, t in zip(names[1:], tensors[1:]):
        ok = len(t.dims) == len(first.dims)
        if ok and merge == "concat":
            ok = T.unify(T.TensorType(t.dtype, t.dims[:-1]), T.TensorType(first.dtype, first.dims[:-1]))
        elif ok:
            ok = T.unify(t, first)
        if not ok:
            need = "all dims but the last equal" if merge == "concat" else "equal shapes"
            raise ShapeMismatch(f"parallelModel(merge=\"{merge}\") needs {need}, but {names[0]} outputs "
                                f"{outputs[0]} and {name} outputs {t}")
    if merge == "concat":
        last = [t.dims[-1] for t in tensors]
        total = sum(last) if all(isinstance(d, int) for d in last) else None
        return T.TensorType(first.dtype, (*first.dims[:-1], total))
    if merge == "stack":
        return T.TensorType(first.dtype, (first.dims[0], len(tensors), *first.dims[1:]))
    return first
