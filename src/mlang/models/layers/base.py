"""The layer-catalogue contract: parameters, a shape rule over M types, and a builder to torch.nn.

A catalogue layer is a dataclass (its fields are its parameters, in positional order) registered
with `@register_layer`.  It has three parts:

- **parameters**: the dataclass fields, with annotations checked by `check_arguments` and value
  rules in `validate()` (raise `LayerArgError`);
- **shape rule** `output_type(x)`: the M type (usually `Tensor[dtype, B, ...]`) the layer produces
  from input `x`, raising `ShapeError` on a mismatch and returning `Any` when it cannot know;
- **builder** `build(x)`: the `torch.nn.Module` for a concrete input type (torch is imported only
  here, so the checker stays torch-free).

Adding a layer is one file in this package (modules here are discovered automatically) or one
`register_layer_target("Name", "pkg.module:Class")` call from another stage's `builtins.py`.
"""
from __future__ import annotations

import dataclasses
import functools
import difflib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlang.lang import types as T
from mlang.lang.diagnostics import MError, Span
from mlang.lang.resolve import did_you_mean

B = T.Sym("B")


class ShapeError(Exception):
    """A layer's shape rule rejects its input; the caller adds the span and the input type."""


class LayerArgError(MError):
    """A layer was given a bad argument (unknown name, wrong type, missing, or out of range).

    `argument`: the parameter at fault when one is (`pooling`), so a caller that passed a
    variable there can say where the variable's value came from (m check does, for the layers
    M's standard metamodels declare).  `run_time_only`: the machine the program runs on decides
    (a pretrained name the hub or a directory made later may supply), so m check leaves it."""

    def __init__(self, message: str, span: Span | None = None, *, hint: str | None = None,
                 argument: str | None = None, run_time_only: bool = False):
        super().__init__(message, span, hint=hint)
        self.argument, self.run_time_only = argument, run_time_only


def choice_hint(name: str, value, choices) -> str:
    """The hint for a value outside its allowed `choices`: the near miss first, if there is one
    (`did you mean 'mean'? pooling is one of: mean, cls, max, none`)."""
    allowed = f"{name} is one of: {', '.join(map(str, choices))}"
    close = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else None
    return f"{close} {allowed}" if close else allowed


@dataclass
class Layer:
    """Base of every catalogue layer.  Subclasses are dataclasses decorated with `register_layer`."""

    NAME: ClassVar[str] = ""
    ALIASES: ClassVar[tuple[str, ...]] = ()
    # Python API convenience (Keras): the first layer may state the channels-last input shape.
    input_shape: tuple | None = field(default=None, kw_only=True)
    span: Span | None = field(default=None, kw_only=True, compare=False, repr=False)

    def __post_init__(self):
        for name in _tuple_fields(type(self)):  # M lists and Python tuples are the same sizes
            if isinstance(getattr(self, name), list):
                setattr(self, name, tuple(getattr(self, name)))
        check_arguments(self)
        self.validate()

    def validate(self) -> None:
        """Reject out-of-range parameter values with `LayerArgError` (override when needed)."""

    def output_type(self, x: T.MType) -> T.MType:
        raise NotImplementedError

    def build(self, x: T.MType):
        raise NotImplementedError

    # ----- helpers shared by layers -----
    def params(self) -> dict:
        """The layer's own parameters (not `span`/`input_shape`), by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("span", "input_shape")}

    def to_config(self) -> dict:
        params = {k: _to_json(v) for k, v in self.params().items()}
        return {"layer": self.NAME, **params}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        params = {k: _from_json(v) for k, v in config.items() if k != "layer"}
        return cls(**params)

    def describe(self) -> str:
        """`Conv2D(32, kernel=3)`-style text for summaries and messages."""
        parts = []
        for f in dataclasses.fields(self):
            if f.name in ("span", "input_shape"):
                continue
            value = getattr(self, f.name)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if not required and value == f.default:
                continue
            parts.append(repr(value) if required else f"{f.name}={value!r}")
        return f"{self.NAME}({', '.join(parts)})"

    def error(self, message: str, hint: str | None = None, argument: str | None = None,
              run_time_only: bool = False) -> LayerArgError:
        """The error for a bad argument value; `argument` names the parameter at fault."""
        return LayerArgError(f"{self.NAME}: {message}", self.span, hint=hint, argument=argument,
                             run_time_only=run_time_only)


def _to_json(value):
    if isinstance(value, Layer):
        return value.to_config()
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value):
    if isinstance(value, dict) and "layer" in value:
        return layer_from_config(value)
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


# ----- argument checking -------------------------------------------------------------------------

_TYPE_CHECKS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "None": lambda v: v is None,
    "tuple": lambda v: isinstance(v, (tuple, list)) and all(isinstance(i, int) for i in v),
    "list": lambda v: isinstance(v, (tuple, list)),
    "Layer": lambda v: isinstance(v, Layer),
    "Any": lambda v: True,
}


def _accepts(annotation: str, value) -> bool:
    alternatives = [a.strip() for a in str(annotation).split("|")]
    for alt in alternatives:
        base = alt.split("[")[0]
        check = _TYPE_CHECKS.get(base)
        if check is None or check(value):
            return True
    return False


def _expected_text(annotation: str) -> str:
    names = {"tuple": "a tuple of ints", "list": "a list", "None": "None", "Layer": "a layer"}
    alts = [a.strip().split("[")[0] for a in str(annotation).split("|")]
    return " or ".join(names.get(a, a) for a in alts)


def check_arguments(layer: Layer) -> None:
    """Each parameter's value fits its annotation, else `LayerArgError` naming the argument."""
    for name, annotation in _annotations(type(layer)):
        value = getattr(layer, name)
        if not _accepts(annotation, value):
            raise LayerArgError(
                f"{layer.NAME}() argument '{name}' must be {_expected_text(annotation)}, "
                f"got {type(value).__name__} {value!r}", layer.span, argument=name)


# A layer class's parameter lists, computed once per class: `m check` configures every layer of
# every declaration, and `dataclasses.fields` is slow enough to dominate that.

@functools.cache
def _annotations(cls) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.type) for f in dataclasses.fields(cls) if f.name != "span")


@functools.cache
def _tuple_fields(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if "tuple" in str(f.type))


@functools.cache
def _positional_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and not f.kw_only)


@functools.cache
def _keyword_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name != "span")


@functools.cache
def _required_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.name != "span"
                 and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def positional_names(cls) -> list[str]:
    return list(_positional_names(cls))


def keyword_names(cls) -> list[str]:
    return list(_keyword_names(cls))


def required_names(cls) -> list[str]:
    return list(_required_names(cls))


def bind_arguments(cls, args: tuple, kwargs: dict, span: Span | None) -> dict:
    """Map M call arguments onto the layer's parameters, with M-style messages on misuse."""
    name = cls.NAME
    varargs = getattr(cls, "VARARGS", None)
    bound: dict[str, Any] = {}
    if varargs:
        bound[varargs] = list(args)
    else:
        positional = positional_names(cls)
        if len(args) > len(positional):
            if not positional:
                raise LayerArgError(f"{name}() takes no positional arguments, got {len(args)}", span)
            raise LayerArgError(
                f"{name}() takes at most {len(positional)} positional argument(s) "
                f"({', '.join(positional)}), got {len(args)}", span)
        bound.update(zip(positional, args))
    known = keyword_names(cls) if not varargs else [n for n in keyword_names(cls) if n != varargs]
    for key, value in kwargs.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            raise LayerArgError(f"{name}() has no argument '{key}'", span,
                                hint=f"did you mean '{close[0]}'?" if close else
                                f"{name} takes: {', '.join(known)}")
        if key in bound:
            raise LayerArgError(f"{name}() got argument '{key}' twice", span)
        bound[key] = value
    missing = [n for n in required_names(cls) if n not in bound]
    if missing:
        raise LayerArgError(f"{name}() is missing argument '{missing[0]}'", span)
    return bound


# ----- the registry ------------------------------------------------------------------------------

_LAYERS: dict[str, Any] = {}   # M name (and aliases) → layer class or "module:attr" string
_discovered = False


def register_layer(cls):
    """Class decorator: add a catalogue layer under its `NAME` and `ALIASES`."""
    for name in (cls.NAME, *cls.ALIASES):
        _LAYERS[name] = cls
    return cls


def register_layer_target(name: str, target: str, aliases: tuple[str, ...] = ()) -> None:
    """Register a layer defined elsewhere (e.g. the zoo's pretrained encoders) lazily by path;
    it also becomes an M builtin of that name, so M code (and the checker) can call it."""
    from mlang.lang.registry import register_builtin
    for alias in (name, *aliases):
        _LAYERS.setdefault(alias, target)
        register_builtin(alias, target)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    import importlib
    import pkgutil

    # Not `import mlang.models.layers as package`: while `mlang.models` is still importing, that
    # statement asks the `mlang` package for its attribute `models`, and `mlang.__getattr__` then
    # loads the whole Python API (torch included) — `m check` would pay seconds for it.
    package = importlib.import_module(__name__.rpartition(".")[0])
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base",) and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def layer_names() -> list[str]:
    _discover()
    return sorted(_LAYERS)


def layer_class(name: str):
    """The catalogue class for `name`, or None."""
    _discover()
    target = _LAYERS.get(name)
    if isinstance(target, str):
        from mlang.lang.registry import _import_target
        target = _LAYERS[name] = _import_target(target)
    return target


def unknown_layer_error(name: str, span: Span | None) -> MError:
    by_lower = {n.lower(): n for n in layer_names()}
    close = [by_lower[c] for c in difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)]
    hint = f"did you mean '{close[0]}'?" if close else "see docs/models.md for the layer catalogue"
    return MError(f"unknown layer '{name}'", span, hint=hint)


def create_layer(name: str, args: tuple = (), kwargs: dict | None = None,
                 span: Span | None = None) -> Layer:
    """A configured layer from an M call `Name(args..., key=value)`; errors carry `span`."""
    cls = layer_class(name)
    if cls is None:
        raise unknown_layer_error(name, span)
    bound = bind_arguments(cls, tuple(args), dict(kwargs or {}), span)
    if getattr(cls, "VARARGS", None):
        layers = bound.pop(cls.VARARGS)
        return cls(*layers, span=span, **bound)
    return cls(**bound, span=span)


def layer_from_config(config: dict) -> Layer:
    cls = layer_class(config["layer"])
    if cls is None:
        raise unknown_layer_error(config["layer"], None)
    return cls.from_config(config)


# ----- shape helpers -----------------------------------------------------------------------------

def as_tensor(x: T.MType) -> T.MType:
    """A layer's view of its input: images become `Tensor[float32, B, C, H, W]`; else unchanged."""
    if isinstance(x, T.ImageType):
        return T.TensorType("float32", (B, x.channels, x.height, x.width))
    if isinstance(x, T.TensorType):
        return x
    return T.ANY


def dims_of(x: T.MType, rank: int | None = None, expected: str = "") -> tuple | None:
    """The dims of a tensor input, or None when unknown; `rank` enforces the number of dims."""
    x = as_tensor(x)
    if not isinstance(x, T.TensorType) or x.dims is None:
        return None
    if rank is not None and len(x.dims) != rank:
        raise ShapeError(f"expects a {rank}-d input {expected}".rstrip())
    return x.dims


def with_dims(x: T.MType, dims: tuple, dtype: str | None = None) -> T.TensorType:
    x = as_tensor(x)
    base = x.dtype if isinstance(x, T.TensorType) else "float32"
    return T.TensorType(dtype or base, tuple(dims))


def known(d) -> bool:
    return isinstance(d, int)


def concrete_dim(layer: Layer, x: T.MType, index: int, what: str) -> int:
    """A dim a builder needs (in_features, in_channels); unknown → a clear `MError`."""
    dims = as_tensor(x).dims if isinstance(as_tensor(x), T.TensorType) else None
    d = dims[index] if dims is not None and -len(dims) <= index < len(dims) else None
    if not known(d):
        raise MError(f"{layer.NAME}: cannot build without knowing its {what} (input type {x})",
                     layer.span, hint="declare the model's `input:` type with concrete sizes")
    return d


def catalogue_exports() -> dict[str, str]:
    """Every catalogue name (aliases included) → its "module:Class" target, for lazy exports."""
    _discover()
    return {name: target if isinstance(target, str) else f"{target.__module__}:{target.__name__}"
            for name, target in sorted(_LAYERS.items())}
