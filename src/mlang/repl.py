"""`m repl`: M interactively, one module scope kept across inputs.

An input runs when its brackets are balanced, as M's lexer reads them (a `{` left open continues on
the next line, as do `(`, `[`, a triple-quoted string and a block comment).  Each input is checked together with the inputs that ran before it, so names they
bound are known and errors are found before anything runs; the value of every expression
statement that is not `none` is printed.  Errors are reported as `m run` reports them and the
session goes on.  With stdin not a terminal, lines are read without prompts (`m repl < script.m`)
and the exit code is 1 if any input failed.

    from mlang.repl import Repl
    session = Repl()
    session.run("x = 20")
    session.run("x + 1")          # prints 21
"""
from __future__ import annotations

import re
import sys
from typing import TextIO

from mlang.lang import ast as A
from mlang.lang import runtime
from mlang.lang.checker import check_module
from mlang.lang.compiler import compile_module
from mlang.lang.diagnostics import Diagnostic, MError
from mlang.lang.lexer import bracket_depth, scan
from mlang.lang.parser import parse

__all__ = ["Repl", "main"]

FILENAME = "<repl>"
PROMPT, CONTINUATION = "m> ", ".. "
SHOW = "__m_repl_show__"  # the globals' function that prints an expression statement's value
VALUE = "__m_repl_value__"
_REDECLARED = re.compile(r"is already declared on line (\d+)$")


class Repl:
    """An M session: `run(text)` checks and runs one input in the session's module scope."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.history = ""  # every input that passed the checker, for checking the next ones
        self.globals = runtime.new_globals(FILENAME, "__main__")
        self.globals[SHOW] = self._show
        self.decls: list[A.ModelDecl] = []  # every model declaration compiled so far, by index
        self._analysis = None  # the language server's view of `history`, for completion

    @staticmethod
    def complete(text: str) -> bool:
        """Whether `text` is a whole input: no bracket, triple-quoted string or block comment left
        open — or a string left open on its line, which no further line can close (it runs, and
        the error is reported)."""
        tokens = scan(text)
        if any(t.type == "OPEN_STRING" and t.value.lstrip("fF")[:3] not in ('"""', "'''") for t in tokens):
            return True
        return bracket_depth(tokens) <= 0

    def run(self, text: str) -> bool:
        """Check and run one input; print its values or its errors.  True when it succeeded."""
        if not text.strip():
            return True
        source = self.history + text + ("" if text.endswith("\n") else "\n")
        first_line = self.history.count("\n") + 1
        runtime.register_source(FILENAME, source)
        try:
            module = parse(source, FILENAME)
            errors = self._errors(check_module(module), first_line)
            if errors:
                raise MError("", diagnostics=errors)
        except MError as err:
            self.err.write(runtime.format_error(err) + "\n")
            return False
        self.history = source
        return self._execute([s for s in module.body if s.span.line >= first_line], module)

    def _errors(self, diagnostics: list[Diagnostic], first_line: int) -> list[Diagnostic]:
        """The diagnostics of this input: earlier inputs are not reported again, and declaring a
        name again (a new version of a function) is what a session is for."""
        found = []
        for d in diagnostics:
            if d.span is not None and d.span.file == FILENAME and d.span.line < first_line:
                continue
            redeclared = _REDECLARED.search(d.message)
            if redeclared and int(redeclared.group(1)) < first_line:
                continue
            if d.severity == "error":
                found.append(d)
            else:
                self.err.write(d.format(self.history) + "\n")
        return found

    def _execute(self, body: list[A.Stmt], module: A.Module) -> bool:
        statements = [s for stmt in body for s in _shown(stmt)]
        if self.decls:
            # Compiled code finds a model declaration by its index in `__m_decls__`, counted from 0
            # in each compilation; earlier declarations, in a branch that never runs, keep the
            # indices that functions from earlier inputs use.
            span = statements[0].span
            statements.insert(0, A.If(A.Constant(False, span), list(self.decls), [], span))
        compiled = compile_module(A.Module(statements, FILENAME, module.source, module.span))
        self.decls = compiled.decls
        self.globals["__m_decls__"] = compiled.decls
        try:
            runtime.run_main(compiled, self.globals)
        except KeyboardInterrupt:
            self.err.write("interrupted\n")
            return False
        except Exception as exc:  # the user's error, reported with its M traceback
            self.err.write(runtime.format_error(runtime.runtime_error(exc)) + "\n")
            return False
        return True

    def suggestions(self, line: str) -> list[str]:
        """Completions of the last word of `line` (the text before the cursor on a new input),
        from the names the session has bound, builtins and keywords; `net.` gives the model's
        fields and members (Tab in a terminal)."""
        from mlang.lsp.analysis import Analysis

        word = _dotted_name_at_end(line)
        if self._analysis is None or self._analysis.source != self.history:
            self._analysis = Analysis(self.history, FILENAME)
        analysis = Analysis(self.history + line, FILENAME, fallback=self._analysis)
        labels = [c.label for c in analysis.completions(self.history.count("\n") + 1, len(line))]
        head, _, prefix = word.rpartition(".")
        start = head + "." if head else ""
        return sorted({start + label for label in labels if label.startswith(prefix)})

    def _show(self, value) -> None:
        if value is not None:
            self.out.write(repr(value) + "\n")
            self.out.flush()


def _dotted_name_at_end(line: str) -> str:
    """The `a.b.c` (or `a.`, or nothing) that `line` ends with, by the lexer's tokens."""
    tokens = scan(line)
    start = end = len(line) + 1  # columns are 1-based
    for tok in reversed(tokens):
        if tok.type not in ("NAME", ".") or tok.end_line != 1 or tok.end_column != start:
            break
        start = tok.column
    return line[start - 1:end - 1]


def _shown(stmt: A.Stmt) -> list[A.Stmt]:
    """An expression statement becomes `value = expr; show(value)` (a trailing block stays on its
    call); every other statement is left as it is."""
    if not isinstance(stmt, A.ExprStmt):
        return [stmt]
    span = stmt.span
    assign = A.Assign(A.Name(VALUE, span), stmt.value, span)
    show = A.ExprStmt(A.Call(A.Name(SHOW, span), [A.Name(VALUE, span)], [], None, span), span)
    return [assign, show]


def _terminal_line(prompt: str) -> str:
    try:
        return input(prompt) + "\n"
    except EOFError:
        return ""


def _piped_line(prompt: str) -> str:
    return sys.stdin.readline()


def serve(session: Repl, read_line, interactive: bool) -> bool:
    """Read inputs with `read_line(prompt)` ("" at end of input) and run each whole one; a line
    `:quit` ends.  Ctrl-C drops the input being typed.  True when every input succeeded."""
    lines: list[str] = []
    ok = True
    while True:
        try:
            line = read_line(CONTINUATION if lines else PROMPT)
        except KeyboardInterrupt:
            session.out.write("\n")
            lines = []
            if not interactive:
                return False
            continue
        if not line or (not lines and line.strip() in (":quit", ":q")):
            break
        lines.append(line)
        if Repl.complete("".join(lines)):
            ok = session.run("".join(lines)) and ok
            lines = []
    if lines:  # input ended inside a bracket: run it to report what is unclosed
        ok = session.run("".join(lines)) and ok
    return ok


def _enable_line_editing(session: Repl) -> None:
    """Line editing, history and Tab completion for `input()`, where readline exists."""
    try:
        import readline
    except ImportError:
        return
    found: dict[str, list[str]] = {}

    def complete(text: str, state: int) -> str | None:
        line = readline.get_line_buffer()[:readline.get_endidx()]
        if line not in found:
            found.clear()
            found[line] = session.suggestions(line)
        matches = found[line]
        return matches[state] if state < len(matches) else None

    readline.set_completer_delims(" \t\n()[]{},=+-*/%<>!:;'\"")
    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")


def main(argv: list[str] | None = None) -> int:
    """`m repl`: read, check, run and print until end of input (Ctrl-D) or `:quit`.  Prompts and
    line editing only on a terminal; with piped input the exit code is 1 if any input failed."""
    interactive = sys.stdin.isatty()
    session = Repl()
    if interactive:
        _enable_line_editing(session)
        sys.stdout.write("M repl: a `{` continues on the next line; Ctrl-D or :quit to leave.\n")
    ok = serve(session, _terminal_line if interactive else _piped_line, interactive)
    if interactive:
        sys.stdout.write("\n")
        return 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
