"""Reading model declarations from the M AST without running anything (torch-free).

`type_from_ast` turns a type annotation into an M type (dims that are names become `Sym`s, so a
field name can be a dim); `static_value` evaluates the constant part of an expression (literals,
tuples, field references, arithmetic) and answers `UNKNOWN` for the rest, so the checker never
guesses.
"""
from __future__ import annotations

import operator

from mlang.lang import ast as A
from mlang.lang import types as T
from mlang.lang.resolve import IO_FIELDS  # noqa: F401 - the models stage reads it from here too


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def type_from_ast(node: A.TypeExpr | None, model_names=()) -> T.MType:
    """An M type from an annotation; unknown names are `Any` (never a false error)."""
    if node is None:
        return T.ANY
    if isinstance(node, A.TypeDim):
        return T.ANY
    if isinstance(node, A.TypeArrow):
        return T.ModelType(type_from_ast(node.input, model_names), type_from_ast(node.output, model_names))
    name, args = node.name, node.args
    if name in T.PRIMITIVES and not args:
        return T.PRIMITIVES[name]
    if name == "Text":
        return T.TEXT
    if name == "Image":
        dims = [_dim(a) for a in args] + [None] * (3 - len(args))
        return T.ImageType(*dims[:3])
    if name == "Tensor":
        if not args:
            return T.TensorType("float32", None)
        first = args[0]
        if isinstance(first, A.TypeName) and first.name in T.DTYPES and not first.args:
            return T.TensorType(first.name, tuple(_dim(a) for a in args[1:]) or None)
        return T.TensorType("float32", tuple(_dim(a) for a in args))
    if name == "List":
        return T.ListType(type_from_ast(args[0], model_names) if args else T.ANY)
    if name == "Dict":
        return T.DictType(*(type_from_ast(a, model_names) for a in args[:2])) if len(args) == 2 else T.DictType()
    if name == "Model":
        if args and isinstance(args[0], A.TypeArrow):
            return type_from_ast(args[0], model_names)
        return T.ModelType()
    if name in model_names:
        return T.ModelType(name=name)
    return T.ANY


def _dim(node):
    if isinstance(node, A.TypeDim):
        return node.value
    if isinstance(node, A.TypeName) and not node.args:
        return None if node.name in ("_", "?") else T.Sym(node.name)
    return None


_BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv,
           "/": operator.truediv, "%": operator.mod, "**": operator.pow}


def static_value(node, env: dict):
    """The value of a constant expression (names looked up in `env`), else `UNKNOWN`."""
    if isinstance(node, A.Constant):
        return node.value
    if isinstance(node, A.Name):
        return env.get(node.id, UNKNOWN)
    if isinstance(node, (A.TupleLit, A.ListLit)):
        items = [static_value(e, env) for e in node.elts]
        if any(i is UNKNOWN for i in items):
            return UNKNOWN
        return tuple(items) if isinstance(node, A.TupleLit) else list(items)
    if isinstance(node, A.UnaryOp) and node.op in ("-", "+"):
        value = static_value(node.operand, env)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if node.op == "-" else value
        return UNKNOWN
    if isinstance(node, A.BinOp) and node.op in _BINOPS:
        left, right = static_value(node.left, env), static_value(node.right, env)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if numbers:
            try:
                return _BINOPS[node.op](left, right)
            except (ArithmeticError, ValueError):
                return UNKNOWN
    return UNKNOWN


def names_read(node) -> tuple[str, ...]:
    """The names `node` reads, each once, in order of appearance."""
    return tuple(dict.fromkeys(n.id for n in A.walk(node) if isinstance(n, A.Name)))


def call_name(call: A.Call) -> str | None:
    """`Dense` for `Dense(10)`; None for calls whose callee is not a plain name."""
    return call.func.id if isinstance(call.func, A.Name) else None


def static_kind(value) -> T.MType:
    """The M type of a statically known value."""
    if isinstance(value, bool):
        return T.BOOL
    if isinstance(value, int):
        return T.INT
    if isinstance(value, float):
        return T.FLOAT
    if isinstance(value, str):
        return T.STR
    if isinstance(value, list):
        return T.ListType()
    return T.ANY
