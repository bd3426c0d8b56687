"""The M front end: parse, check, compile and run M source (see docs/language.md).

Stages after `lang` use `mlang.lang.registry` to add builtins, checks and runtime hooks, and
`compile_expression` / `compile_forward` to run pieces of model declarations.
"""
from mlang.lang.api import (check_file, check_source, compile_file, compile_source, format_error, parse_file,
                            parse_source, run_file, run_source)
from mlang.lang.checker import CheckContext
from mlang.lang.compiler import compile_expression, compile_forward
from mlang.lang.diagnostics import Diagnostic, MCheckError, MError, MRuntimeError, MSyntaxError, Span
from mlang.lang.parser import parse, parse_expression
from mlang.lang.registry import register_builtin, register_check, register_hook

__all__ = ["parse", "parse_expression", "parse_source", "parse_file", "check_source", "check_file",
           "compile_source", "compile_file", "compile_expression", "compile_forward", "run_source", "run_file",
           "format_error", "CheckContext", "Diagnostic", "Span", "MError", "MSyntaxError", "MCheckError",
           "MRuntimeError", "register_builtin", "register_check", "register_hook"]
