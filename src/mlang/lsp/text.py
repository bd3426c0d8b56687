"""Reading M source as text: bracket depth (strings and comments skipped), words at a position,
and the column conversions between M spans and LSP positions.

M spans are 1-based lines and 1-based columns counted in characters; LSP positions are 0-based
lines and 0-based characters counted in UTF-16 code units.
"""
from __future__ import annotations

import re

_OPEN, _CLOSE = "([{", ")]}"
_WORD = re.compile(r"[^\W\d]\w*")
# a string, a comment, or one character: the scanner steps over strings and comments whole
_TOKEN = re.compile(r'''[fF]?(?:"""[\s\S]*?(?:"""|$)|\'\'\'[\s\S]*?(?:\'\'\'|$)'''
                    r'''|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)'''
                    r"|//[^\n]*|#[^\n]*|/\*[\s\S]*?(?:\*/|$)|[\s\S]")


def bracket_depth(source: str) -> int:
    """How many brackets `source` leaves open (negative when it closes more than it opens);
    an unterminated triple-quoted string or block comment also counts as open."""
    depth = 0
    for token in _TOKEN.finditer(source):
        text = token.group()
        if text in _OPEN:
            depth += 1
        elif text in _CLOSE:
            depth -= 1
        elif text.startswith("/*") and not text.endswith("*/"):
            depth += 1
        elif len(text) >= 3 and text.lstrip("fF")[:3] in ('"""', "'''"):
            quote = text.lstrip("fF")[:3]
            if len(text.lstrip("fF")) < 6 or not text.endswith(quote):
                depth += 1
    return depth


def word_at(line: str, column: int) -> tuple[str, int] | None:
    """The identifier covering 0-based `column` of `line` (or ending just before it), with its
    0-based start column."""
    for match in _WORD.finditer(line):
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
    for match in re.finditer(r"\n", source):
        offsets.append(match.end())
    return offsets


def block_end(source: str, start: int) -> int:
    """The offset just after the `{ ... }` body of the declaration starting at `start` (a `func`,
    `model`, `forward` or block statement): the first brace outside parentheses and its match.
    Unclosed bodies (while typing) end at the end of `source`."""
    depth, body_depth = 0, None
    for token in _TOKEN.finditer(source, start):
        text = token.group()
        if text in _OPEN:
            if text == "{" and body_depth is None and depth == 0:
                body_depth = depth + 1
            depth += 1
        elif text in _CLOSE:
            depth -= 1
            if body_depth is not None and depth < body_depth:
                return token.end()
    return len(source)


def in_code(source: str, offset: int) -> bool:
    """Whether `offset` is in code: not inside a string or a comment."""
    for token in _TOKEN.finditer(source):
        if token.end() > offset or (token.end() == offset and _is_open_literal(token.group())):
            return len(token.group()) == 1 or token.start() == offset
    return True


def _is_open_literal(text: str) -> bool:
    """A comment or string token that runs to the end of its line (or is unterminated)."""
    if text.startswith(("//", "#")):
        return True
    if text.startswith("/*"):
        return not text.endswith("*/") or len(text) < 4
    body = text.lstrip("fF")
    if len(body) < 2 or body[0] not in "\"'":
        return False
    quote = body[:3] if body[:3] in ('"""', "'''") else body[0]
    return len(body) < 2 * len(quote) or not body.endswith(quote)


def open_call(source: str, offset: int) -> str | None:
    """The callee name of the innermost call left open at `offset` (`Dense(4, act|` → "Dense")."""
    stack: list[int] = []
    for token in _TOKEN.finditer(source[:offset]):
        text = token.group()
        if text in _OPEN:
            stack.append(token.start())
        elif text in _CLOSE and stack:
            stack.pop()
    if not stack or source[stack[-1]] != "(":
        return None
    callee = re.search(r"([^\W\d]\w*)\s*$", source[:stack[-1]])
    return callee.group(1) if callee else None
