"""M's abstract syntax tree: typed dataclasses, every node carrying the `Span` where it starts.

The parser (`mlang.lang.parser.parse`) builds these; the checker reads them; the compiler turns
them into Python `ast`.  Later stages read model declarations directly: a `model`/`metamodel`
declaration reaches the models stage as a `ModelDecl` through the `declare_model` runtime hook.

Model bodies: `name: Type [= default]` declares a field (a field with neither a default nor a
later binding is abstract); `name = expr` binds or overrides a field (a `FieldDecl` with
`type=None`); a call on its own line is a layer (`LayerCall`); `forward(x) { ... }` is the body
of the model's forward pass (`ForwardDecl`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from mlang.lang.diagnostics import Span


class Node:
    """Base of every AST node; subclasses are dataclasses with a `span` field."""

    span: Span


class Expr(Node):
    """Base of expressions."""


class Stmt(Node):
    """Base of statements."""


class TypeExpr(Node):
    """Base of type annotations (`int`, `Tensor[float32, B, n]`, `Model[Text -> Tensor]`)."""


# --------------------------------------------------------------------------- type expressions

@dataclass(eq=False)
class TypeName(TypeExpr):
    """A named type, with bracketed arguments: `Image[3, 64, 64]`, `List[int]`, a dim symbol `B`."""

    name: str
    args: list[TypeExpr]
    span: Span


@dataclass(eq=False)
class TypeDim(TypeExpr):
    """An integer dimension inside a type's brackets: the `64` of `Image[3, 64, 64]`."""

    value: int
    span: Span


@dataclass(eq=False)
class TypeArrow(TypeExpr):
    """`In -> Out` inside `Model[...]`."""

    input: TypeExpr
    output: TypeExpr
    span: Span


# --------------------------------------------------------------------------- operators

COMPARISONS = ("<", ">", "==", ">=", "<=", "!=", "in", "not in", "is", "is not")
# How tightly each operator binds, in Python's order (higher binds tighter): the parser groups
# operator chains by it (builder.py) and the formatter puts parentheses by it (formatter.py).
# "unary" is prefix `-`, `+` and `~`; "atom" is what binds tightest (names, literals, calls).
PRECEDENCE = {"or": 1, "and": 2, "not": 3, **dict.fromkeys(COMPARISONS, 4), "|": 5, "^": 6, "&": 7,
              "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10, "@": 10, "unary": 11, "**": 12,
              "atom": 13}
COMPARE = PRECEDENCE["=="]


# --------------------------------------------------------------------------- expressions

@dataclass(eq=False)
class Name(Expr):
    id: str
    span: Span


@dataclass(eq=False)
class Constant(Expr):
    """A number, string, `true`/`false` or `none`."""

    value: Union[int, float, str, bool, None]
    span: Span


@dataclass(eq=False)
class FormattedValue(Expr):
    """One `{expr!r:spec}` part of an f-string."""

    value: Expr
    conversion: str | None
    format_spec: str | None
    span: Span


@dataclass(eq=False)
class FString(Expr):
    """`f"..."`: literal `Constant` parts and `FormattedValue` parts, in order."""

    parts: list[Expr]
    span: Span


@dataclass(eq=False)
class BinOp(Expr):
    left: Expr
    op: str  # + - * / % @ ** << >> & | ^
    right: Expr
    span: Span


@dataclass(eq=False)
class UnaryOp(Expr):
    op: str  # - + ~ not
    operand: Expr
    span: Span


@dataclass(eq=False)
class BoolOp(Expr):
    op: str  # and | or
    values: list[Expr]
    span: Span


@dataclass(eq=False)
class Compare(Expr):
    left: Expr
    ops: list[str]  # < > == != <= >= in "not in" is "is not"
    comparators: list[Expr]
    span: Span


@dataclass(eq=False)
class IfExp(Expr):
    """`body if test else orelse`."""

    test: Expr
    body: Expr
    orelse: Expr
    span: Span


@dataclass(eq=False)
class Starred(Expr):
    """`*xs` in a call's arguments."""

    value: Expr
    span: Span


@dataclass(eq=False)
class Keyword(Node):
    """`name=value` in a call, or `**value` when `name` is None."""

    name: str | None
    value: Expr
    span: Span


@dataclass(eq=False)
class Call(Expr):
    """`func(args, keywords)`, optionally followed by a trailing block `{ stmts }`."""

    func: Expr
    args: list[Expr]
    keywords: list[Keyword]
    block: list[Stmt] | None
    span: Span


@dataclass(eq=False)
class Attribute(Expr):
    value: Expr
    attr: str
    span: Span


@dataclass(eq=False)
class Slice(Expr):
    lower: Expr | None
    upper: Expr | None
    step: Expr | None
    span: Span


@dataclass(eq=False)
class Index(Expr):
    """`value[index]`; several subscripts make `index` a `TupleLit`."""

    value: Expr
    index: Expr
    span: Span


@dataclass(eq=False)
class ListLit(Expr):
    elts: list[Expr]
    span: Span


@dataclass(eq=False)
class TupleLit(Expr):
    elts: list[Expr]
    span: Span


@dataclass(eq=False)
class SetLit(Expr):
    elts: list[Expr]
    span: Span


@dataclass(eq=False)
class DictLit(Expr):
    """`{k: v}`; a bare-name key (`{lr: 0.1}`) is the string `"lr"`, as in JavaScript."""

    keys: list[Expr]
    values: list[Expr]
    span: Span


@dataclass(eq=False)
class Comprehension(Node):
    """`for target in iter if cond ...` inside a list or dict comprehension."""

    target: Expr
    iter: Expr
    ifs: list[Expr]
    span: Span


@dataclass(eq=False)
class ListComp(Expr):
    elt: Expr
    generators: list[Comprehension]
    span: Span


@dataclass(eq=False)
class DictComp(Expr):
    key: Expr
    value: Expr
    generators: list[Comprehension]
    span: Span


# --------------------------------------------------------------------------- statements

@dataclass(eq=False)
class ExprStmt(Stmt):
    value: Expr
    span: Span


@dataclass(eq=False)
class Assign(Stmt):
    """`target = value`; the target is a `Name`, `Attribute`, `Index` or a `TupleLit` of them."""

    target: Expr
    value: Expr
    span: Span


@dataclass(eq=False)
class AugAssign(Stmt):
    target: Expr
    op: str  # the binary operator: + - * / % @ ** << >> & | ^
    value: Expr
    span: Span


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None
    span: Span


@dataclass(eq=False)
class Break(Stmt):
    span: Span


@dataclass(eq=False)
class Continue(Stmt):
    span: Span


@dataclass(eq=False)
class If(Stmt):
    """`if test { body } else if ... else { orelse }`; `else if` is an `If` alone in `orelse`."""

    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]
    span: Span


@dataclass(eq=False)
class While(Stmt):
    test: Expr
    body: list[Stmt]
    span: Span


@dataclass(eq=False)
class For(Stmt):
    target: Expr
    iter: Expr
    body: list[Stmt]
    span: Span


@dataclass(eq=False)
class Param(Node):
    """A parameter: `name [: type] [= default]`, `*name` (kind "var"), `**name` (kind "kwvar"), or
    a bare `*` (kind "star", name "*") after which parameters are keyword-only."""

    name: str
    type: TypeExpr | None
    default: Expr | None
    span: Span
    kind: str = "normal"


@dataclass(eq=False)
class FuncDecl(Stmt):
    name: str
    params: list[Param]
    returns: TypeExpr | None
    body: list[Stmt]
    span: Span


@dataclass(eq=False)
class FieldDecl(Node):
    """`name: Type [= default]` declares a field; `name = expr` (type None) binds/overrides one."""

    name: str
    type: TypeExpr | None
    default: Expr | None
    span: Span


@dataclass(eq=False)
class LayerCall(Node):
    """A layer of a model's stack: a call on its own line of a model body (`Dense(10)`)."""

    call: Call
    span: Span


@dataclass(eq=False)
class ForwardDecl(Node):
    """`forward(x) { ... }` in a model body; the body sees the model's fields by bare name."""

    params: list[Param]
    body: list[Stmt]
    span: Span
    returns: TypeExpr | None = None


@dataclass(eq=False)
class ModelDecl(Stmt):
    """`model Name [extends Base] { ... }` or `metamodel Name [extends Base] { ... }`."""

    kind: str  # "model" | "metamodel"
    name: str
    base: str | None
    fields: list[FieldDecl]
    layers: list[LayerCall]
    forward: ForwardDecl | None
    span: Span
    base_span: Span | None = None
    filename: str | None = None
    end: Span | None = None  # the closing `}`


@dataclass(eq=False)
class Import(Stmt):
    """`import "path.m" [as alias]`: binds the alias, or the file's stem, to the module."""

    path: str
    alias: str | None
    span: Span

    @property
    def bound_name(self) -> str:
        from pathlib import PurePath
        return self.alias or PurePath(self.path).stem


@dataclass(eq=False)
class ImportName(Node):
    name: str
    alias: str | None
    span: Span

    @property
    def bound_name(self) -> str:
        return self.alias or self.name


@dataclass(eq=False)
class FromImport(Stmt):
    """`from "path.m" import a, b as c`."""

    path: str
    names: list[ImportName]
    span: Span


@dataclass(eq=False)
class PythonImport(Stmt):
    """`import python a.b [as c]`: binds `c`, or (as in Python) `a`."""

    module: str
    alias: str | None
    span: Span

    @property
    def bound_name(self) -> str:
        return self.alias or self.module.split(".")[0]


@dataclass(eq=False)
class Module(Node):
    body: list[Stmt]
    filename: str
    source: str = field(repr=False, default="")
    span: Span | None = None


# Field annotations that never hold a node: skipped when looking for children.
_LEAF_ANNOTATIONS = frozenset({"Span", "Span | None", "str", "str | None", "int", "int | None", "bool",
                               "list[str]", "Union[int, float, str, bool, None]"})
_NOT_CHILDREN = frozenset({"span", "base_span", "end"})
_child_fields_by_class: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of node class `cls` that may hold child nodes (computed once per class: the
    checker and its plugins walk whole modules several times)."""
    names = _child_fields_by_class.get(cls)
    if names is None:
        names = _child_fields_by_class[cls] = tuple(
            name for name, f in cls.__dataclass_fields__.items()  # type: ignore[attr-defined]
            if name not in _NOT_CHILDREN and f.type not in _LEAF_ANNOTATIONS)
    return names


def _children(node: Node) -> list[Node]:
    children = []
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, Node):
            children.append(value)
        elif isinstance(value, list):
            children.extend([item for item in value if isinstance(item, Node)])
    return children


def iter_child_nodes(node: Node):
    """The direct child nodes of `node` (statements, expressions, types), in source order."""
    return iter(_children(node))


def postfix_chain(e: Expr) -> tuple[Expr, list[Expr]]:
    """The expression under a chain of calls, attributes and indexes (`x` in `x.f(a)[0].g()`), and
    the chain, outermost first — found in a loop, so a long chain is not a deep recursion."""
    chain: list[Expr] = []
    while True:
        kind = type(e)
        if kind is Call:
            chain.append(e)
            e = e.func
        elif kind is Attribute or kind is Index:
            chain.append(e)
            e = e.value
        else:
            return e, chain


def walk(node: Node):
    """`node` and all its descendants, depth first (iterative: deep trees do not recurse)."""
    stack = [node]
    pop, extend = stack.pop, stack.extend
    while stack:
        current = pop()
        yield current
        children = _children(current)
        if children:
            children.reverse()
            extend(children)
