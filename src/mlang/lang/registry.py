"""The one registry of M builtins, checker plugins and runtime hooks.

Later pipeline stages extend the language by adding entries here (from their torch-free
`builtins.py`, found through the `mlang.builtins` entry point group), never by editing the compiler.
A target may be a callable or a `"package.module:attribute"` string imported on first use, so that
`m check` stays fast and never imports torch.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Builtin:
    name: str
    target: Callable | str
    accepts_block: bool = False
    doc: str | None = None

    def resolve(self) -> Callable:
        """The callable, importing it on first use."""
        if isinstance(self.target, str):
            self.target = _import_target(self.target)
        return self.target

    def signature(self) -> inspect.Signature | None:
        """The Python signature (for argument checks), or None when it cannot be known."""
        try:
            return inspect.signature(self.resolve())
        except (TypeError, ValueError):
            return None


_builtins: dict[str, Builtin] = {}
_checks: list[Callable] = []
_hooks: dict[str, Callable | str] = {}
_stages_loaded = False


def _import_target(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def register_builtin(name: str, target: Callable | str, *, accepts_block: bool = False,
                     doc: str | None = None) -> None:
    """Make `name` callable from M.  Registering a name again replaces it."""
    _builtins[name] = Builtin(name, target, accepts_block, doc)


def register_check(fn: Callable) -> None:
    """Add a checker plugin: `fn(module_ast, ctx)` returns an iterable of `Diagnostic`s."""
    if fn not in _checks:
        _checks.append(fn)


def register_hook(name: str, target: Callable | str) -> None:
    """Provide a runtime hook the compiled code calls (e.g. `declare_model`)."""
    _hooks[name] = target


def load_stages() -> None:
    """Import every stage's builtins module (entry points `mlang.builtins`) once per process."""
    global _stages_loaded
    if _stages_loaded:
        return
    _stages_loaded = True
    for _name, module in sorted(entry_points("mlang.builtins")):
        importlib.import_module(module)


def entry_points(group: str) -> list[tuple[str, str]]:
    """(name, value) of each entry point in `group` of the distributions installed on `sys.path`.

    Read from their `*.dist-info/entry_points.txt` as `importlib.metadata.entry_points` reads them
    (the first distribution of a name on the path wins), without importing `importlib.metadata`,
    whose imports (email, zipfile, csv) cost more than all of a small `m check`.
    """
    seen: set[str] = set()
    found = []
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:  # a missing folder or a zip archive: neither holds an installed distribution
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if not dot or kind.lower() not in ("dist-info", "egg-info"):
                continue
            distribution = re.sub(r"[-_.]+", "_", stem.partition("-")[0]).lower()
            if distribution not in seen:
                seen.add(distribution)
                found += _section(os.path.join(folder, name, "entry_points.txt"), group)
    return found


def _section(path: str, group: str) -> list[tuple[str, str]]:
    """The `name = value` lines under `[group]` in an entry_points.txt (none if there is no file)."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError:
        return []
    section, entries = None, []
    for line in map(str.strip, lines):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            entries.append((name.strip(), value.strip()))
    return entries


def builtins() -> dict[str, Builtin]:
    load_stages()
    return _builtins


def checks() -> list[Callable]:
    load_stages()
    return list(_checks)


def hook(name: str) -> Callable:
    """The hook's callable; a missing hook is an internal configuration error."""
    load_stages()
    target = _hooks.get(name)
    if target is None:
        raise LookupError(f"no M runtime hook {name!r} is registered")
    if isinstance(target, str):
        target = _hooks[name] = _import_target(target)
    return target
