"""M source → AST (`mlang.lang.ast`).

`parse(source, filename)` returns a `Module` or raises `MSyntaxError` whose message says, in words,
what was expected where ("expected an expression, found ')'").  The tokens (`lexer.py`) go to the
recursive-descent parser (`descent.py`), which builds the tree with `builder.py` and words the
first syntax error from what it expected there.  Neither imports Lark: `grammar.lark` is the
specification the tokens and rules follow, and the tests parse with stock Lark to compare.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager

from mlang.lang import ast as m
from mlang.lang.builder import Block, Builder
from mlang.lang.descent import DescentParser, NoParse, syntax_error
from mlang.lang.diagnostics import MSyntaxError, Span
from mlang.lang.lexer import Token, end_position, tokenize

__all__ = ["parse", "parse_expression", "Block", "BOM"]

BOM = "\ufeff"


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building a tree: the many new nodes would
    otherwise trigger repeated full collections (a third of parse time), and trees have no cycles.
    The checker pauses it too: its passes run while the tree just built is still young."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(source: str, filename: str, start: str, at: tuple[int, int] = (1, 1), keep: list | None = None):
    with gc_paused():  # entered and left here, so the tokens are gone before the collector runs
        return _parse_tokens(source, filename, start, at, keep)


def _parse_tokens(source: str, filename: str, start: str, at: tuple[int, int], keep: list | None = None):
    tokens, error = tokenize(source, filename, at)
    if keep is not None:
        keep.extend(tokens)
    builder = Builder()
    builder.filename = filename
    descent = DescentParser(tokens + [Token("$END", "", *(end_position(source, at) * 2))], builder)
    try:
        tree = descent.parse(start)
    except NoParse:
        if error is not None and descent.pos >= len(tokens):
            raise error from None  # everything before the lexical error parsed
        raise syntax_error(descent, start, source, filename, at) from None
    if error is not None:
        raise error
    return tree


def parse(source: str, filename: str = "<input>", tokens: list | None = None) -> m.Module:
    """Parse M source into a `Module`; raises `MSyntaxError` on the first syntax error.

    A UTF-8 byte order mark at the start (which some Windows editors write) is not part of the
    program: it is dropped, and columns on the first line are counted without it.  `tokens`, a
    list, receives the tokens the parser read (the formatter lays comments out by them)."""
    if source.startswith(BOM):
        source = source[1:]
    try:
        body = _parse(source, filename, "start", keep=tokens)
    except RecursionError:
        raise MSyntaxError("the program is nested too deeply to parse", Span(filename, 1, 1)) from None
    return m.Module(body, filename, source, Span(filename, 1, 1))


def parse_expression(source: str, filename: str = "<input>", at: tuple[int, int] = (1, 1)) -> m.Expr:
    """Parse one M expression (used for f-string fields and by tools); `at` is the line and column
    where `source` starts in the file."""
    return _parse(source, filename, "test", at)
