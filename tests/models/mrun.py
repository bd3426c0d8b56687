"""Test helpers: run M source through the front end and the models stage, or only check it."""
from __future__ import annotations

import textwrap

from mlang.lang.diagnostics import MError


def run_m(source: str, filename: str = "test.m") -> dict:
    """Compile and run M source; returns the module's globals.  Errors come back as `MError`s."""
    from mlang.lang import runtime
    from mlang.lang.compiler import compile_module
    from mlang.lang.parser import parse

    source = textwrap.dedent(source)
    module = parse(source, filename)
    compiled = compile_module(module)
    runtime.register_source(filename, source)
    globals_ = runtime.new_globals(filename, decls=compiled.decls)
    try:
        runtime.run_main(compiled, globals_)
    except MError as exc:
        raise runtime.runtime_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - turned into an M error with its M traceback
        raise runtime.runtime_error(exc) from exc
    return globals_


def check_m(source: str, filename: str = "test.m") -> list:
    """The models checker's diagnostics for M source (nothing runs)."""
    from mlang.lang.parser import parse
    from mlang.models.check import check_models

    return check_models(parse(textwrap.dedent(source), filename))
