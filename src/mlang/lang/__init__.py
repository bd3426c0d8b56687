"""The M front end: parse, check, compile and run M source (see docs/language.md).

Stages after `lang` use `mlang.lang.registry` to add builtins, checks and runtime hooks, and
`compile_expression` / `compile_forward` to run pieces of model declarations.

The names below are imported on first use, so that importing one small module such as
`mlang.lang.diagnostics` (which every stage does) does not load the parser and the checker.
"""
from mlang.lang.exports import lazy_exports

# Each public name and the module that defines it.
_EXPORTS = {
    "parse": "mlang.lang.parser",
    "parse_expression": "mlang.lang.parser",
    "parse_source": "mlang.lang.api",
    "parse_file": "mlang.lang.api",
    "check_source": "mlang.lang.api",
    "check_file": "mlang.lang.api",
    "compile_source": "mlang.lang.api",
    "compile_file": "mlang.lang.api",
    "compile_expression": "mlang.lang.compiler",
    "compile_forward": "mlang.lang.compiler",
    "run_source": "mlang.lang.api",
    "run_file": "mlang.lang.api",
    "format_error": "mlang.lang.api",
    "check_program": "mlang.lang.checker",
    "CheckContext": "mlang.lang.checker",
    "ModelTable": "mlang.lang.resolve",
    "CallSite": "mlang.lang.checker",
    "Diagnostic": "mlang.lang.diagnostics",
    "Span": "mlang.lang.diagnostics",
    "MError": "mlang.lang.diagnostics",
    "MSyntaxError": "mlang.lang.diagnostics",
    "MCheckError": "mlang.lang.diagnostics",
    "MRuntimeError": "mlang.lang.diagnostics",
    "register_builtin": "mlang.lang.registry",
    "register_check": "mlang.lang.registry",
    "register_hook": "mlang.lang.registry",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
