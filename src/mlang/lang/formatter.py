"""`m fmt`: M source in one canonical layout, keeping every comment.

Four-space indents, one statement per line, `{` at the end of the line that opens a block,
`} else {` together, spaces around binary operators and `=`, none around `=` of keyword
arguments, double-quoted strings, at most one blank line kept between statements.  Collections
and calls longer than 100 characters get one element per line with a trailing comma.
Formatting is idempotent: `format_source(format_source(s)) == format_source(s)`.

Comments on their own line stay before the statement that follows them (or before the `}` that
closes their block); a comment after code on a line stays at the end of that statement.
"""
from __future__ import annotations

import math
import re

from mlang.lang import ast as m
from mlang.lang.builder import Block
from mlang.lang.lexer import comments
from mlang.lang.parser import parse

__all__ = ["format_source"]

_WIDTH = 100
_INDENT = "    "
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9,
         "*": 10, "/": 10, "%": 10, "@": 10, "unary": 11, "**": 12, "atom": 13}
_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def format_source(source: str, filename: str = "<input>") -> str:
    """The canonical layout of `source` (raises `MSyntaxError` if it does not parse)."""
    module = parse(source, filename)
    return _Formatter(source, _comments(source)).module(module)


def _comments(source: str) -> list[tuple[int, str, bool]]:
    """(line, text, own_line) of every comment, from the same lexer the parser uses."""
    found = []
    lines = source.splitlines()
    for text, line, column in comments(source):
        own_line = lines[line - 1][: column - 1].strip() == ""
        found.append((line, text, own_line))
    return found


def _keyword_safe(name: str) -> bool:
    return bool(_IDENTIFIER.fullmatch(name))


def _string(value: str, quote: str = '"') -> str:
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def _number(value) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "1e999"
        return repr(value)
    return str(value)


class _Formatter:
    def __init__(self, source: str, comments):
        self.source_lines = source.splitlines()
        self.comments = comments  # sorted by line
        self.next_comment = 0
        self.out: list[str] = []
        self.shared_line = 0  # a line where another statement follows: its comment goes to the last one
        self.break_node = None  # the collection to lay out one element per line

    # -- comments and blank lines
    def flush_comments(self, before_line: int, indent: str) -> None:
        """Emit the comments that start before `before_line` (each on its own line)."""
        while self.next_comment < len(self.comments) and self.comments[self.next_comment][0] < before_line:
            line, text, _ = self.comments[self.next_comment]
            if self.out and self._blank_before(line) and self.out[-1] != "" and not self.out[-1].endswith("{"):
                self.out.append("")
            for i, part in enumerate(text.splitlines()):
                self.out.append(indent + (part.strip() if i else part))
            self.next_comment += 1

    def trailing_comment(self, line: int) -> str:
        """A comment that follows code on `line`, as text to append to that line."""
        if self.next_comment < len(self.comments) and line != self.shared_line:
            c_line, text, own_line = self.comments[self.next_comment]
            if c_line == line and not own_line and "\n" not in text:
                self.next_comment += 1
                return "  " + text
        return ""

    def _blank_before(self, line: int) -> bool:
        return line >= 2 and self.source_lines[line - 2].strip() == ""

    # -- statements
    def module(self, module: m.Module) -> str:
        self.body(module.body, "", end_line=len(self.source_lines) + 1)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n" if self.out else ""

    def body(self, stmts, indent: str, end_line: int) -> None:
        for i, s in enumerate(stmts):
            self.flush_comments(s.span.line, indent)
            if i and self._blank_before(s.span.line) and self.out and self.out[-1] != "":
                self.out.append("")
            following = stmts[i + 1] if i + 1 < len(stmts) else None
            self.shared_line = following.span.line if following is not None else 0
            self.stmt(s, indent)
        self.flush_comments(end_line, indent)

    def block(self, block, indent: str) -> None:
        """The statements of a block (the caller wrote the opening line ending with `{`)."""
        end_line = block.end.line if isinstance(block, Block) else 10 ** 9
        self.body(block, indent + _INDENT, end_line)

    def line(self, indent: str, text: str, source_line: int) -> None:
        self.out.append(indent + text + self.trailing_comment(source_line))

    def stmt(self, s: m.Stmt, indent: str) -> None:
        getattr(self, "stmt_" + type(s).__name__)(s, indent)

    def simple(self, s, indent: str, text: str, value=None) -> None:
        if isinstance(value, m.Call) and value.block is not None:
            self.line(indent, text + " {", s.span.line)
            self.block(value.block, indent)
            self.out.append(indent + "}" + self.trailing_comment(value.block.end.line
                                                                   if isinstance(value.block, Block) else 0))
            return
        last = _last_line(s)
        self.flush_inner_comments(s.span.line, last, indent)
        self.out.append(indent + text + self.trailing_comment(last))

    def flush_inner_comments(self, first: int, last: int, indent: str) -> None:
        """Comments inside a multi-line statement move before it (its expressions are re-laid out)."""
        if last <= first:
            return
        keep = []
        while self.next_comment < len(self.comments) and self.comments[self.next_comment][0] < last:
            keep.append(self.comments[self.next_comment])
            self.next_comment += 1
        for _, text, _ in keep:
            self.out.append(indent + text)

    def fitted(self, indent: str, render, value) -> str:
        """`render()`, again with `value` one element per line when the line is too long."""
        text = render()
        if len(indent) + len(text.split("\n")[0]) > _WIDTH and isinstance(value, _BREAKABLE):
            self.break_node = value
            try:
                text = render()
            finally:
                self.break_node = None
        return text

    def stmt_ExprStmt(self, s, indent):
        self.simple(s, indent, self.fitted(indent, lambda: self.expr(s.value, indent=indent), s.value), s.value)

    def stmt_Assign(self, s, indent):
        def render():
            return f"{self.tuple_bare(s.target, indent)} = {self.tuple_bare(s.value, indent)}"
        self.simple(s, indent, self.fitted(indent, render, s.value), s.value)

    def stmt_AugAssign(self, s, indent):
        self.simple(s, indent, f"{self.expr(s.target)} {s.op}= {self.expr(s.value, indent=indent)}")

    def stmt_Return(self, s, indent):
        if s.value is None:
            self.simple(s, indent, "return")
            return
        self.simple(s, indent, self.fitted(indent, lambda: "return " + self.tuple_bare(s.value, indent), s.value))

    def stmt_Break(self, s, indent):
        self.simple(s, indent, "break")

    def stmt_Continue(self, s, indent):
        self.simple(s, indent, "continue")

    def compound(self, indent: str, head: str, block, line: int) -> None:
        self.line(indent, head + " {", line)
        self.block(block, indent)

    def close(self, indent: str, block) -> None:
        line = block.end.line if isinstance(block, Block) else 0
        self.out.append(indent + "}" + self.trailing_comment(line))

    def stmt_If(self, s, indent, keyword="if"):
        self.compound(indent, f"{keyword} {self.expr(s.test)}", s.body, s.span.line)
        orelse = s.orelse
        while orelse:
            end = s.body.end.line if isinstance(s.body, Block) else s.span.line
            if len(orelse) == 1 and isinstance(orelse[0], m.If) and not isinstance(orelse, Block):
                s = orelse[0]
                self.line(indent, f"}} else if {self.expr(s.test)} {{", end)
                self.block(s.body, indent)
                orelse = s.orelse
            else:
                self.line(indent, "} else {", end)
                self.block(orelse, indent)
                self.close(indent, orelse)
                return
        self.close(indent, s.body)

    def stmt_While(self, s, indent):
        self.compound(indent, f"while {self.expr(s.test)}", s.body, s.span.line)
        self.close(indent, s.body)

    def stmt_For(self, s, indent):
        self.compound(indent, f"for {self.tuple_bare(s.target)} in {self.tuple_bare(s.iter)}", s.body, s.span.line)
        self.close(indent, s.body)

    def params(self, params) -> str:
        parts = []
        for p in params:
            if p.kind == "star":
                parts.append("*")
            elif p.kind == "var":
                parts.append("*" + p.name)
            elif p.kind == "kwvar":
                parts.append("**" + p.name)
            else:
                text = p.name
                if p.type is not None:
                    text += ": " + self.type(p.type)
                if p.default is not None:
                    text += (" = " if p.type is not None else "=") + self.expr(p.default)
                parts.append(text)
        return ", ".join(parts)

    def stmt_FuncDecl(self, s, indent):
        returns = f" -> {self.type(s.returns)}" if s.returns is not None else ""
        self.compound(indent, f"func {s.name}({self.params(s.params)}){returns}", s.body, s.span.line)
        self.close(indent, s.body)

    def stmt_ModelDecl(self, s, indent):
        head = f"{s.kind} {s.name}" + (f" extends {s.base}" if s.base else "")
        self.line(indent, head + " {", s.span.line)
        inner = indent + _INDENT
        items = sorted([*s.fields, *s.layers, *([s.forward] if s.forward else [])],
                       key=lambda item: (item.span.line, item.span.column))
        for i, item in enumerate(items):
            self.flush_comments(item.span.line, inner)
            if i and self._blank_before(item.span.line) and self.out[-1] != "":
                self.out.append("")
            if isinstance(item, m.FieldDecl):
                text = item.name
                if item.type is not None:
                    text += ": " + self.type(item.type)
                if item.default is not None:
                    text += " = " + self.expr(item.default, indent=inner)
                self.line(inner, text, item.span.line)
            elif isinstance(item, m.LayerCall):
                self.line(inner, self.expr(item.call, indent=inner), item.span.line)
            else:
                returns = f" -> {self.type(item.returns)}" if item.returns is not None else ""
                self.compound(inner, f"forward({self.params(item.params)}){returns}", item.body, item.span.line)
                self.close(inner, item.body)
        end = s.end.line if s.end else 10 ** 9
        self.flush_comments(end, inner)
        self.out.append(indent + "}" + self.trailing_comment(end))

    def stmt_Import(self, s, indent):
        self.simple(s, indent, f"import {_string(s.path)}" + (f" as {s.alias}" if s.alias else ""))

    def stmt_FromImport(self, s, indent):
        names = ", ".join(n.name + (f" as {n.alias}" if n.alias else "") for n in s.names)
        self.simple(s, indent, f"from {_string(s.path)} import {names}")

    def stmt_PythonImport(self, s, indent):
        self.simple(s, indent, f"import python {s.module}" + (f" as {s.alias}" if s.alias else ""))

    # -- types
    def type(self, t) -> str:
        if isinstance(t, m.TypeDim):
            return str(t.value)
        if isinstance(t, m.TypeArrow):
            return f"{self.type(t.input)} -> {self.type(t.output)}"
        if t.args:
            return f"{t.name}[{', '.join(self.type(a) for a in t.args)}]"
        return t.name

    # -- expressions
    def tuple_bare(self, e, indent: str = "") -> str:
        """A tuple without parentheses where a statement allows it (`a, b = b, a`)."""
        if isinstance(e, m.TupleLit) and e.elts:
            text = ", ".join(self.expr(x, 1, indent=indent) for x in e.elts)
            return text + "," if len(e.elts) == 1 else text
        return self.expr(e, indent=indent)

    def expr(self, e, min_prec: int = 0, quote: str = '"', indent: str = "") -> str:
        text, prec = self.render(e, quote, indent)
        return f"({text})" if prec < min_prec else text

    def render(self, e, quote, indent):
        return getattr(self, "e_" + type(e).__name__)(e, quote, indent)

    def e_Name(self, e, quote, indent):
        return e.id, _PREC["atom"]

    def e_Constant(self, e, quote, indent):
        value = e.value
        if value is True or value is False:
            return ("true" if value else "false"), _PREC["atom"]
        if value is None:
            return "none", _PREC["atom"]
        if isinstance(value, str):
            return _string(value, quote), _PREC["atom"]
        return _number(value), _PREC["atom"]

    def e_FString(self, e, quote, indent):
        inner_quote = "'" if quote == '"' else '"'
        parts = []
        for part in e.parts:
            if isinstance(part, m.FormattedValue):
                text = self.expr(part.value, quote=inner_quote)
                if text.startswith("{"):
                    text = " " + text
                if part.conversion:
                    text += "!" + part.conversion
                if part.format_spec is not None:
                    text += ":" + part.format_spec
                parts.append("{" + text + "}")
            else:
                parts.append(_string(part.value, quote)[1:-1].replace("{", "{{").replace("}", "}}"))
        return "f" + quote + "".join(parts) + quote, _PREC["atom"]

    def e_BinOp(self, e, quote, indent):
        prec = _PREC[e.op]
        if e.op == "**":
            left = self.expr(e.left, _PREC["atom"], quote)
            right = self.expr(e.right, _PREC["unary"], quote)
        else:
            left = self.expr(e.left, prec, quote)
            right = self.expr(e.right, prec + 1, quote)
        return f"{left} {e.op} {right}", prec

    def e_UnaryOp(self, e, quote, indent):
        if e.op == "not":
            return "not " + self.expr(e.operand, _PREC["not"], quote), _PREC["not"]
        operand = self.expr(e.operand, _PREC["unary"], quote)
        return e.op + operand, _PREC["unary"]

    def e_BoolOp(self, e, quote, indent):
        prec = _PREC[e.op]
        return f" {e.op} ".join(self.expr(v, prec + 1, quote) for v in e.values), prec

    def e_Compare(self, e, quote, indent):
        parts = [self.expr(e.left, _PREC["cmp"] + 1, quote)]
        for op, right in zip(e.ops, e.comparators):
            parts.append(f"{op} {self.expr(right, _PREC['cmp'] + 1, quote)}")
        return " ".join(parts), _PREC["cmp"]

    def e_IfExp(self, e, quote, indent):
        return (f"{self.expr(e.body, 1, quote)} if {self.expr(e.test, 1, quote)} else "
                f"{self.expr(e.orelse, 0, quote)}"), 0

    def e_Starred(self, e, quote, indent):
        return "*" + self.expr(e.value, _PREC["atom"], quote), _PREC["atom"]

    def items(self, node, opening: str, parts: list[str], closing: str, indent: str, force_comma=False) -> str:
        flat = opening + ", ".join(parts) + ("," if force_comma else "") + closing
        if not parts or (node is not self.break_node and len(indent) + len(flat) <= _WIDTH):
            return flat
        inner = indent + _INDENT
        return opening + "\n" + "".join(f"{inner}{p},\n" for p in parts) + indent + closing

    def e_Call(self, e, quote, indent):
        args = [self.expr(a, 0, quote, indent + _INDENT) for a in e.args]
        for k in e.keywords:
            value = self.expr(k.value, 0, quote, indent + _INDENT)
            args.append(f"{k.name}={value}" if k.name is not None else "**" + self.expr(k.value, _PREC["atom"], quote))
        return self.expr(e.func, _PREC["atom"], quote) + self.items(e, "(", args, ")", indent), _PREC["atom"]

    def e_Attribute(self, e, quote, indent):
        value = self.expr(e.value, _PREC["atom"], quote)
        if isinstance(e.value, m.Constant) and isinstance(e.value.value, int) and not isinstance(e.value.value, bool):
            value = f"({value})"
        return f"{value}.{e.attr}", _PREC["atom"]

    def subscript(self, e, quote) -> str:
        if isinstance(e, m.TupleLit) and e.elts:
            text = ", ".join(self.subscript(x, quote) for x in e.elts)
            return text + "," if len(e.elts) == 1 else text
        if isinstance(e, m.Slice):
            part = lambda x: self.expr(x, 1, quote) if x is not None else ""  # noqa: E731
            text = f"{part(e.lower)}:{part(e.upper)}"
            return text + (f":{part(e.step)}" if e.step is not None else "")
        return self.expr(e, 0, quote)

    def e_Index(self, e, quote, indent):
        return f"{self.expr(e.value, _PREC['atom'], quote)}[{self.subscript(e.index, quote)}]", _PREC["atom"]

    def e_Slice(self, e, quote, indent):
        return self.subscript(e, quote), _PREC["atom"]

    def e_ListLit(self, e, quote, indent):
        return self.items(e, "[", [self.expr(x, 0, quote, indent + _INDENT) for x in e.elts], "]", indent), _PREC["atom"]

    def e_TupleLit(self, e, quote, indent):
        parts = [self.expr(x, 0, quote, indent + _INDENT) for x in e.elts]
        return self.items(e, "(", parts, ")", indent, force_comma=len(parts) == 1), _PREC["atom"]

    def e_SetLit(self, e, quote, indent):
        return self.items(e, "{", [self.expr(x, 0, quote, indent + _INDENT) for x in e.elts], "}", indent), _PREC["atom"]

    def dict_key(self, key, quote) -> str:
        if isinstance(key, m.Constant) and isinstance(key.value, str) and _keyword_safe(key.value) \
                and key.value not in _RESERVED:
            return key.value
        if isinstance(key, m.Name):
            return f"({key.id})"
        return self.expr(key, 1, quote)

    def e_DictLit(self, e, quote, indent):
        parts = [f"{self.dict_key(k, quote)}: {self.expr(v, 0, quote, indent + _INDENT)}"
                 for k, v in zip(e.keys, e.values)]
        return self.items(e, "{", parts, "}", indent), _PREC["atom"]

    def generators(self, gens, quote) -> str:
        parts = []
        for g in gens:
            parts.append(f"for {self.tuple_bare(g.target)} in {self.expr(g.iter, 1, quote)}")
            parts.extend(f"if {self.expr(c, 1, quote)}" for c in g.ifs)
        return " ".join(parts)

    def e_ListComp(self, e, quote, indent):
        return f"[{self.expr(e.elt, 0, quote)} {self.generators(e.generators, quote)}]", _PREC["atom"]

    def e_DictComp(self, e, quote, indent):
        key = self.expr(e.key, 1, quote)
        return f"{{{key}: {self.expr(e.value, 0, quote)} {self.generators(e.generators, quote)}}}", _PREC["atom"]


_BREAKABLE = (m.Call, m.ListLit, m.TupleLit, m.SetLit, m.DictLit)
_RESERVED = {"if", "else", "for", "in", "while", "break", "continue", "return", "func", "import", "from", "as",
             "and", "or", "not", "is", "true", "false", "none", "True", "False", "None"}


def _last_line(node: m.Node) -> int:
    last = node.span.end_line or node.span.line
    for child in m.walk(node):
        span = getattr(child, "span", None)
        if span is not None:
            last = max(last, span.end_line or span.line)
    return last
