"""The front end's Python API: parse, check, compile and run M source.

    import mlang as m
    m.check_file("prog.m")            # -> list[Diagnostic] (empty when the program is fine)
    m.run_file("prog.m", ["--epochs", "2"])
    m.run_source('print(1 + 2)')

Errors a user caused are `MError`s: `MSyntaxError` (does not parse), `MCheckError` (the checker
found problems; all of them are in `.diagnostics`), `MRuntimeError` (raised while M code ran;
`.m_traceback` lists the M frames).  `format_error(err)` renders one as the `m` command prints it.
"""
from __future__ import annotations

from pathlib import Path

from mlang.lang import runtime
from mlang.lang.ast import Module
from mlang.lang.checker import check_module
from mlang.lang.compiler import CompiledModule, compile_module
from mlang.lang.diagnostics import Diagnostic, MCheckError, MError
from mlang.lang.parser import gc_paused, parse

__all__ = ["parse_source", "parse_file", "check_source", "check_file", "compile_source", "compile_file",
           "run_source", "run_file", "format_error"]

_parsed: dict[str, tuple[float, Module]] = {}
_compiled: dict[str, tuple[float, CompiledModule]] = {}

format_error = runtime.format_error


def _read(path: str | Path) -> tuple[str, str, float]:
    from mlang.lang.lexer import decode

    p = Path(path)
    try:
        data, mtime = p.read_bytes(), p.stat().st_mtime
    except FileNotFoundError:
        raise MError(f"no such file: {p}") from None
    except OSError as err:
        raise MError(f"cannot read {p}: {err.strerror or err}") from None
    return str(p), decode(data, str(p)), mtime  # bytes that are not UTF-8: an error at line:col


def parse_source(source: str, filename: str = "<input>") -> Module:
    """Parse M source (raises `MSyntaxError`)."""
    runtime.register_source(filename, source)
    return parse(source, filename)


def parse_file(path: str | Path) -> Module:
    """Parse an M file, once per process while the file is unchanged."""
    filename, source, mtime = _read(path)
    cached = _parsed.get(filename)
    if cached and cached[0] == mtime:
        return cached[1]
    module = parse_source(source, filename)
    _parsed[filename] = (mtime, module)
    return module


def _diagnostics_of(action) -> list[Diagnostic]:
    # One pause of the cyclic collector for parsing and checking: a collection in between would
    # walk the whole new tree (a fifth of checking a big file) and find nothing to free.
    with gc_paused():
        try:
            return action()
        except MError as err:
            return err.diagnostics


def check_source(source: str, filename: str = "<input>") -> list[Diagnostic]:
    """All syntax and check diagnostics for `source` (an empty list when it is fine)."""
    return _diagnostics_of(lambda: check_module(parse_source(source, filename)))


def check_file(path: str | Path) -> list[Diagnostic]:
    """All syntax and check diagnostics for an M file and the M files it imports."""
    return _diagnostics_of(lambda: check_module(parse_file(path)))


def _require_clean(module: Module) -> None:
    diagnostics = [d for d in check_module(module) if d.severity == "error"]
    if diagnostics:
        count = len(diagnostics)
        raise MCheckError(f"{count} error{'s' if count > 1 else ''}", diagnostics=diagnostics)


def compile_source(source: str, filename: str = "<input>", check: bool = True) -> CompiledModule:
    """Parse, check (unless `check=False`) and compile M source to a code object."""
    module = parse_source(source, filename)
    if check:
        _require_clean(module)
    runtime.register_file(filename)
    return compile_module(module)


def compile_file(path: str | Path) -> CompiledModule:
    """Compile an M file (unchecked; `run_file` checks first), once per process while unchanged."""
    filename, _, mtime = _read(path)
    cached = _compiled.get(filename)
    if cached and cached[0] == mtime:
        return cached[1]
    compiled = compile_module(parse_file(filename))
    runtime.register_file(filename)
    _compiled[filename] = (mtime, compiled)
    return compiled


def _execute(compiled: CompiledModule, args) -> dict:
    runtime.program_args[:] = [str(a) for a in args]
    globals_ = runtime.new_globals(compiled.filename, "__main__", compiled.decls)
    try:
        runtime.run_main(compiled, globals_)
    except MError as err:
        raise runtime.runtime_error(err) from None
    except Exception as err:  # an error in the user's program, reported with M frames
        raise runtime.runtime_error(err) from err
    return globals_


def run_source(source: str, filename: str = "<input>", args=(), check: bool = True) -> dict:
    """Check, compile and run M source; returns the program's globals."""
    return _execute(compile_source(source, filename, check=check), args)


def run_file(path: str | Path, args=(), check: bool = True) -> dict:
    """Check, compile and run an M file with program arguments `args`; returns its globals."""
    filename, _, _ = _read(path)
    runtime.add_script_folder(filename)
    module = parse_file(filename)
    if check:
        _require_clean(module)
    return _execute(compile_file(filename), args)

