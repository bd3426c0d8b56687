"""Public names imported on first use (PEP 562), for every stage package's `__init__`.

A stage lists each public name with the module that defines it; `import mlang.<stage>` then
imports none of them, so `m check` loading every stage's builtins and checks stays cheap, and
the first use of a name imports its module (torch only where that module needs it).
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """`__getattr__` and `__dir__` for `package`, whose `exports` map each public name to the module
    defining it: "pkg.module" (the same name there) or "pkg.module:attr"."""

    def __getattr__(name: str):
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module_name), attr or name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
