"""The one registry of M builtins, checker plugins and runtime hooks.

Later pipeline stages extend the language by adding entries here (from their torch-free
`builtins.py`, found through the `mlang.builtins` entry point group), never by editing the compiler.
A target may be a callable or a `"package.module:attribute"` string imported on first use, so that
`m check` stays fast and never imports torch.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

# The kinds of value a declared parameter type admits, for checking literal arguments: the names
# a declaration may use (`n: int`, `path: str | None`, `metrics: list`); any other name admits
# anything (no check).  M's own type names (`Text`, `List[...]`) map here too.  Generous where
# Python is: a list and a tuple stand for each other, and a string is a Sequence.
LITERAL_KINDS = {
    "int": ("int",), "float": ("int", "float"), "bool": ("bool",), "str": ("str",), "Text": ("str",),
    "None": ("None",), "list": ("list", "tuple"), "List": ("list", "tuple"), "tuple": ("tuple", "list"),
    "Sequence": ("list", "tuple", "str"), "dict": ("dict",), "Dict": ("dict",), "Mapping": ("dict",),
}


@dataclass
class Signature:
    """A callee's parameters as the checker reads them: declared by a builtin (`params=`), made
    from an M function's parameters, or from a live Python callable.

    `types` maps a parameter (or `**` for the keywords a `**kwargs` takes) to its declared type
    text (`"int"`, `"str | None"`), where one is declared.
    """

    name: str
    positional: list[tuple[str, bool]]  # (name, has_default), in order
    keyword_only: list[tuple[str, bool]] = field(default_factory=list)
    positional_only: int = 0  # how many leading positional parameters cannot be passed by keyword
    var_positional: bool = False
    var_keyword: bool = False
    types: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # parameter → its default, as written

    @classmethod
    def from_text(cls, name: str, text: str) -> Signature:
        """Parse a declaration written as a Python parameter list:
        `"model, data, /, valid=None, *, epochs: int = 3, **roles: str"`."""
        import ast

        try:
            args = ast.parse(f"def _({text}): pass").body[0].args
        except SyntaxError as err:
            raise ValueError(f"the declared parameters of {name!r} are not a parameter list: {text!r}") from err
        every = [*args.posonlyargs, *args.args]
        first_default = len(every) - len(args.defaults)
        positional = [(a.arg, i >= first_default) for i, a in enumerate(every)]
        keyword_only = [(a.arg, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
        types = {a.arg: ast.unparse(a.annotation) for a in [*every, *args.kwonlyargs] if a.annotation is not None}
        if args.kwarg is not None and args.kwarg.annotation is not None:
            types["**"] = ast.unparse(args.kwarg.annotation)
        defaults = {a.arg: ast.unparse(d) for a, d in zip(every[first_default:], args.defaults)}
        defaults.update({a.arg: ast.unparse(d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        return cls(name, positional, keyword_only, len(args.posonlyargs), args.vararg is not None,
                   args.kwarg is not None, types, defaults)

    @classmethod
    def from_callable(cls, name: str, target: Callable) -> Signature | None:
        """The parameters of a live Python callable (Python's own builtins), None where Python
        cannot say (`print` has no signature in CPython 3.11)."""
        import inspect

        try:
            sig = inspect.signature(target)
        except (TypeError, ValueError):
            return None
        positional, keyword_only, posonly, var, kwvar = [], [], 0, False, False
        for p in sig.parameters.values():
            has_default = p.default is not inspect.Parameter.empty
            if p.kind is p.POSITIONAL_ONLY:
                positional.append((p.name, has_default))
                posonly += 1
            elif p.kind is p.POSITIONAL_OR_KEYWORD:
                positional.append((p.name, has_default))
            elif p.kind is p.VAR_POSITIONAL:
                var = True
            elif p.kind is p.KEYWORD_ONLY:
                keyword_only.append((p.name, has_default))
            else:
                kwvar = True
        return cls(name, positional, keyword_only, posonly, var, kwvar)

    def names(self) -> list[str]:
        """The parameters that can be passed by keyword."""
        return [n for n, _ in self.positional[self.positional_only:]] + [n for n, _ in self.keyword_only]

    @cached_property
    def keyword_names(self) -> frozenset[str]:
        return frozenset(self.names())

    @cached_property
    def required(self) -> tuple[str, ...]:
        """The parameters without a default, in order."""
        return tuple(n for n, has_default in self.positional + self.keyword_only if not has_default)

    def accepts_keyword(self, name: str) -> bool:
        return self.var_keyword or name in self.keyword_names

    def text(self) -> str:
        """`name(a, b=…, *, c=…, **kwargs)`, for hover and completion."""
        params = [n + ("=…" if d else "") for n, d in self.positional]
        params += ["*args"] if self.var_positional else (["*"] if self.keyword_only else [])
        params += [n + ("=…" if d else "") for n, d in self.keyword_only]
        params += ["**kwargs"] if self.var_keyword else []
        return f"{self.name}({', '.join(params)})"


def literal_kinds(type_text: str | None) -> tuple[str, ...] | None:
    """The kinds of literal a declared type admits (`"int | None"` → int, None); None when any
    value may fit (no type, or a type whose values a literal cannot show)."""
    if not type_text:
        return None
    kinds: list[str] = []
    for part in type_text.split("|"):
        atom = part.strip().split("[")[0].strip().strip("'\"")
        if atom not in LITERAL_KINDS:
            return None
        kinds += LITERAL_KINDS[atom]
    return tuple(kinds)


@dataclass
class Builtin:
    """One M builtin.

    `params`: its parameters, declared explicitly as a Python parameter list
    (`"model, data, *, epochs: int = 3"`), next to its registration, so that `m check` knows
    them without importing the stage (tests/lang/test_builtin_signatures.py checks every
    declaration against the real function); or a callable returning a `Signature` (the models
    stage reads a layer's dataclass fields).  Left out, a builtin that is a live Python callable
    (Python's own) is read with `inspect`, and any other is not checked.
    `members`: attribute name → declared parameters, for builtins used as namespaces
    (`Dataset.csv(...)`); a builtin with members has no other attributes.
    `m_file`: the M file that declares it, for builtins written in M (the standard metamodels):
    the front end reads their declarations from there.
    `stage_checked`: its stage's checker plugin checks its calls, with messages of its own (the
    layer catalogue); the front end leaves their arguments alone (editors still read `signature`).
    """

    name: str
    target: Callable | str
    accepts_block: bool = False
    doc: str | None = None
    params: str | Callable[[], Signature | None] | None = None
    members: dict[str, str] | None = None
    m_file: str | None = None
    stage_checked: bool = False

    def resolve(self) -> Callable:
        """The callable, importing it on first use."""
        if isinstance(self.target, str):
            self.target = _import_target(self.target)
        return self.target

    @cached_property
    def signature(self) -> Signature | None:
        """The declared parameters; None when they are not known (then calls are not checked)."""
        if isinstance(self.params, str):
            return Signature.from_text(self.name, self.params)
        if callable(self.params):
            return self.params()
        if not isinstance(self.target, str):
            return Signature.from_callable(self.name, self.target)
        return None

    def member_signature(self, attr: str) -> Signature | None:
        """The declared parameters of `Builtin.attr` (None when it has none declared)."""
        text = (self.members or {}).get(attr)
        return Signature.from_text(f"{self.name}.{attr}", text) if text is not None else None


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
                     doc: str | None = None, params: str | Callable | None = None,
                     members: dict[str, str] | None = None, m_file: str | None = None,
                     stage_checked: bool = False) -> None:
    """Make `name` callable from M, with its parameters declared (see `Builtin`).  Registering a
    name again replaces it."""
    _builtins[name] = Builtin(name, target, accepts_block, doc, params, members, m_file, stage_checked)


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
