"""M source → AST (`mlang.lang.ast`).

`parse(source, filename)` returns a `Module` or raises `MSyntaxError` whose message says, in words,
what was expected where ("expected an expression, found ')'").  The tokens (`lexer.py`) go to the
recursive-descent parser (`descent.py`), which builds the tree with `builder.py` and words the
first syntax error from what it expected there.  Neither imports Lark: `grammar.lark` is the
specification the tokens and rules follow, and the tests parse with stock Lark to compare.
"""
from __future__ import annotations

import gc
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager

from mlang.lang import ast as m
from mlang.lang.builder import Block, Builder
from mlang.lang.descent import DescentParser, NoParse, syntax_error
from mlang.lang.diagnostics import MError, MSyntaxError, Span
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
    list, receives the tokens the parser read (the formatter lays comments out by them).

    The tree of the last text parsed under each file name is kept: a text that differs from it
    in a few lines (the language server and the REPL parse a file again after each edit) is parsed
    only from the first top-level statement the edit touches, the statements around it reused."""
    if source.startswith(BOM):
        source = source[1:]
    try:
        body = _reparse(source, filename) if tokens is None else None
        if body is None:
            keep = [] if tokens is None else tokens
            body = _parse(source, filename, "start", keep=keep)
            _remember(filename, source, body, _extents(keep))
    except RecursionError:
        raise MSyntaxError("the program is nested too deeply to parse", Span(filename, 1, 1)) from None
    return m.Module(body, filename, source, Span(filename, 1, 1))


# ---------------------------------------------------------------- parsing an edited text again

class _Parsed:
    """A file's last text, its top-level statements, and the lines (first, last) each spans."""

    __slots__ = ("source", "body", "extents")

    def __init__(self, source: str, body: list, extents: list[tuple[int, int]]):
        self.source, self.body, self.extents = source, body, extents


_RECENT: OrderedDict[str, _Parsed] = OrderedDict()
_RECENT_FILES = 16
_RECENT_LOCK = threading.Lock()
_CONTINUED = re.compile(r"\\[\t \f]*\r?\n\Z")  # a text whose last line ends with a `\` continuation
_OPENERS, _CLOSERS = frozenset({"(", "[", "DICT_LBRACE", "BLOCK_LBRACE"}), frozenset({")", "]", "}"})


def _remember(filename: str, source: str, body: list, extents: list[tuple[int, int]]) -> None:
    with _RECENT_LOCK:  # threads may parse at once (a tuning run's workers)
        if len(extents) != len(body):
            _RECENT.pop(filename, None)
            return
        _RECENT[filename] = _Parsed(source, body, extents)
        _RECENT.move_to_end(filename)
        while len(_RECENT) > _RECENT_FILES:
            _RECENT.popitem(last=False)


def _extents(tokens: list[Token]) -> list[tuple[int, int]]:
    """The first and last line of each top-level statement of a token list: the separators at
    bracket depth 0 divide them."""
    extents, depth, first, last = [], 0, None, 0
    for tok in tokens:
        kind = tok.type
        if kind == "_SEP" and depth == 0:
            if first is not None:
                extents.append((first, last))
                first = None
            continue
        if first is None:
            first = tok.line
        last = tok.end_line
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth -= 1
    if first is not None:
        extents.append((first, last))
    return extents


def common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of `a` and `b` (by halves: compared in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _line_start(text: str, line: int) -> int:
    """The offset where 1-based `line` of `text` starts (the length of `text` past its end)."""
    at = 0
    for _ in range(line - 1):
        at = text.find("\n", at) + 1
        if at == 0:
            return len(text)
    return at


def _inside(err: MSyntaxError, text: str, tokens: list[Token], first_line: int) -> bool:
    """Whether a syntax error of the re-parsed part is the whole text's own: one at a token of
    that part after its first, not at its end (where the text after it would have gone on), nor
    a string or comment left open (the text after it may close it), nor in a part that starts
    with `else` (which belongs to the statement before)."""
    span = err.span
    if not tokens or tokens[0].type == "else" or err.diagnostics[0].message in _OPEN_AT_END or span is None:
        return False
    where = (span.line, span.column)  # after the first token (where the file could also end)
    return (tokens[0].line, tokens[0].column) < where < end_position(text, (first_line, 1))


_OPEN_AT_END = frozenset({"this string is never closed", "this block comment is never closed"})


def _reparse(source: str, filename: str) -> list | None:
    """The statements of `source` from the last tree of `filename`, parsing only the lines from
    the first statement an edit touches: up to the first untouched statement after it when the
    edit keeps the number of lines, else to the end.  A syntax error of that part that is the
    whole text's own is raised; None when there is nothing to reuse or the changed part cannot be
    parsed alone (the whole text is then parsed)."""
    previous = _RECENT.get(filename)
    if previous is None:
        return None
    old, body, extents = previous.source, previous.body, previous.extents
    if old == source:
        return list(body)
    changed = old.count("\n", 0, common_prefix(old, source)) + 1  # the first line that differs
    same_lines = old.count("\n") == source.count("\n")
    count = len(extents)
    keep = 0  # statements before the edit, each on lines of its own
    while keep < count and extents[keep][1] < changed and (keep + 1 == count or extents[keep][1] < extents[keep + 1][0]):
        keep += 1
    resume = count  # the first statement after the edit that is reused
    if same_lines:
        last_changed = old.count("\n", 0, len(old) - common_prefix(old[::-1], source[::-1])) + 1
        while (resume > keep + 1 and extents[resume - 1][0] > last_changed
               and extents[resume - 1][0] > extents[resume - 2][1]):
            resume -= 1
    if keep == 0 and resume == count:
        return None  # nothing before or after the edit to reuse
    first_line = extents[keep - 1][1] + 1 if keep else 1
    start = _line_start(source, first_line)
    end = _line_start(source, extents[resume][0]) if resume < count else len(source)
    before = source[_line_start(source, first_line - 1):start] if keep else ""
    after = source[end:_line_start(source, extents[resume][0] + 1)] if resume < count else ""
    text = source[start:end]
    if "/*" in before or "*/" in after or _CONTINUED.search(before) or (resume < count and _CONTINUED.search(text)):
        return None  # a comment or a line continuation across a boundary: parse it all
    tokens: list[Token] = []
    try:
        region = _parse(text, filename, "start", (first_line, 1), tokens)
    except MSyntaxError as err:
        if _inside(err, text, tokens, first_line):
            raise  # the whole text's first error: the statements before it parse as they did
        return None
    except (MError, RecursionError):
        return None
    region_extents = _extents(tokens)
    if len(region_extents) != len(region):
        return None
    statements = body[:keep] + region + body[resume:]
    _remember(filename, source, statements, extents[:keep] + region_extents + extents[resume:])
    return list(statements)


def parse_expression(source: str, filename: str = "<input>", at: tuple[int, int] = (1, 1)) -> m.Expr:
    """Parse one M expression (used for f-string fields and by tools); `at` is the line and column
    where `source` starts in the file."""
    return _parse(source, filename, "test", at)
