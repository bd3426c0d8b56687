"""Reading M source as text while it is typed: bracket depth, whether a position is in code,
the body of a declaration, the call left open, words at a position, and the column conversions
between M spans and LSP positions.

Every question about the text is answered from its tokens, as M's lexer reads them
(`mlang.lang.lexer.scan`, which goes on past the errors of half-typed text); the tokens of the
last text asked about are kept, so the many questions of one analysis scan it once.

M spans are 1-based lines and 1-based columns counted in characters; LSP positions are 0-based
lines and 0-based characters counted in UTF-16 code units.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

from mlang.lang.lexer import NAME, Token, bracket_depth, scan
from mlang.lang.parser import common_prefix, gc_paused

__all__ = ["bracket_depth", "word_at", "utf16_column", "codepoint_column", "line_offsets", "block_end", "in_code",
           "open_call"]

_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_NOT_CODE = frozenset({"COMMENT", "STRING", "FSTRING", "OPEN_STRING", "OPEN_COMMENT"})
_TO_LINE_END = frozenset({"OPEN_STRING", "OPEN_COMMENT"})  # a cursor at their end is still inside


class _Scanned:
    """The tokens of one text, with the offset where each starts and ends, and which token closes
    each opening bracket."""

    def __init__(self, source: str, previous: _Scanned | None = None):
        with gc_paused():  # many new objects, no cycles: a collection would walk the whole heap
            if previous is None or not self._rescan(source, previous):
                self.source, self.tokens = source, scan(source)
                lines = line_offsets(source)
                self.starts = [lines[t.line - 1] + t.column - 1 for t in self.tokens]
                self.ends = [lines[t.end_line - 1] + t.end_column - 1 for t in self.tokens]
            self.closer: dict[int, int | None] = {}  # opening bracket -> its closing one (None: open)
            stack = []
            for i, tok in enumerate(self.tokens):
                kind = tok.type
                if kind in _OPEN:
                    stack.append(i)
                    self.closer[i] = None
                elif kind in _CLOSE and stack:
                    self.closer[stack.pop()] = i

    def _rescan(self, source: str, previous: _Scanned) -> bool:
        """Scan `source` from the tokens of `previous`, an earlier version of it: only from the
        line of the first change to the first old token after the last changed line (the lexer
        reads from any token boundary as it reads from the start).  False if that cannot be done."""
        old, tokens, starts, ends = previous.source, previous.tokens, previous.starts, previous.ends
        head = common_prefix(old, source)
        tail = common_prefix(old[::-1], source[::-1])
        tail = min(tail, len(old) - head, len(source) - head)
        first_changed = old.rfind("\n", 0, head) + 1  # where the first changed line starts
        keep = bisect_left(ends, first_changed)  # tokens ending before that line are unchanged
        changed_end = old.find("\n", len(old) - tail)  # the end of the last changed line
        resume = len(tokens) if changed_end < 0 else bisect_left(starts, changed_end + 1)
        shift = len(source) - len(old)
        start = starts[keep] if keep < len(tokens) else len(old)
        start = min(start, first_changed)
        end = starts[resume] + shift if resume < len(tokens) else len(source)
        lines = line_offsets(source)
        line = bisect_left(lines, start + 1)  # the 1-based line of offset `start`
        middle = scan(source[start:end], (line, start - lines[line - 1] + 1))
        if middle and middle[-1].type in ("OPEN_COMMENT", "OPEN_STRING") and resume < len(tokens):
            return False  # it may run on past the part scanned again
        line_shift = source.count("\n") - old.count("\n")
        after = tokens[resume:]
        if line_shift:
            after = [Token(t.type, t.value, t.line + line_shift, t.column, t.end_line + line_shift, t.end_column)
                     for t in after]
        self.source, self.tokens = source, tokens[:keep] + middle + after
        self.starts = starts[:keep] + [lines[t.line - 1] + t.column - 1 for t in middle] + \
            [x + shift for x in starts[resume:]]
        self.ends = ends[:keep] + [lines[t.end_line - 1] + t.end_column - 1 for t in middle] + \
            [x + shift for x in ends[resume:]]
        return True


_last: _Scanned | None = None


def _scanned(source: str) -> _Scanned:
    global _last
    last = _last
    if last is None or (last.source is not source and last.source != source):
        last = _last = _Scanned(source, last)
    return last


def word_at(line: str, column: int) -> tuple[str, int] | None:
    """The name (as the grammar reads names) covering 0-based `column` of `line`, or ending just
    before it, with its 0-based start column."""
    for match in NAME.finditer(line):
        if match.start() <= column <= match.end():
            return match.group(), match.start()
    return None


def utf16_column(line: str, column: int) -> int:
    """The LSP character offset of the 0-based code-point `column` of `line`."""
    prefix = line[:column]
    return len(prefix.encode("utf-16-le")) // 2 + max(0, column - len(line))


def codepoint_column(line: str, character: int) -> int:
    """The 0-based code-point column of the LSP character offset `character` in `line`."""
    units = 0
    for index, char in enumerate(line):
        if units >= character:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line) + max(0, character - units)


def line_offsets(source: str) -> list[int]:
    """The offset in `source` where each line starts (index 0 is line 1)."""
    offsets = [0]
    at = source.find("\n")
    while at >= 0:
        offsets.append(at + 1)
        at = source.find("\n", at + 1)
    return offsets


def block_end(source: str, start: int) -> int:
    """The offset just after the `{ ... }` body of the declaration starting at `start` (a `func`,
    `model`, `forward` or block statement): the first brace outside brackets and its match.
    Unclosed bodies (while typing) end at the end of `source`."""
    text = _scanned(source)
    tokens, closer, i = text.tokens, text.closer, bisect_left(text.starts, start)
    while i < len(tokens):
        kind = tokens[i].type
        if kind in _OPEN:
            match = closer[i]
            if match is None:
                break
            if kind == "{":
                return text.ends[match]
            i = match  # brackets before the body (`func f(a = {}) {`) are stepped over whole
        elif kind in _CLOSE:
            break  # a bracket that closes around the declaration: no body of its own
        i += 1
    return len(source)


def in_code(source: str, offset: int) -> bool:
    """Whether `offset` is in code: not inside a string or a comment (its first character is)."""
    text = _scanned(source)
    i = bisect_right(text.starts, offset) - 1
    if i >= 0 and text.starts[i] == offset:  # a token starts here: in code, unless a comment ends here
        i -= 1
        if i < 0 or text.ends[i] != offset:
            return True
    if i < 0 or offset > text.ends[i]:
        return True
    tok = text.tokens[i]
    if offset < text.ends[i]:
        return tok.type not in _NOT_CODE
    return not (tok.type in _TO_LINE_END or (tok.type == "COMMENT" and not tok.value.startswith("/*")))


def open_call(source: str, offset: int) -> str | None:
    """The callee name of the innermost call left open at `offset` (`Dense(4, act|` → "Dense")."""
    text = _scanned(source)
    tokens, stack = text.tokens, []
    for i in range(bisect_left(text.starts, offset)):
        kind = tokens[i].type
        if kind in _OPEN:
            stack.append(i)
        elif kind in _CLOSE and stack:
            stack.pop()
    if not stack or tokens[stack[-1]].type != "(":
        return None
    before = tokens[stack[-1] - 1] if stack[-1] else None
    return before.value if before is not None and before.type == "NAME" else None
