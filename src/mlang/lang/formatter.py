"""`m fmt`: M source in one canonical layout, keeping every comment.

Four-space indents, one statement per line, `{` at the end of the line that opens a block,
`} else {` together, spaces around binary operators and `=`, none around `=` of keyword
arguments, at most one blank line kept between statements, `true`/`false`/`none` for Python's
spellings.  Literals stay as written: `0xFF`, `1_000`, `1e-4`, each string and f-string with its
quotes, prefixes and escapes.  A line longer than 100 columns is wrapped: its outermost call or
collection gets one element per line with a trailing comma, then any element still too long the
same way; an operator chain (also an `if` or `while` condition) goes in parentheses, one operand a
line.  A byte order mark is dropped.

Comments on their own line stay before the statement that follows them (or before the `}` that
closes their block); a comment after code on a line stays at the end of that statement.

`format_source` checks its own work before it returns: the output must parse to the same tree
(positions aside), spell every literal as the source did, keep every comment, and format to
itself.  When it does not — a bug in the
formatter, or a program the canonical layout cannot express — it raises `MFormatError`, and
`m fmt` leaves the file as it was.
"""
from __future__ import annotations

from bisect import bisect_left
from collections import Counter

from mlang.lang import ast as m
from mlang.lang.builder import Block
from mlang.lang.diagnostics import MError, MFormatError, Span
from mlang.lang.lexer import Token, comments, end_position
from mlang.lang.parser import BOM, parse

__all__ = ["format_source"]

_WIDTH = 100
_INDENT = "    "
_PREC = m.PRECEDENCE
_LITERALS = frozenset({"NUMBER", "STRING", "FSTRING"})  # token kinds kept exactly as written
_REPORT = "the file is left unchanged; please report this as a bug in m fmt, with the file"


def format_source(source: str, filename: str = "<input>") -> str:
    """The canonical layout of `source`.

    Raises `MSyntaxError` if it does not parse, and `MFormatError` if the layout would not be
    the same program (see the module's docstring): nothing is ever formatted into a different
    or a broken program."""
    source = source.removeprefix(BOM)
    tokens = []
    module = parse(source, filename, tokens)
    formatter = _layout(module, source, filename, tokens)
    _verify(formatter, module, filename)
    return formatter.text


def _layout(module: m.Module, source: str, filename: str, tokens: list[Token]) -> _Formatter:
    """The formatter, having laid out `module` (its `text`) from its source and tokens."""
    formatter = _Formatter(source, _comments(source, filename), filename, _Ends(tokens, source))
    try:
        formatter.module(module)
    except RecursionError:
        raise MFormatError("the program is nested too deeply to format", Span(filename, 1, 1),
                           hint="the file is left unchanged") from None
    return formatter


def _verify(formatter: _Formatter, module: m.Module, filename: str) -> None:
    """Raise `MFormatError` unless the formatter's text is `module` again, with every comment of
    its source, and formats to itself."""
    formatted, origins = formatter.text, formatter.origins()

    def at(output_line: int) -> Span:
        index = min(max(output_line, 1), len(origins)) - 1
        return Span(filename, origins[index] if origins else 1, 1)

    tokens = []
    try:
        again = parse(formatted, filename, tokens)
    except MError as err:
        where = err.span.line if err.span else 1
        detail = err.diagnostics[0].message if err.diagnostics else str(err)
        raise MFormatError(f"m fmt would break this program: its output does not parse ({detail}, "
                           f"at line {where} of the output)", at(where), hint=_REPORT) from None
    difference = _difference(module.body, again.body)
    if difference is not None:
        node, what = difference
        span = node.span if node is not None and node.span is not None else Span(filename, 1, 1)
        raise MFormatError(f"m fmt would change what this program means: {what}",
                           Span(filename, span.line, span.column), hint=_REPORT)
    written = [(tok.value, tok.line) for tok in formatter.ends.tokens if tok.type in _LITERALS]
    rewritten = [tok.value for tok in tokens if tok.type in _LITERALS]
    for (text, line), other in zip(written, rewritten):
        if text != other:
            raise MFormatError(f"m fmt would rewrite the literal {_describe(text)} as {_describe(other)}",
                               Span(filename, line, 1), hint=_REPORT)
    if len(written) != len(rewritten):
        raise MFormatError("m fmt would change the literals of this program", Span(filename, 1, 1), hint=_REPORT)
    second = _layout(again, formatted, filename, tokens)
    if _comment_texts(formatter.comments) != _comment_texts(second.comments):
        raise MFormatError("m fmt would lose or change a comment of this program", Span(filename, 1, 1),
                           hint=_REPORT)
    second = second.text
    if second != formatted:
        first, other = formatted.split("\n"), second.split("\n")
        line = next((i for i, (a, b) in enumerate(zip(first, other)) if a != b), min(len(first), len(other))) + 1
        raise MFormatError(f"m fmt is not stable on this program: formatting its output again changes "
                           f"line {line} of the output", at(line), hint=_REPORT)


_POSITIONS = frozenset({"span", "base_span", "end", "filename", "source"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    """The fields of a node class that are not positions."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(name for name in cls.__dataclass_fields__ if name not in _POSITIONS)
    return names


def _difference(first, second) -> tuple[m.Node | None, str] | None:
    """The first place where two trees differ, positions aside: (the nearest node of `first`
    around it, what differs); None when they are the same.  Iterative: deep trees do not recurse."""
    stack = [(first, second, None)]
    while stack:
        a, b, owner = stack.pop()
        if type(a) is not type(b):
            return owner, f"{_describe(a)} would become {_describe(b)}"
        if isinstance(a, m.Node):
            stack.extend((getattr(a, name), getattr(b, name), a) for name in _fields(type(a)))
        elif isinstance(a, (list, tuple)):
            if len(a) != len(b):
                return owner, f"{len(a)} parts would become {len(b)}"
            stack.extend((x, y, owner) for x, y in zip(a, b))
        elif a != b and not (a != a and b != b):  # NaN equals NaN here
            return owner, f"{_describe(a)} would become {_describe(b)}"
    return None


def _describe(value) -> str:
    if isinstance(value, m.Node):
        return f"a {type(value).__name__}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"  # repr() refuses over 4,300 digits
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _comment_texts(found: list[tuple[int, str, bool]]) -> Counter:
    """Every comment's text, lines stripped (the layout re-indents block comments)."""
    return Counter(tuple(part.strip() for part in text.split("\n")) for _, text, _ in found)


def _comments(source: str, filename: str) -> list[tuple[int, str, bool]]:
    """(line, text, own_line) of every comment, from the same lexer the parser uses."""
    found = []
    lines = source.split("\n")  # lines as the lexer counts them: a form feed or U+2028 ends none
    for text, line, column in comments(source, filename):
        own_line = lines[line - 1][: column - 1].strip() == ""
        found.append((line, text, own_line))
    return found


class _Formatter:
    def __init__(self, source: str, comments, filename: str, ends: _Ends):
        self.source_lines = source.split("\n")
        self.ends = ends
        self.comments = comments  # sorted by line
        self.filename = filename
        self.next_comment = 0
        self.out: list[str] = []
        self.out_lines: list[int] = []  # for each entry of `out`, the source line it comes from
        self.current_line = 1
        self.shared_line = 0  # a line where another statement follows: its comment goes to the last one
        self.break_node = None  # the collection to lay out one element per line
        self.text = ""  # the result, once `module` has run
        self.opened_block = False  # whether the last line emitted opens a block

    def emit(self, text: str, line: int | None = None, opens_block: bool = False) -> None:
        self.out.append(text)
        self.out_lines.append(self.current_line if line is None else line)
        self.opened_block = opens_block  # no blank line right after a line that opens a block

    def origins(self) -> list[int]:
        """For each line of the output, the source line it comes from."""
        lines = []
        for text, line in zip(self.out, self.out_lines):
            lines.extend([line] * (text.count("\n") + 1))
        return lines

    # -- comments and blank lines
    def flush_comments(self, before_line: int, indent: str) -> None:
        """Emit the comments that start before `before_line` (each on its own line)."""
        while self.next_comment < len(self.comments) and self.comments[self.next_comment][0] < before_line:
            line, text, _ = self.comments[self.next_comment]
            if self.out and self._blank_before(line) and self.out[-1] != "" and not self.opened_block:
                self.emit("", line)
            self.comment(text, indent, line)
            self.next_comment += 1

    def comment(self, text: str, indent: str, line: int) -> None:
        """A comment on lines of its own; a block comment's later lines are re-indented."""
        for i, part in enumerate(text.split("\n")):  # only "\n" ends a line of a comment
            self.emit(indent + (part.strip() if i else part), line + i)

    def trailing_comment(self, line: int) -> str:
        """The comments that follow code on `line`, in order, as text to append to that line."""
        found = []
        while self.next_comment < len(self.comments) and line != self.shared_line:
            c_line, text, own_line = self.comments[self.next_comment]
            if c_line != line or own_line or "\n" in text:
                break
            self.next_comment += 1
            found.append("  " + text)
        return "".join(found)

    def _blank_before(self, line: int) -> bool:
        return line >= 2 and self.source_lines[line - 2].strip() == ""

    # -- statements
    def module(self, module: m.Module) -> str:
        self.body(module.body, "", end_line=len(self.source_lines) + 1)
        while self.out and self.out[-1] == "":
            self.out.pop()
            self.out_lines.pop()
        self.text = "\n".join(self.out) + "\n" if self.out else ""
        return self.text

    def body(self, stmts, indent: str, end_line: int) -> None:
        for i, s in enumerate(stmts):
            first = self.ends.first_line(s)
            self.flush_comments(first, indent)
            if self._blank_before(first) and self.out and self.out[-1] != "" and not self.opened_block:
                self.emit("", first)
            following = stmts[i + 1] if i + 1 < len(stmts) else None
            self.shared_line = self.ends.first_line(following) if following is not None else 0
            self.stmt(s, indent)
        self.flush_comments(end_line, indent)

    def block(self, block, indent: str) -> None:
        """The statements of a block (the caller wrote the opening line ending with `{`)."""
        end_line = block.end.line if isinstance(block, Block) else 10 ** 9
        self.body(block, indent + _INDENT, end_line)

    def line(self, indent: str, text: str, source_line: int) -> None:
        self.emit(indent + text + self.trailing_comment(source_line))

    def opening(self, indent: str, text: str, line: int, block) -> None:
        """A line that ends with a block's `{`: its comment is the one after code on `line` or,
        when the text before the `{` spans lines, the one after the `{`."""
        comment = self.trailing_comment(line)
        if not comment and isinstance(block, Block):
            comment = self.trailing_comment(block.span.line)
        self.emit(indent + text + comment, opens_block=True)

    def stmt(self, s: m.Stmt, indent: str) -> None:
        outer, self.current_line = self.current_line, s.span.line
        try:
            getattr(self, "stmt_" + type(s).__name__)(s, indent)
        finally:
            self.current_line = outer

    def simple(self, s, indent: str, text: str, value=None) -> None:
        if isinstance(value, m.Call) and value.block is not None:
            self.opening(indent, text + " {", s.span.line, value.block)
            self.block(value.block, indent)
            self.emit(indent + "}" + self.trailing_comment(value.block.end.line
                                                           if isinstance(value.block, Block) else 0))
            return
        last = self.ends.last_line(s)
        self.flush_inner_comments(self.ends.first_line(s), last, indent)
        self.emit(indent + text + self.trailing_comment(last))

    def flush_inner_comments(self, first: int, last: int, indent: str) -> None:
        """Comments inside a multi-line statement move before it (its expressions are re-laid out)."""
        if last <= first:
            return
        while self.next_comment < len(self.comments) and self.comments[self.next_comment][0] < last:
            line, text, _ = self.comments[self.next_comment]
            self.next_comment += 1
            self.comment(text, indent, line)

    def fitted(self, indent: str, render, value) -> str:
        """`render()`, again with `value` one element per line when the line is too long."""
        text = render()
        if (len(indent) + len(text.split("\n")[0]) > _WIDTH and isinstance(value, _BREAKABLE)
                and not (type(value) is m.BinOp and value.op == "**")):
            self.break_node = value
            try:
                text = render()
            finally:
                self.break_node = None
        return text

    def head(self, indent: str, keyword: str, test) -> str:
        """`if x` / `while x` / `} else if x`, its condition wrapped when the line is too long."""
        return self.fitted(indent, lambda: keyword + self.expr(test, indent=indent) + " {", test)[:-2]

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
        self.opening(indent, head + " {", line, block)
        self.block(block, indent)

    def close(self, indent: str, block) -> None:
        line = block.end.line if isinstance(block, Block) else 0
        self.emit(indent + "}" + self.trailing_comment(line))

    def stmt_If(self, s, indent, keyword="if"):
        self.compound(indent, self.head(indent, keyword + " ", s.test), s.body, s.span.line)
        orelse = s.orelse
        while orelse:
            end = s.body.end.line if isinstance(s.body, Block) else s.span.line
            if len(orelse) == 1 and isinstance(orelse[0], m.If) and not isinstance(orelse, Block):
                s = orelse[0]
                self.current_line = s.span.line
                self.opening(indent, self.head(indent, "} else if ", s.test) + " {", end, s.body)
                self.block(s.body, indent)
                orelse = s.orelse
            else:
                self.opening(indent, "} else {", end, orelse)
                self.block(orelse, indent)
                self.close(indent, orelse)
                return
        self.close(indent, s.body)

    def stmt_While(self, s, indent):
        self.compound(indent, self.head(indent, "while ", s.test), s.body, s.span.line)
        self.close(indent, s.body)

    def stmt_For(self, s, indent):
        # `for i in (x,) {`: without its parentheses the trailing comma would make `{` a dict.
        bare = not (isinstance(s.iter, m.TupleLit) and len(s.iter.elts) == 1)
        iterable = self.tuple_bare(s.iter, indent) if bare else self.expr(s.iter, indent=indent)
        head = f"for {self.tuple_bare(s.target, indent)} in {iterable}"
        self.compound(indent, head, s.body, s.span.line)
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
        self.emit(indent + head + " {" + self.trailing_comment(s.span.line), opens_block=True)
        inner = indent + _INDENT
        items = sorted([*s.fields, *s.layers, *([s.forward] if s.forward else [])],
                       key=lambda item: (item.span.line, item.span.column))
        for i, item in enumerate(items):
            first = self.ends.first_line(item)
            self.flush_comments(first, inner)
            if i and self._blank_before(first) and self.out[-1] != "":
                self.emit("", first)
            self.current_line = item.span.line
            if isinstance(item, m.FieldDecl):
                text = item.name
                if item.type is not None:
                    text += ": " + self.type(item.type)
                if item.default is not None:
                    text += " = " + self.expr(item.default, indent=inner)
                self.simple(item, inner, text)
            elif isinstance(item, m.LayerCall):
                self.simple(item, inner, self.expr(item.call, indent=inner))
            else:
                returns = f" -> {self.type(item.returns)}" if item.returns is not None else ""
                self.compound(inner, f"forward({self.params(item.params)}){returns}", item.body, item.span.line)
                self.close(inner, item.body)
        end = s.end.line if s.end else 10 ** 9
        self.flush_comments(end, inner)
        self.emit(indent + "}" + self.trailing_comment(end))

    def stmt_Import(self, s, indent):
        self.simple(s, indent, f"import {self.ends.after(s)}" + (f" as {s.alias}" if s.alias else ""))

    def stmt_FromImport(self, s, indent):
        names = ", ".join(n.name + (f" as {n.alias}" if n.alias else "") for n in s.names)
        self.simple(s, indent, f"from {self.ends.after(s)} import {names}")

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

    def expr(self, e, min_prec: int = 0, indent: str = "") -> str:
        text, prec = self.render(e, indent)
        return f"({text})" if prec < min_prec else text

    def render(self, e, indent):
        return getattr(self, "e_" + type(e).__name__)(e, indent)

    def e_Name(self, e, indent):
        return e.id, _PREC["atom"]

    def e_Constant(self, e, indent):
        value = e.value
        if value is True or value is False:
            return ("true" if value else "false"), _PREC["atom"]
        if value is None:
            return "none", _PREC["atom"]
        return self.ends.literal(e), _PREC["atom"]

    def e_FString(self, e, indent):
        return self.ends.literal(e), _PREC["atom"]

    def e_BinOp(self, e, indent):
        prec = _PREC[e.op]
        if e.op == "**":  # right-associative: a ** b ** c, walked down its right side
            lefts = []
            while type(e) is m.BinOp and e.op == "**":
                lefts.append(self.expr(e.left, _PREC["atom"]))
                e = e.right
            return " ** ".join([*lefts, self.expr(e, _PREC["unary"])]), prec
        # Left-associative: a + b - c is ((a + b) - c), walked down its left side, so a long
        # chain is a loop, not a recursion.
        node, rights = e, []
        while type(e) is m.BinOp and e.op != "**" and _PREC[e.op] == prec:
            rights.append((e.op, e.right))
            e = e.left
        if node is self.break_node:
            inner = indent + _INDENT
            parts = [self.expr(e, prec, inner)] + [f"{op} {self.expr(right, prec + 1, inner)}"
                                                    for op, right in reversed(rights)]
            return self.operator_lines(parts, indent), _PREC["atom"]
        text = self.expr(e, prec)
        for op, right in reversed(rights):
            text += f" {op} {self.expr(right, prec + 1)}"
        return text, prec

    def operator_lines(self, parts: list[str], indent: str) -> str:
        """An operator chain too long for its line: in parentheses, one operand a line, each
        after its operator (the parentheses change nothing in the program)."""
        inner = indent + _INDENT
        return "(\n" + "".join(f"{inner}{part}\n" for part in parts) + indent + ")"

    def e_UnaryOp(self, e, indent):
        prefix = []
        while type(e) is m.UnaryOp:  # `not not x`, `- -x`: a loop, not a recursion
            needed = _PREC["not"] if e.op == "not" else _PREC["unary"]
            prefix.append("not " if e.op == "not" else e.op)
            operand = e.operand
            if type(operand) is m.UnaryOp and (_PREC["not"] if operand.op == "not" else _PREC["unary"]) >= needed:
                e = operand
                continue
            prefix.append(self.expr(operand, needed))
            break
        return "".join(prefix), _PREC["not"] if prefix[0] == "not " else _PREC["unary"]

    def e_BoolOp(self, e, indent):
        prec = _PREC[e.op]
        if e is self.break_node:
            inner = indent + _INDENT
            parts = [self.expr(e.values[0], prec + 1, inner)] + [f"{e.op} {self.expr(v, prec + 1, inner)}"
                                                                  for v in e.values[1:]]
            return self.operator_lines(parts, indent), _PREC["atom"]
        return f" {e.op} ".join(self.expr(v, prec + 1) for v in e.values), prec

    def e_Compare(self, e, indent):
        parts = [self.expr(e.left, m.COMPARE + 1)]
        for op, right in zip(e.ops, e.comparators):
            parts.append(f"{op} {self.expr(right, m.COMPARE + 1)}")
        return " ".join(parts), m.COMPARE

    def e_IfExp(self, e, indent):
        parts = []
        while type(e) is m.IfExp:  # `a if x else b if y else c`: a loop, not a recursion
            parts.append(f"{self.expr(e.body, 1)} if {self.expr(e.test, 1)} else ")
            e = e.orelse
        parts.append(self.expr(e, 0))
        return "".join(parts), 0

    def e_Starred(self, e, indent):
        return "*" + self.expr(e.value, _PREC["atom"]), _PREC["atom"]

    def items(self, node, opening: str, parts: list[str], closing: str, indent: str, force_comma=False) -> str:
        flat = opening + ", ".join(parts) + ("," if force_comma else "") + closing
        if not parts or (node is not self.break_node and len(indent) + len(flat) <= _WIDTH):
            return flat
        inner = indent + _INDENT
        if len(parts) == 1 and len(inner) + len(parts[0].split("\n")[0]) >= _WIDTH:
            return flat  # one element on a line of its own, still too long (a long string): no help
        return opening + "\n" + "".join(f"{inner}{p},\n" for p in parts) + indent + closing

    def argument(self, prefix: str, value, inner: str) -> str:
        """One call argument on its own line; an operator chain too long even there is wrapped."""
        text = prefix + self.expr(value, 0, inner)
        if (len(inner) + len(text.split("\n")[0]) > _WIDTH and type(value) in (m.BinOp, m.BoolOp)
                and getattr(value, "op", None) != "**"):
            outer, self.break_node = self.break_node, value
            try:
                text = prefix + self.expr(value, 0, inner)
            finally:
                self.break_node = outer
        return text

    def postfix(self, e, indent):
        """A call, attribute or index and the calls, attributes and indexes it is made of
        (`x.f(a)[0].g()`), walked down in a loop: a long chain is not a deep recursion."""
        e, chain = m.postfix_chain(e)
        text = self.expr(e, _PREC["atom"])
        if isinstance(e, m.Constant) and type(e.value) in (int, float) and type(chain[-1]) is m.Attribute:
            text = f"({text})"  # `(1).real`: `1.real` would read as a number
        for node in reversed(chain):
            kind = type(node)
            if kind is m.Call:
                args = [self.argument("", a, indent + _INDENT) for a in node.args]
                for k in node.keywords:
                    if k.name is not None:
                        args.append(self.argument(f"{k.name}=", k.value, indent + _INDENT))
                    else:
                        args.append("**" + self.expr(k.value, _PREC["atom"]))
                text += self.items(node, "(", args, ")", indent)
            elif kind is m.Attribute:
                text += "." + node.attr
            else:
                text += f"[{self.subscript(node.index)}]"
        return text, _PREC["atom"]

    e_Call = e_Attribute = e_Index = postfix

    def subscript(self, e) -> str:
        if isinstance(e, m.TupleLit) and e.elts:
            text = ", ".join(self.subscript(x) for x in e.elts)
            return text + "," if len(e.elts) == 1 else text
        if isinstance(e, m.Slice):
            part = lambda x: self.expr(x, 1) if x is not None else ""  # noqa: E731
            text = f"{part(e.lower)}:{part(e.upper)}"
            return text + (f":{part(e.step)}" if e.step is not None else "")
        return self.expr(e, 0)

    def e_Slice(self, e, indent):
        return self.subscript(e), _PREC["atom"]

    def e_ListLit(self, e, indent):
        return self.items(e, "[", [self.expr(x, 0, indent + _INDENT) for x in e.elts], "]", indent), _PREC["atom"]

    def e_TupleLit(self, e, indent):
        parts = [self.expr(x, 0, indent + _INDENT) for x in e.elts]
        return self.items(e, "(", parts, ")", indent, force_comma=len(parts) == 1), _PREC["atom"]

    def e_SetLit(self, e, indent):
        return self.items(e, "{", [self.expr(x, 0, indent + _INDENT) for x in e.elts], "}", indent), _PREC["atom"]

    def dict_key(self, key) -> str:
        if isinstance(key, m.Constant) and self.ends.is_name(key):
            return key.value  # `{lr: 1}`: a bare name is its text
        if isinstance(key, m.Name):
            return f"({key.id})"
        return self.expr(key, 1)

    def e_DictLit(self, e, indent):
        parts = [f"{self.dict_key(k)}: {self.expr(v, 0, indent + _INDENT)}" for k, v in zip(e.keys, e.values)]
        return self.items(e, "{", parts, "}", indent), _PREC["atom"]

    def generators(self, gens) -> str:
        parts = []
        for g in gens:
            parts.append(f"for {self.tuple_bare(g.target)} in {self.expr(g.iter, 1)}")
            parts.extend(f"if {self.expr(c, 1)}" for c in g.ifs)
        return " ".join(parts)

    def e_ListComp(self, e, indent):
        return f"[{self.expr(e.elt, 0)} {self.generators(e.generators)}]", _PREC["atom"]

    def e_DictComp(self, e, indent):
        key = self.expr(e.key, 1)
        return f"{{{key}: {self.expr(e.value, 0)} {self.generators(e.generators)}}}", _PREC["atom"]


_BREAKABLE = (m.Call, m.ListLit, m.TupleLit, m.SetLit, m.DictLit, m.BinOp, m.BoolOp)


class _Ends:
    """Where each statement (or model item) of a source starts and ends: the lines of its first
    and last tokens.  Node spans start and end at inner nodes, inside the parentheses and
    brackets around them, while blank lines and comments belong where the tokens are."""

    def __init__(self, tokens: list[Token], source: str):
        self.tokens = tokens + [Token("$END", "", *(end_position(source) * 2))]
        self.starts = [tok.line << 24 | tok.column for tok in self.tokens]  # sorted: tokens are in order
        self.closes_block = set()  # indexes of the `}` tokens that close a block or a model body
        opened = []
        for i, tok in enumerate(self.tokens):
            kind = tok.type
            if kind == "(" or kind == "[" or kind == "DICT_LBRACE" or kind == "BLOCK_LBRACE":
                opened.append(kind)
            elif (kind == ")" or kind == "]" or kind == "}") and opened and opened.pop() == "BLOCK_LBRACE":
                self.closes_block.add(i)

    def _index(self, node: m.Node) -> int | None:
        """The index of the token where `node` starts."""
        key = node.span.line << 24 | node.span.column
        i = bisect_left(self.starts, key)
        return i if i < len(self.starts) and self.starts[i] == key else None

    def literal(self, node: m.Constant | m.FString) -> str:
        """The source text of a number, string or f-string literal: adjacent strings (`"a" "b"`,
        one value) are kept apart, one space between."""
        i = self._index(node)
        tokens = self.tokens
        if i is None or tokens[i].type not in _LITERALS:
            raise MFormatError("m fmt cannot find the text of this literal", node.span, hint=_REPORT)
        parts = [tokens[i].value]
        if tokens[i].type == "STRING":
            end = node.span.end_line << 24 | node.span.end_column
            while tokens[i + 1].type == "STRING" and self.starts[i + 1] < end:
                i += 1
                parts.append(tokens[i].value)
        return " ".join(parts)

    def after(self, node: m.Node) -> str:
        """The text of the token after the one `node` starts at (the path of an import)."""
        return self.tokens[self._index(node) + 1].value

    def is_name(self, node: m.Node) -> bool:
        """Whether `node` was written as a bare name (a dict key `{lr: 1}` is the string "lr")."""
        i = self._index(node)
        return i is not None and self.tokens[i].type == "NAME"

    def first_line(self, node: m.Node) -> int:
        """The line of the first token of a statement or model item: a node's span starts inside
        the parentheses around it (`(a, b)` starts at `a`)."""
        i = self._index(node)
        if i is None:
            return node.span.line
        while i and self.tokens[i - 1].type == "(":
            i -= 1
        return self.tokens[i].line

    def last_line(self, node: m.Node) -> int:
        i = self._index(node)
        if i is None:  # not where a token starts (never for a parsed node): its span then
            return node.span.end_line or node.span.line
        tokens, closes_block = self.tokens, self.closes_block
        while tokens[i + 1].type not in ("_SEP", "$END") and i + 1 not in closes_block:
            i += 1
        return tokens[i].end_line
