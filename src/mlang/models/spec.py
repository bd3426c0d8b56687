"""The model IR: `ModelSpec` — typed fields, an ordered layer list, an optional forward, I/O types.

A spec is what a `metamodel`/`model` declaration, a Keras-style `Model()`, or a composition
(`sequentialModel`, ...) describes, before any torch module exists.  It is torch-free, so the
checker can reason about it without importing torch.

Layer entries are *unevaluated* (`LayerEntry.make(fields)` evaluates the layer's arguments with
the model's field values in scope), because a sub-model may override a field that a layer argument
uses: `Dense(num_labels)` must see the instance's `num_labels`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mlang.lang.diagnostics import Span
from mlang.lang import types as T


class _Abstract:
    """The default of a field that a sub-model (or the instantiation) must bind."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSTRACT"


ABSTRACT = _Abstract()


@dataclass
class FieldSpec:
    """A typed model field; `default is ABSTRACT` when the field is declared without a value."""

    name: str
    type: T.MType = T.ANY
    default: Any = ABSTRACT
    span: Span | None = None

    @property
    def is_abstract(self) -> bool:
        return self.default is ABSTRACT


@dataclass
class LayerEntry:
    """One entry of a layer stack: a catalogue name and a way to evaluate its arguments.

    `arguments(fields)` returns `(args, kwargs)` with the instance's field values in scope.
    """

    name: str
    arguments: Callable[[dict], tuple[tuple, dict]]
    span: Span | None = None
    reads: tuple[str, ...] = ()  # the names its arguments read (fields among them)
    argument_reads: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per parameter (check.argument_reads)

    @classmethod
    def fixed(cls, name: str, args: tuple = (), kwargs: dict | None = None,
              span: Span | None = None) -> "LayerEntry":
        """An entry whose arguments are already values (Python API, configs)."""
        kwargs = dict(kwargs or {})
        return cls(name, lambda _fields: (tuple(args), dict(kwargs)), span)

    def make(self, fields: dict):
        """The configured catalogue layer for these field values (raises `MError` on bad args)."""
        from mlang.models.layers import create_layer

        args, kwargs = self.arguments(fields)
        return create_layer(self.name, args, kwargs, span=self.span)


@dataclass
class ModelSpec:
    """A declared model: name, kind, fields, layers, forward, input/output types and base."""

    name: str
    kind: str = "model"  # "model" | "metamodel"
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    layers: list[LayerEntry] = field(default_factory=list)
    forward: Any = None  # a callable `(self, x) -> tensor` compiled from a `forward(x) { ... }` block
    forward_params: tuple[str, ...] = ()
    input_type: T.MType = T.ANY
    output_type: T.MType = T.ANY
    base: "ModelSpec | None" = None
    span: Span | None = None
    source: str | None = None  # the declaring M file's text, so a forward block can be saved

    def lineage(self) -> list[str]:
        """This spec's name, then its base's, up to the root."""
        names, spec = [], self
        while spec is not None:
            names.append(spec.name)
            spec = spec.base
        return names

    def is_subtype_of(self, name: str) -> bool:
        return name in self.lineage()



# ----- M types as JSON (model configs are JSON) -----------------------------------------------

def _dim_to_json(d):
    return {"sym": d.name} if isinstance(d, T.Sym) else d


def _dim_from_json(d):
    return T.Sym(d["sym"]) if isinstance(d, dict) else d


def type_to_json(t: T.MType) -> dict:
    """A JSON-able description of an M type (inverse: `type_from_json`)."""
    if isinstance(t, T.TensorType):
        dims = None if t.dims is None else [_dim_to_json(d) for d in t.dims]
        return {"type": "Tensor", "dtype": t.dtype, "dims": dims}
    if isinstance(t, T.ImageType):
        return {"type": "Image", "dims": [_dim_to_json(d) for d in (t.channels, t.height, t.width)]}
    if isinstance(t, T.PrimType):
        return {"type": t.name}
    if isinstance(t, T.TextType):
        return {"type": "Text"}
    if isinstance(t, T.ListType):
        return {"type": "List", "item": type_to_json(t.item)}
    if isinstance(t, T.DictType):
        return {"type": "Dict", "key": type_to_json(t.key), "value": type_to_json(t.value)}
    if isinstance(t, T.ModelType):
        return {"type": "Model", "input": type_to_json(t.input), "output": type_to_json(t.output),
                "name": t.name}
    return {"type": "Any"}


def type_from_json(data: dict) -> T.MType:
    kind = data.get("type", "Any")
    if kind == "Tensor":
        dims = data.get("dims")
        return T.TensorType(data.get("dtype", "float32"),
                            None if dims is None else tuple(_dim_from_json(d) for d in dims))
    if kind == "Image":
        return T.ImageType(*(_dim_from_json(d) for d in data["dims"]))
    if kind in T.PRIMITIVES:
        return T.PRIMITIVES[kind]
    if kind == "Text":
        return T.TEXT
    if kind == "List":
        return T.ListType(type_from_json(data["item"]))
    if kind == "Dict":
        return T.DictType(type_from_json(data["key"]), type_from_json(data["value"]))
    if kind == "Model":
        return T.ModelType(type_from_json(data["input"]), type_from_json(data["output"]), data.get("name"))
    return T.ANY


def value_matches_type(value, expected: T.MType) -> bool:
    """Does a runtime field value fit a declared field type?  Unknown types accept anything."""
    if isinstance(expected, T.AnyType) or value is None and expected == T.NONE:
        return True
    if isinstance(expected, T.PrimType):
        if expected.name == "bool":
            return isinstance(value, bool)
        if expected.name == "int":
            return isinstance(value, int) and not isinstance(value, bool)
        if expected.name == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if expected.name == "str":
            return isinstance(value, str)
        return value is None
    if isinstance(expected, T.TextType):
        return isinstance(value, str)
    if isinstance(expected, T.ListType):
        return isinstance(value, (list, tuple))
    if isinstance(expected, T.DictType):
        return isinstance(value, dict)
    if isinstance(expected, T.ModelType):
        return value is None or _is_model_value(value, expected)  # none: no such submodel
    return True


def _is_model_value(value, expected: T.ModelType) -> bool:
    spec = getattr(value, "spec", None)
    if not isinstance(spec, ModelSpec):
        # A plain torch module (or a model class) from Python: accept, the checker cannot know.
        return hasattr(value, "forward") or callable(value)
    if expected.name not in (None, "Model") and not spec.is_subtype_of(expected.name):
        return False
    # `Model[In -> Out]`: the value's declared types must fit (unknown ones always do)
    from mlang.models.shapes import stack_input
    return (T.unify(stack_input(value.input_type), stack_input(expected.input), T.Bindings())
            and T.unify(stack_input(value.output_type), stack_input(expected.output), T.Bindings()))


def type_of_value(value) -> str:
    """A short M-ish name of a runtime value's type, for error messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "List"
    if isinstance(value, dict):
        return "Dict"
    spec = getattr(value, "spec", None)
    if isinstance(spec, ModelSpec):
        return spec.name
    return type(value).__name__
