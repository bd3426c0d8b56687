"""M's static types: the checker's and the model IR's shared vocabulary.

`Text`, `Image[C, H, W]`, `Tensor[dtype, dims...]`, `List[T]`, `Dict[K, V]`, `Dataset[T]`,
`Model[In -> Out]`, function types, primitives and `Any`.  A tensor dimension is an `int`, a
`Sym` (a symbol such as `B`, or a model field name such as `num_labels`), or `None` (unknown).

`unify(a, b)` answers whether a value of type `a` can flow where `b` is expected, binding symbols
as it goes.  Anything unknown degrades to success: the checker must never report a false error.
"""
from __future__ import annotations

from dataclasses import dataclass, field



@dataclass(frozen=True)
class Sym:
    """A symbolic dimension (`B`, `T`, or a field name resolved when the model is instantiated)."""

    name: str

    def __str__(self) -> str:
        return self.name


class MType:
    """Base of all M types."""


@dataclass(frozen=True)
class AnyType(MType):
    def __str__(self) -> str:
        return "Any"


@dataclass(frozen=True)
class PrimType(MType):
    name: str  # int | float | bool | str | none

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TextType(MType):
    def __str__(self) -> str:
        return "Text"


@dataclass(frozen=True)
class ImageType(MType):
    """A batch of channels-first images; dims may be unknown (`Image`)."""

    channels: int | Sym | None = None
    height: int | Sym | None = None
    width: int | Sym | None = None

    def __str__(self) -> str:
        dims = (self.channels, self.height, self.width)
        if all(d is None for d in dims):
            return "Image"
        return "Image[" + ", ".join(_dim_str(d) for d in dims) + "]"


@dataclass(frozen=True)
class TensorType(MType):
    """A tensor; `dims is None` means the rank is unknown.  The first dim is usually the batch `B`."""

    dtype: str = "float32"
    dims: tuple | None = None

    def __str__(self) -> str:
        if self.dims is None:
            return f"Tensor[{self.dtype}, ...]"
        return "Tensor[" + ", ".join([self.dtype, *(_dim_str(d) for d in self.dims)]) + "]"


@dataclass(frozen=True)
class ListType(MType):
    item: MType = field(default_factory=AnyType)

    def __str__(self) -> str:
        return f"List[{self.item}]"


@dataclass(frozen=True)
class DictType(MType):
    key: MType = field(default_factory=AnyType)
    value: MType = field(default_factory=AnyType)

    def __str__(self) -> str:
        return f"Dict[{self.key}, {self.value}]"


@dataclass(frozen=True)
class TupleType(MType):
    items: tuple = ()

    def __str__(self) -> str:
        return "Tuple[" + ", ".join(map(str, self.items)) + "]"


@dataclass(frozen=True)
class DatasetType(MType):
    item: MType = field(default_factory=AnyType)

    def __str__(self) -> str:
        return f"Dataset[{self.item}]"


@dataclass(frozen=True)
class ModelType(MType):
    """`Model[In -> Out]`; `name` is set for a declared model (`MBERTClassifier`)."""

    input: MType = field(default_factory=AnyType)
    output: MType = field(default_factory=AnyType)
    name: str | None = None

    def __str__(self) -> str:
        if self.name:
            return self.name
        return f"Model[{self.input} -> {self.output}]"


@dataclass(frozen=True)
class FuncType(MType):
    params: tuple = ()
    result: MType = field(default_factory=AnyType)

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.params)) + f") -> {self.result}"


ANY = AnyType()
INT, FLOAT, BOOL, STR, NONE = (PrimType(n) for n in ("int", "float", "bool", "str", "none"))
TEXT = TextType()

PRIMITIVES = {"int": INT, "float": FLOAT, "bool": BOOL, "str": STR, "none": NONE}
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool")
# Names a type annotation may use; `Model`-named user declarations are added by the checker.
TYPE_NAMES = ("int", "float", "bool", "str", "none", "Any", "Text", "Image", "Tensor", "List",
              "Dict", "Tuple", "Dataset", "Model")


def _dim_str(d) -> str:
    return "?" if d is None else str(d)


class Bindings(dict):
    """Symbol → dim bindings built up while unifying (`B` → `Sym('B')`, `num_labels` → 2)."""

    def resolve(self, d):
        seen = set()
        while isinstance(d, Sym) and d in self and d not in seen:
            seen.add(d)
            d = self[d]
        return d


def unify_dim(a, b, bindings: Bindings) -> bool:
    a, b = bindings.resolve(a), bindings.resolve(b)
    if a is None or b is None or a == b:
        return True
    if isinstance(a, Sym):
        bindings[a] = b
        return True
    if isinstance(b, Sym):
        bindings[b] = a
        return True
    return False


def unify(actual: MType, expected: MType, bindings: Bindings | None = None) -> bool:
    """Can a value of `actual` type be used where `expected` is?  Unknowns always succeed."""
    bindings = Bindings() if bindings is None else bindings
    if isinstance(actual, AnyType) or isinstance(expected, AnyType):
        return True
    if isinstance(actual, TensorType) and isinstance(expected, TensorType):
        if actual.dims is None or expected.dims is None:
            return True
        if len(actual.dims) != len(expected.dims):
            return False
        return all(unify_dim(a, b, bindings) for a, b in zip(actual.dims, expected.dims))
    if isinstance(actual, ImageType) and isinstance(expected, ImageType):
        pairs = zip((actual.channels, actual.height, actual.width),
                    (expected.channels, expected.height, expected.width))
        return all(unify_dim(a, b, bindings) for a, b in pairs)
    if isinstance(actual, PrimType) and isinstance(expected, PrimType):
        return actual == expected or (actual.name, expected.name) in {("int", "float"), ("bool", "int")}
    if isinstance(actual, ListType) and isinstance(expected, ListType):
        return unify(actual.item, expected.item, bindings)
    if isinstance(actual, DictType) and isinstance(expected, DictType):
        return unify(actual.key, expected.key, bindings) and unify(actual.value, expected.value, bindings)
    if isinstance(actual, DatasetType) and isinstance(expected, DatasetType):
        return unify(actual.item, expected.item, bindings)
    if isinstance(actual, ModelType) and isinstance(expected, ModelType):
        if expected.name and actual.name and expected.name != actual.name:
            return False  # nominal check refined by the model checker (subtypes via `extends`)
        return unify(actual.input, expected.input, bindings) and unify(actual.output, expected.output, bindings)
    return type(actual) is type(expected)


def substitute(t: MType, bindings: Bindings) -> MType:
    """`t` with its bound symbols replaced (e.g. `Tensor[float32, B, num_labels]` → `[..., B, 2]`)."""
    if isinstance(t, TensorType) and t.dims is not None:
        return TensorType(t.dtype, tuple(bindings.resolve(d) for d in t.dims))
    if isinstance(t, ImageType):
        return ImageType(*(bindings.resolve(d) for d in (t.channels, t.height, t.width)))
    return t
