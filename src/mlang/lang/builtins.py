"""M's core builtins: Python's everyday functions and types, registered like every other builtin.

Later stages add theirs from their own `builtins.py` through `mlang.lang.registry`; the compiler
has no list of builtin names.  Besides these, every program sees `args`: the list of program
arguments given after `--` to `m run`.
"""
from __future__ import annotations

import builtins as py

from mlang.lang.diagnostics import MError
from mlang.lang.registry import register_builtin

__all__ = ["register_core", "error", "floordiv", "CORE_NAMES", "PROGRAM_NAMES"]

# Python builtins exposed to M under the same name.
_PYTHON_NAMES = (
    "print", "range", "len", "min", "max", "sum", "abs", "round", "str", "int", "float", "bool",
    "list", "dict", "tuple", "set", "frozenset", "enumerate", "zip", "sorted", "reversed", "map",
    "filter", "any", "all", "isinstance", "type", "repr", "hasattr", "getattr", "setattr", "divmod",
    "pow", "ord", "chr", "hash", "iter", "next", "format", "open", "input", "slice", "callable", "id",
    "bytes", "hex", "bin", "object", "super", "vars", "dir",
)
# Names every program sees that are values rather than registered functions.
PROGRAM_NAMES = ("args",)


def error(message: str, hint: str | None = None):
    """Stop the program with an M error at the calling line: `error("no data in " + path)`."""
    raise MError(str(message), hint=hint)


def floordiv(a, b):
    """`a // b` of Python (M's `//` starts a comment)."""
    return a // b


CORE_NAMES = _PYTHON_NAMES + ("error", "floordiv")
_registered = False


def register_core() -> None:
    """Register the core builtins (idempotent)."""
    global _registered
    if _registered:
        return
    _registered = True
    for name in _PYTHON_NAMES:
        register_builtin(name, getattr(py, name))
    register_builtin("error", error)
    register_builtin("floordiv", floordiv)


register_core()
