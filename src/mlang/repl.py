"""`m repl`: M interactively, one module scope kept across inputs.

An input runs when its brackets are balanced, as M's lexer reads them (a `{` left open continues on
the next line, as do `(`, `[`, a triple-quoted string and a block comment).  Each input is checked
together with the inputs that ran before it, so names they bound are known and errors are found
before anything runs: the session's text is one module, resolved by the front end's one entry
(`check_program`, what `m check` runs), so an input's diagnostics are `m check`'s for the same
text.  A function or model declared again replaces the earlier declaration (that is what a session
is for: the earlier one is left out of the checked module, not reported as declared twice).  Tab
completion reads the same resolved program.  The value of every expression statement that is not
`none` is printed.  Errors are reported as `m run` reports them and the session goes on.  With
stdin not a terminal, lines are read without prompts (`m repl < script.m`) and the exit code is 1
if any input failed.

    from mlang.repl import Repl
    session = Repl()
    session.run("x = 20")
    session.run("x + 1")          # prints 21
"""
from __future__ import annotations

import sys
from typing import TextIO

from mlang.lang import ast as A
from mlang.lang import runtime
from mlang.lang.checker import check_program
from mlang.lang.compiler import compile_module
from mlang.lang.diagnostics import Diagnostic, MError
from mlang.lang.lexer import bracket_depth, scan
from mlang.lang.parser import gc_paused, parse

__all__ = ["Repl", "main"]

FILENAME = "<repl>"
PROMPT, CONTINUATION = "m> ", ".. "
SHOW = "__m_repl_show__"  # the globals' function that prints an expression statement's value
VALUE = "__m_repl_value__"


class Repl:
    """An M session: `run(text)` checks and runs one input in the session's module scope."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.history = ""  # every input that passed the checker, for checking the next ones
        self.globals = runtime.new_globals(FILENAME, "__main__")
        self.globals[SHOW] = self._show
        self.decls: list[A.ModelDecl] = []  # every model declaration compiled so far, by index
        self.program = None  # the resolved program of `history` (a `CheckContext`)
        self._analysis = None  # the language server's view of `program`, for completion

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
            with gc_paused():  # as `m check` parses and checks
                diagnostics, program = _check(parse(source, FILENAME), first_line)
            module = program.module
            diagnostics = [d for d in diagnostics if not _earlier(d, first_line)]
        except MError as err:  # it does not parse
            module, diagnostics = None, err.diagnostics
        if diagnostics:  # reported as `m check` reports them
            self.err.write(runtime.format_error(MError("", diagnostics=diagnostics)) + "\n")
        if module is None or any(d.severity == "error" for d in diagnostics):
            return False
        self.history, self.program = source, program
        return self._execute([s for s in module.body if s.span.line >= first_line], module)

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
        if self.program is not None and (self._analysis is None or self._analysis.program is not self.program):
            self._analysis = Analysis.of(self.history, self.program)
        first_line = self.history.count("\n") + 1
        analysis = Analysis(self.history + line, FILENAME, fallback=self._analysis,
                            check=lambda module: _check(module, first_line))
        labels = [c.label for c in analysis.completions(first_line, len(line))]
        head, _, prefix = word.rpartition(".")
        start = head + "." if head else ""
        return sorted({start + label for label in labels if label.startswith(prefix)})

    def _show(self, value) -> None:
        if value is not None:
            self.out.write(repr(value) + "\n")
            self.out.flush()


def _earlier(d: Diagnostic, first_line: int) -> bool:
    """Whether a diagnostic is about an earlier input (those ran; they are not reported again)."""
    return d.span is not None and d.span.file == FILENAME and d.span.line < first_line


def _check(module: A.Module, first_line: int):
    """`check_program` of the session's module (the input from `first_line` on is the new one),
    each function or model of an earlier input that a later input declared again left out: the
    newest declaration is the one in force.  (Two in the new input are both kept: declaring a
    name twice in one input is an error.)"""
    last = {s.name: s for s in module.body if isinstance(s, (A.FuncDecl, A.ModelDecl))}
    body = [s for s in module.body if s.span.line >= first_line
            or not isinstance(s, (A.FuncDecl, A.ModelDecl)) or last[s.name] is s]
    if len(body) < len(module.body):
        module = A.Module(body, module.filename, module.source, module.span)
    return check_program(module)


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
