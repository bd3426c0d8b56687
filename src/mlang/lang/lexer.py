"""M source → tokens, then the layout pass that decides statement separators and what `{` opens.

The terminals come from `grammar.lark` (its regular expressions and quoted literals), so the
grammar file stays the one definition of M's tokens; no Lark import is needed to read them.
One regular expression matches every token, and `re.findall` runs it over the whole text in C;
only a text with a character no token matches takes the slower path that finds where it is.
"""
from __future__ import annotations

import re
from pathlib import Path

from mlang.lang.diagnostics import MSyntaxError, Span

__all__ = ["Token", "tokenize", "scan", "bracket_depth", "comments", "decode", "position", "end_position",
           "KEYWORDS", "GRAMMAR", "MAX_NESTING", "NAME"]

GRAMMAR = Path(__file__).with_name("grammar.lark")

# Tokens after which a `{` opens a block (`if x {`, `f(a) {`, `else {`); after anything else it
# opens a dict or set literal (`x = {`, `f({`, `[{`).
_ENDS_EXPRESSION = frozenset({"NAME", "NUMBER", "STRING", "FSTRING", ")", "]", "}",
                              "true", "false", "none", "True", "False", "None", "else"})
_STATEMENT_START = frozenset({None, "_SEP", "BLOCK_LBRACE"})

# How deeply brackets, braces and blocks may nest (Python allows 100 levels of indentation and
# 200 of parentheses).  The parsers, the checker, the compiler and the formatter recurse once per
# level, so this one limit keeps every stage far from Python's recursion limit; flat chains
# (`a + b + c`, `else if`, `x.f().g()`) are not nesting and have no limit.
MAX_NESTING = 100


class Token:
    """A token: its `type` (a terminal name like NAME, or the literal text of a keyword or operator),
    text `value`, and 1-based start and end positions."""

    __slots__ = ("type", "value", "line", "column", "end_line", "end_column")

    def __init__(self, type_: str, value: str, line: int, column: int, end_line: int, end_column: int):
        self.type, self.value = type_, value
        self.line, self.column, self.end_line, self.end_column = line, column, end_line, end_column

    def retyped(self, type_: str, value: str | None = None) -> Token:
        return Token(type_, self.value if value is None else value, self.line, self.column, self.end_line,
                     self.end_column)

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


def _grammar_terminals(text: str) -> tuple[dict[str, str], set[str], set[str], set[str]]:
    """Of the grammar: the regular expression of each regex terminal, the keyword literals, the
    operator literals, and the literals of AUGOP (the augmented assignments)."""
    regexps, literals, augmented = {}, set(), set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("//") or line.startswith("%"):
            continue
        found = re.fullmatch(r"([A-Z_]+)\s*:\s*/(.*)/", line)
        if found:
            regexps[found.group(1)] = found.group(2)
            continue
        quoted = set(re.findall(r'"((?:[^"\\]|\\.)*)"', line))
        if line.startswith("AUGOP"):
            augmented |= quoted
        literals |= quoted
    keywords = {lit for lit in literals if re.fullmatch(r"[^\W\d]\w*", lit)}
    return regexps, keywords, literals - keywords - augmented, augmented


_REGEXPS, KEYWORDS, _LITERAL_OPERATORS, _AUGMENTED = _grammar_terminals(GRAMMAR.read_text(encoding="utf-8"))
# `{` and `;` have no literal in the grammar: the layout pass turns them into BLOCK_LBRACE /
# DICT_LBRACE and _SEP.
_OPERATORS = frozenset(_LITERAL_OPERATORS | {"{", ";"})

# Alternatives are tried in order: the most frequent first, then longer before shorter (f-strings
# before names, comments before `/`, numbers like `.5` before `.`, `+=` before `+`).  Blanks
# before a token are captured with it; `\Z` lets trailing blanks match too.
_PIECE = re.compile(r"([\t \f]*)(" + "|".join([
    _REGEXPS["FSTRING"], _REGEXPS["NAME"], r"(?:\r?\n[\t \f]*)+", _REGEXPS["NUMBER"], _REGEXPS["STRING"],
    _REGEXPS["LINE_COMMENT"], _REGEXPS["BLOCK_COMMENT"], r"/\*[\s\S]*", r"\\[\t \f]*\r?\n",
    "|".join(re.escape(op) for op in sorted(_AUGMENTED | _OPERATORS, key=len, reverse=True)),
    r"\Z"]) + ")")

_MULTILINE = frozenset({"_NL", "STRING", "FSTRING", "COMMENT", "CONTINUATION"})  # block comments span lines
_UNIQUE = frozenset({"STRING", "FSTRING", "COMMENT"})  # kinds not worth caching by text


def _kind(piece: str) -> str:
    """The token kind of a matched piece (comments and continuations are kinds the parser skips)."""
    first = piece[0]
    if _NAME_START.match(first):
        if first in "fF" and piece[1:2] in ("'", '"'):
            return "FSTRING"
        return piece if piece in KEYWORDS else "NAME"
    if first.isdecimal() or (first == "." and len(piece) > 1):
        return "NUMBER"
    if first in "\"'":
        return "STRING"
    if first in "\r\n":
        return "_NL"
    if first == "#" or piece.startswith("//"):
        return "COMMENT"
    if piece.startswith("/*"):
        # An unclosed comment matches to the end of the text (see _PIECE).
        return "COMMENT" if len(piece) > 3 and piece.endswith("*/") else "UNCLOSED_COMMENT"
    if first == "\\":
        return "CONTINUATION"
    return "AUGOP" if piece in _AUGMENTED else piece


# What NAME's regular expression takes as a first character (letters and `_`, and also characters
# such as `²` or `Ⅻ` that str.isalpha and str.isdigit disagree on).
_NAME_START = re.compile(_REGEXPS["NAME"].split("]")[0] + "]")
NAME = re.compile(_REGEXPS["NAME"])  # what the grammar calls a name

# The kind of every piece seen so far (pieces repeat: names, operators, indentation).
_KIND_CACHE: dict[str, str] = {}


def _raw_tokens(text: str, filename: str, keep_comments: bool = False,
                at: tuple[int, int] = (1, 1)) -> tuple[list[Token], MSyntaxError | None]:
    """Every token of `text` (which starts at line and column `at` of its file) with its position, up
    to the first character no token matches (and the error saying so)."""
    tokens, error, _ = _lex(text, filename, keep_comments, at)
    return tokens, error


def _lex(text: str, filename: str, keep_comments: bool,
         at: tuple[int, int]) -> tuple[list[Token], MSyntaxError | None, int]:
    """`_raw_tokens`, and the offset in `text` where the first lexical error is (else its length)."""
    tokens = []
    append = tokens.append
    kinds = _KIND_CACHE
    line, line_start, pos = at[0], 1 - at[1], 0
    for blanks, piece in _PIECE.findall(text):
        pos += len(blanks)
        if not piece:
            continue
        kind = kinds.get(piece)
        if kind is None:
            kind = _kind(piece)
            if kind not in _UNIQUE and len(kinds) < 100_000:
                kinds[piece] = kind
        if kind == "UNCLOSED_COMMENT":
            unclosed = MSyntaxError("this block comment is never closed",
                                    Span(filename, line, pos - line_start + 1), hint="end it with */")
            stop = pos
            pos += len(piece)
            break
        newlines = piece.count("\n") if kind in _MULTILINE else 0
        if kind != "CONTINUATION" and (kind != "COMMENT" or keep_comments):
            column = pos - line_start + 1
            if newlines:
                append(Token(kind, piece, line, column, line + newlines, len(piece) - piece.rfind("\n")))
            else:
                append(Token(kind, piece, line, column, line, column + len(piece)))
        if newlines:
            line += newlines
            line_start = pos + piece.rfind("\n") + 1
        pos += len(piece)
    else:
        unclosed, stop = None, pos
    if pos != len(text):  # a character no token matches, before any unclosed comment
        return _up_to_unmatched(text, filename, keep_comments, at)
    return tokens, unclosed, stop


def _up_to_unmatched(text: str, filename: str, keep_comments: bool,
                     at: tuple[int, int]) -> tuple[list[Token], MSyntaxError, int]:
    """The tokens before the first character no token matches, and the error there (a slow walk,
    taken only for a bad text)."""
    pos = 0
    for found in _PIECE.finditer(text):
        if found.start() != pos:
            break
        pos = found.end()
    while text[pos] in "\t \f":
        pos += 1
    tokens, _ = _raw_tokens(text[:pos], filename, keep_comments, at)
    line, column = position(text, pos, at)
    if text[pos] in "\"'":
        return tokens, MSyntaxError("this string is never closed", Span(filename, line, column),
                                    hint="close it with the same quote on the same line, or use triple quotes"), pos
    return tokens, MSyntaxError(f"unexpected character {text[pos]!r}", Span(filename, line, column)), pos


def _too_deep(tok: Token, filename: str) -> MSyntaxError:
    return MSyntaxError(f"brackets and blocks nest more than {MAX_NESTING} levels deep here",
                        Span(filename, tok.line, tok.column, tok.end_line, tok.end_column),
                        hint="move the inner part into a variable or a function of its own")


def decode(data: bytes, filename: str = "<input>") -> str:
    """The text of an M file from its bytes, as Python's text files read it: UTF-8, with "\r\n"
    and "\r" read as "\n".  Bytes that are not UTF-8 are an error at their line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        line_start = data.rfind(b"\n", 0, err.start) + 1
        column = len(data[line_start:err.start].decode("utf-8", "replace")) + 1
        raise MSyntaxError(f"this file is not UTF-8 text: byte 0x{data[err.start]:02x} does not belong here",
                           Span(filename, line, column), hint="save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def position(text: str, index: int, at: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Line and column of `text[index]`, for a text that starts at line and column `at`."""
    newlines = text.count("\n", 0, index)
    if newlines:
        return at[0] + newlines, index - text.rfind("\n", 0, index)
    return at[0], at[1] + index


def end_position(text: str, at: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Line and column just after the last character that is not blank (where `$END` is reported)."""
    return position(text, len(text.rstrip()), at)


def comments(text: str, filename: str = "<input>", at: tuple[int, int] = (1, 1)):
    """(text, line, column) of each comment in `text` (which starts at line and column `at` of its
    file) before its first lexical error, if any (for the formatter and syntax errors' hints)."""
    tokens, _ = _raw_tokens(text, filename, keep_comments=True, at=at)
    for tok in tokens:
        if tok.type == "COMMENT":
            yield tok.value, tok.line, tok.column


def scan(text: str, at: tuple[int, int] = (1, 1)) -> list[Token]:
    """Every token of `text`, comments included (kind COMMENT), before the layout pass: for the
    tools that read text while it is typed (the language server, the REPL).  Where the parser stops
    at a lexical error, this goes on: a string left open is an OPEN_STRING token to the end of its
    line (of the text, for triple quotes), a block comment left open an OPEN_COMMENT token to the
    end of the text, and a character no token matches an ERROR token of its own.  `at` is the line
    and column where `text` starts."""
    out, offset, origin = [], 0, at
    while True:
        at = position(text, offset, origin)
        tokens, error, stop = _lex(text[offset:] if offset else text, "<text>", True, at)
        out.extend(tokens)
        if error is None:
            return out
        start = offset + stop
        first = text[start]
        kind, end = "ERROR", start + 1
        if text.startswith("/*", start):
            kind, end = "OPEN_COMMENT", len(text)
        elif first in "\"'":
            kind = "OPEN_STRING"
            before = out[-1] if out else None
            if (before is not None and before.value.lstrip("fF") == first * 2
                    and (before.end_line, before.end_column) == position(text, start, origin)):
                out.pop()  # `\"""abc` reads as the string `""` and an open `"`: one open triple-quoted string
                start, end = start - len(before.value), len(text)
            else:
                end = text.find("\n", start)
                end = len(text) if end < 0 else end
        line, column = position(text, start, origin)
        out.append(Token(kind, text[start:end], line, column, *position(text, end, origin)))
        if end >= len(text):
            return out
        offset = end


def bracket_depth(text: str | list[Token]) -> int:
    """How many brackets `text` (or its tokens from `scan`) leaves open (negative when it closes
    more than it opens): `(`, `[` and `{` open one, `)`, `]` and `}` close one, and a block comment
    or a triple-quoted string left open counts as open (a string in single quotes ends at its line)."""
    depth = 0
    for tok in scan(text) if isinstance(text, str) else text:
        kind = tok.type
        if kind in _OPENING:
            depth += 1
        elif kind in _CLOSING:
            depth -= 1
        elif kind == "OPEN_COMMENT" or (kind == "OPEN_STRING" and tok.value.lstrip("fF")[:3] in ('"""', "'''")):
            depth += 1
    return depth


_OPENING, _CLOSING = frozenset("([{"), frozenset(")]}")


def tokenize(text: str, filename: str = "<input>",
             at: tuple[int, int] = (1, 1)) -> tuple[list[Token], MSyntaxError | None]:
    """The tokens the parsers read, after the layout pass, up to the first lexical error (and the error).

    Layout: newlines inside `( )`, `[ ]` and dict/set literals are dropped; runs of newlines and
    `;` become one `_SEP`; a separator right after a block's `{`, before its `}`, before `else`,
    or at the start or end of the file is dropped.  `{` becomes BLOCK_LBRACE (after a model
    header, or after a token that ends an expression, except an `else` that does not follow a
    block's `}`: `a if b else {}`) or DICT_LBRACE.  `model`/`metamodel`
    followed by a name at the start of a statement is MODEL_KW; `forward(` at the start of a
    model-body statement is FORWARD_KW.
    """
    tokens, error = _raw_tokens(text, filename, at=at)
    out = []
    append = out.append
    stack: list[str] = []
    prev: str | None = None
    pending: Token | None = None
    model_header = False
    closed = None  # what the last `)`, `]` or `}` closed
    count = len(tokens)
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "_NL" or kind == ";":
            if stack and stack[-1] != "block" and stack[-1] != "model":
                if kind == ";":
                    append(tok.retyped("_SEP", ";"))
                continue
            if pending is None or kind == ";":
                pending = tok
            continue
        if pending is not None:
            closes_block = kind == "}" and stack and (stack[-1] == "block" or stack[-1] == "model")
            if not (prev in _STATEMENT_START or closes_block or kind == "else"):
                append(pending.retyped("_SEP", "\n" if pending.type == "_NL" else ";"))
                prev = "_SEP"
            pending = None
        if kind == "NAME":
            if prev in _STATEMENT_START and i + 1 < count:
                value, following = tok.value, tokens[i + 1].type
                if (value == "model" or value == "metamodel") and following == "NAME":
                    tok = tok.retyped("MODEL_KW")
                    model_header = True
                elif value == "forward" and following == "(" and stack and stack[-1] == "model":
                    tok = tok.retyped("FORWARD_KW")
        elif kind == "(" or kind == "[":
            stack.append("paren")
            if len(stack) > MAX_NESTING:
                return out, _too_deep(tok, filename)
        elif kind == "{":
            if model_header:
                stack.append("model")
                tok = tok.retyped("BLOCK_LBRACE")
            elif prev in _ENDS_EXPRESSION and (prev != "else"
                                               or (len(out) > 1 and out[-2].type == "}" and closed != "dict")):
                # `} else {` opens a block; the `else` of `a if b else {}` is followed by a dict.
                stack.append("block")
                tok = tok.retyped("BLOCK_LBRACE")
            else:
                stack.append("dict")
                tok = tok.retyped("DICT_LBRACE")
            model_header = False
            if len(stack) > MAX_NESTING:
                return out, _too_deep(tok, filename)
        elif (kind == ")" or kind == "]" or kind == "}") and stack:
            closed = stack.pop()
        elif kind == "import" and prev in _STATEMENT_START and i + 1 < count and tokens[i + 1].type == "NAME" \
                and tokens[i + 1].value != "python":
            name = tokens[i + 1]
            return out, MSyntaxError(f"expected a quoted file path or 'python' after import, found the name "
                                     f"'{name.value}'", Span(filename, name.line, name.column),
                                     hint=f'write import "{name.value}.m" or import python {name.value}')
        prev = tok.type
        append(tok)
    return out, error
