"""`m repl`: read M statements, run them in one persistent module, print expression values."""
from __future__ import annotations

import sys
from typing import Callable, TextIO

from mlang.lang import ast as m
from mlang.lang import runtime
from mlang.lang.compiler import compile_expression, compile_module
from mlang.lang.diagnostics import MError, MSyntaxError
from mlang.lang.parser import parse

__all__ = ["Repl", "repl"]


class Repl:
    """One session: `feed(line)` returns False while the input so far is an unfinished statement."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self.globals = runtime.new_globals("<repl>", "__main__")
        self.pending: list[str] = []
        self.count = 0

    def feed(self, line: str) -> bool:
        self.pending.append(line)
        source = "\n".join(self.pending)
        self.count += 1
        filename = f"<repl:{self.count}>"
        runtime.register_source(filename, source)
        try:
            module = parse(source, filename)
        except MSyntaxError as err:
            if line.strip() and "found the end of the file" in err.diagnostics[0].message:
                return False  # an open bracket or block: read more lines
            self.pending = []
            self.write(runtime.format_error(err) + "\n")
            return True
        self.pending = []
        self.execute(module)
        return True

    def execute(self, module: m.Module) -> None:
        try:
            if len(module.body) == 1 and isinstance(module.body[0], m.ExprStmt) \
                    and getattr(module.body[0].value, "block", None) is None:
                code = compile_expression(module.body[0].value, module.filename)
                runtime.prepare_builtins({n.id for n in m.walk(module) if isinstance(n, m.Name)})
                value = eval(code, self.globals)  # noqa: S307 - compiled M code typed by the user
                if value is not None:
                    self.write(repr(value) + "\n")
                return
            compiled = compile_module(module)
            self.globals["__m_decls__"].extend(compiled.decls)
            runtime.register_file(module.filename)
            runtime.prepare_builtins(compiled.names_read)
            exec(compiled.code, self.globals)
        except MError as err:
            self.write(runtime.format_error(runtime.runtime_error(err)) + "\n")
        except Exception as err:  # the user's code failed: report it and keep the session
            self.write(runtime.format_error(runtime.runtime_error(err)) + "\n")


def repl(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Interactive loop until end of input (Ctrl-D)."""
    session = Repl(stdout.write)
    interactive = stdin.isatty()
    complete = True
    while True:
        if interactive:
            stdout.write("m> " if complete else "... ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        complete = session.feed(line.rstrip("\n"))
