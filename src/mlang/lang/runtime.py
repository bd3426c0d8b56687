"""Running compiled M: module globals, the builtins namespace, imports and M tracebacks.

Every M module's globals use one shared builtins namespace (`__builtins__`) holding the M
builtins (core ones from `mlang.lang.builtins`, later stages' from the registry) over Python's
own, so Python code that M calls behaves as it does when Python calls it.  A stage's
builtin is imported only when a module that reads its name is about to run, so programs that do
not use torch never import it.
"""
from __future__ import annotations

import builtins as py_builtins
import importlib
import importlib.machinery
import linecache
import os
import sys
import traceback
import types
from pathlib import Path
from typing import Any

from mlang.lang import registry
from mlang.lang.diagnostics import Diagnostic, MError, MRuntimeError, Span

__all__ = ["new_globals", "prepare_builtins", "register_file", "register_source", "import_m_module",
           "resolve_import", "format_error", "runtime_error", "program_args"]

_namespace: dict[str, Any] = {}
_m_files: set[str] = set()
_modules: dict[str, types.ModuleType] = {}
_loading: list[str] = []
program_args: list[str] = []


def _namespace_ready() -> dict[str, Any]:
    if not _namespace:
        from mlang.lang import builtins as core

        core.register_core()
        # Underneath M's names, all of Python's: the interpreter and C extensions look up
        # `__import__` and friends in the builtins of the calling frame, which is M code when M
        # calls numpy or torch.  The checker still decides which names M source may use.
        _namespace.update(vars(py_builtins))
        _namespace.update({
            "__m_import__": import_m_module,
            "__m_import_names__": import_m_names,
            "__m_import_python__": import_python,
            "__m_declare_model__": declare_model,
            "__m_globals__": globals,
            "args": program_args,
        })
        for name, builtin in registry.builtins().items():
            if not isinstance(builtin.target, str):
                _namespace[name] = builtin.target
    return _namespace


def prepare_builtins(names) -> None:
    """Import the registered builtins among `names` that are not yet in the namespace."""
    namespace = _namespace_ready()
    table = registry.builtins()
    for name in names:
        if name in namespace or name not in table:
            continue
        try:
            namespace[name] = table[name].resolve()
        except (ImportError, AttributeError) as err:
            raise MError(f"the builtin '{name}' cannot be loaded from {table[name].target!r}: {err}",
                         hint="the stage that registers it is incomplete or not installed") from None


def new_globals(filename: str, name: str = "__main__", decls=()) -> dict[str, Any]:
    """Fresh globals for an M module."""
    return {"__builtins__": _namespace_ready(), "__name__": name, "__file__": filename,
            "__m_decls__": list(decls)}


def register_file(filename: str) -> None:
    """Mark `filename` as M source, so its frames appear in M tracebacks."""
    _m_files.add(filename)


def register_source(filename: str, source: str) -> None:
    """Make in-memory source visible to diagnostics and tracebacks (`<input>`, tests, the REPL)."""
    register_file(filename)
    # Lines end at "\n" only, as Python's compiler counts them (a form feed or U+2028 in a comment
    # does not end a line), so tracebacks quote the line they name.
    lines = [line + "\n" for line in source.split("\n")]
    lines[-1] = lines[-1][:-1]
    linecache.cache[filename] = (len(source), None, [line for line in lines if line], filename)


# ------------------------------------------------------------------------------- imports

def resolve_import(path: str, importer: str, span: Span | None = None) -> Path:
    """`path` relative to the importing file's folder, then to each folder of `M_PATH`."""
    candidates = []
    if Path(path).is_absolute():
        candidates.append(Path(path))
    else:
        base = Path(importer).parent if importer and not importer.startswith("<") else Path.cwd()
        candidates.append(base / path)
        for folder in os.environ.get("M_PATH", "").split(os.pathsep):
            if folder:
                candidates.append(Path(folder) / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    searched = ", ".join(str(c.parent) for c in candidates)
    raise MError(f'cannot find the M file "{path}"', span,
                 hint=f"looked in {searched}; set M_PATH to add folders")


def import_m_module(path: str, importer: str) -> types.ModuleType:
    """Run (once per process) the M file `path` imported from `importer`; return it as a module."""
    from mlang.lang import api

    resolved = resolve_import(path, importer)
    key = str(resolved)
    if key in _modules:
        return _modules[key]
    if key in _loading:
        cycle = _loading[_loading.index(key):] + [key]
        raise MError("import cycle: " + " → ".join(Path(p).name for p in cycle),
                     hint="move what both files need into a third file that imports neither")
    module = types.ModuleType(resolved.stem)
    compiled = api.compile_file(key)
    module.__dict__.update(new_globals(key, resolved.stem, compiled.decls))
    module.__file__ = key
    prepare_builtins(compiled.names_read)
    _loading.append(key)
    try:
        exec(compiled.code, module.__dict__)
    finally:
        _loading.pop()
    _modules[key] = module
    return module


def forget_modules() -> list[types.ModuleType]:
    """The M modules imported so far, forgotten (a later import runs its file again): what
    `m run`'s exit handler clears."""
    modules = list(_modules.values())
    _modules.clear()
    return modules


def run_main(compiled, globals_: dict) -> None:
    """Execute a program's main module, tracking it for import-cycle detection."""
    key = str(Path(compiled.filename).resolve()) if not compiled.filename.startswith("<") else compiled.filename
    prepare_builtins(compiled.names_read)
    _loading.append(key)
    try:
        exec(compiled.code, globals_)
    finally:
        _loading.pop()


def import_m_names(path: str, importer: str, names: tuple[str, ...]) -> tuple:
    module = import_m_module(path, importer)
    missing = [n for n in names if n not in module.__dict__]
    if missing:
        raise MError(f'"{path}" defines no {", ".join(repr(n) for n in missing)}')
    return tuple(module.__dict__[n] for n in names)


def add_script_folder(filename: str) -> None:
    """As `python script.py` does, let the program's own folder hold Python modules it imports
    (`import python helpers` finds `helpers.py` beside the `.m` file)."""
    folder = str(Path(filename).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def script_folder_has_module(filename: str, name: str) -> bool:
    """Whether the folder of the M file `filename` holds the Python module or package `name`."""
    if not filename or filename.startswith("<"):
        return False
    return importlib.machinery.PathFinder.find_spec(name, [str(Path(filename).resolve().parent)]) is not None


def import_python(dotted: str, aliased: bool):
    """`import python a.b [as c]`: the module `a.b` when aliased, else (as in Python) `a`."""
    try:
        module = importlib.import_module(dotted)
    except ImportError as err:
        raise MError(f"cannot import the Python module '{dotted}': {err}",
                     hint="is it installed in this environment?") from None
    return module if aliased else importlib.import_module(dotted.split(".")[0])


def declare_model(decl, module_globals: dict):
    """A `model`/`metamodel` declaration at run time: hand it to the models stage."""
    try:
        hook = registry.hook("declare_model")
    except LookupError:
        raise MError(f"cannot declare {decl.kind} '{decl.name}': no stage provides model declarations",
                     decl.span, hint="the models stage (mlang.models) registers the 'declare_model' hook") from None
    return hook(decl, module_globals)


# ------------------------------------------------------------------------------- errors

def _frame_label(name: str) -> str:
    if name == "<module>":
        return ""
    if name.startswith("__m_block_"):
        return ", in a block"
    if name == "__m_forward_factory__":
        return ", in forward"
    return f", in {name}"


def m_frames(tb) -> list[traceback.FrameSummary]:
    """The frames of `tb` that run M code (compiler and library frames are left out)."""
    return [f for f in traceback.extract_tb(tb) if f.filename in _m_files]


def _frame_span(frame: traceback.FrameSummary) -> Span:
    column = (frame.colno or 0) + 1
    end_column = (frame.end_colno + 1) if frame.end_colno is not None and frame.end_lineno == frame.lineno else None
    return Span(frame.filename, frame.lineno, column, frame.lineno if end_column else None, end_column)


def runtime_error(exc: BaseException) -> MError:
    """An `MError` for an exception raised while M code ran, with the M traceback attached.

    An `MError` raised by any stage keeps its diagnostics; one without a span gets the span of
    the innermost M frame.  Other exceptions become `MRuntimeError("Type: message")` at that span.
    """
    frames = m_frames(exc.__traceback__)
    span = _frame_span(frames[-1]) if frames else None
    trace = [f"  {f.filename}:{f.lineno}{_frame_label(f.name)}\n    {(f.line or '').strip()}" for f in frames]
    if isinstance(exc, MError):
        if span is not None and exc.diagnostics and exc.diagnostics[0].span is None:
            exc.diagnostics[0].span = span
        err = exc
    else:
        text = str(exc)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        err = MRuntimeError(message, span, diagnostics=[Diagnostic(message, span)])
        err.__cause__ = exc
    err.m_traceback = trace if len(frames) > 1 or not isinstance(exc, MError) else []
    return err


def format_error(err: MError) -> str:
    """The text the `m` command prints for an error: M traceback (if any), then diagnostics."""
    lines = []
    trace = getattr(err, "m_traceback", None)
    if trace:
        lines.append("M traceback (most recent call last):")
        lines.extend(trace)
    for diagnostic in err.diagnostics:
        lines.append(diagnostic.format(_source_of(diagnostic.span)))
    return "\n".join(lines)


def _source_of(span: Span | None) -> str | None:
    if span is None:
        return None
    cached = linecache.getlines(span.file)
    return "".join(cached) if cached else None
