"""Builds AST nodes (`mlang.lang.ast`) from the pieces of each grammar rule of `grammar.lark`.

One method per rule, named after it, taking the rule's children in the grammar's order and in
the form Lark gives them (tokens named in the rule, sub-results, and None for an absent optional
part).  The recursive-descent parser (`descent.py`) calls it as it parses; the tests hand it
stock Lark's parse trees of the same texts (tests/lang/test_descent.py), so the tree and the
errors found while building it (a bad assignment target, parameter order, a bad escape) are
what the grammar says.
"""
from __future__ import annotations

import ast as pyast
import re
import sys
import weakref
from bisect import bisect_left

from mlang.lang import ast as m
from mlang.lang.diagnostics import MSyntaxError, Span
from mlang.lang.lexer import KEYWORDS, Token


def _start_of(item):
    if isinstance(item, (Token, Span)):
        return item.line, item.column
    if isinstance(item, list):
        return _start_of(item[0]) if item else None
    span = getattr(item, "span", None)
    return (span.line, span.column) if span is not None else None


def _end_of(item):
    if isinstance(item, Token):
        return item.end_line, item.end_column
    if isinstance(item, Span):
        return (item.end_line, item.end_column) if item.end_line else (item.line, item.column)
    if isinstance(item, list):
        return _end_of(item[-1]) if item else None
    span = getattr(item, "span", None)
    if span is None:
        return None
    return (span.end_line, span.end_column) if span.end_line else (span.line, span.column)


class Block(list):
    """The statements of a `{ ... }` block (a list), remembering where the block starts (`span`,
    the `{`) and where it ends (`end`, the `}`): the formatter keeps comments inside it."""

    span: Span
    end: Span


_PRECEDENCE, _COMPARE, _AND = m.PRECEDENCE, m.COMPARE, m.PRECEDENCE["and"]
_NOT_BINDS = m.PRECEDENCE["not"] + 1  # `not x == y` is `not (x == y)`: `not` takes comparisons and tighter


class _Prefixed:
    """An operand with prefix operators (`-x`, `not x`), grouped once the whole chain is known."""

    __slots__ = ("ops", "first", "operand")

    def __init__(self, ops, first, operand):
        self.ops, self.first, self.operand = ops, first, operand


class _Precedence:
    """Groups a flat `operand op operand ...` chain by Python's operator precedence."""

    def __init__(self, builder, items):
        self.builder, self.items, self.pos = builder, items, 0

    def parse(self):
        return self.expression(0)

    def expression(self, min_prec):
        return self.operators(self.operand(), min_prec)

    def operand(self):
        item = self.items[self.pos]
        self.pos += 1
        if isinstance(item, _Prefixed):
            return self.prefixed(item.ops, item)
        return item

    def prefixed(self, ops, item):
        inner = item.operand
        for op in reversed(ops):  # innermost first, in a loop: `- - - x` is a chain, not nesting
            if op == "not":
                inner = self.operators(inner, _NOT_BINDS)
            inner = m.UnaryOp(op, inner, self.builder._span(item.first, inner))
        return inner

    def operators(self, left, min_prec):
        items, span = self.items, self.builder._span
        while self.pos < len(items):
            op = items[self.pos]
            prec = _PRECEDENCE[op]
            if prec < min_prec:
                break
            self.pos += 1
            if prec == _COMPARE:
                ops, comparators = [op], [self.expression(_COMPARE + 1)]
                while self.pos < len(items) and _PRECEDENCE[items[self.pos]] == _COMPARE:
                    ops.append(items[self.pos])
                    self.pos += 1
                    comparators.append(self.expression(_COMPARE + 1))
                left = m.Compare(left, ops, comparators, span(left, comparators[-1]))
            elif prec <= _AND:
                right = self.expression(prec + 1)
                values = left.values + [right] if isinstance(left, m.BoolOp) and left.op == op else [left, right]
                left = m.BoolOp(op, values, span(left, right))
            else:
                right = self.expression(prec + 1)
                left = m.BinOp(left, op, right, span(left, right))
        return left


def _verbatim(text: str) -> bool:
    """Whether a string literal's value is its text between the quotes: no escapes, and none of the
    characters Python's own reading would change or refuse (ast.literal_eval costs 0.1 ms a string)."""
    return "\\" not in text and "\r" not in text and "\x00" not in text


def _describe_target(node: m.Expr) -> str:
    return {m.Call: "a call", m.Constant: "a literal", m.BinOp: "an operation", m.Compare: "a comparison",
            m.BoolOp: "an operation", m.UnaryOp: "an operation", m.DictLit: "a dict literal",
            m.ListComp: "a comprehension", m.FString: "a string"}.get(type(node), "this expression")


class Builder:
    """The AST node of each grammar rule, from its children."""

    def __init__(self):
        self.filename = "<input>"
        # Names written in parentheses: a dict key `(key)` is the name's value, `key` the text.
        self.parenthesized = weakref.WeakSet()

    # -- spans
    def _span(self, *items) -> Span:
        """From the start of the first item to the end of the last (items may be None)."""
        first, last = items[0], items[-1]
        # The common cases first: tokens and nodes (a third of parse time goes to spans).
        if type(first) is Token:
            line, column = first.line, first.column
        elif isinstance(first, m.Node):
            line, column = first.span.line, first.span.column
        else:
            return self._span_of_any(items)
        if type(last) is Token:
            return Span(self.filename, line, column, last.end_line, last.end_column)
        if isinstance(last, m.Node):
            end = last.span
            if end.end_line:
                return Span(self.filename, line, column, end.end_line, end.end_column)
            return Span(self.filename, line, column, end.line, end.column)
        return self._span_of_any(items)

    def _span_of_any(self, items) -> Span:
        start = end = None
        for item in items:
            if item is not None:
                start = _start_of(item)
                if start is not None:
                    break
        for item in reversed(items):
            if item is not None:
                end = _end_of(item)
                if end is not None:
                    break
        if start is None:
            return Span(self.filename, 1, 1)
        if end is None:
            return Span(self.filename, *start)
        return Span(self.filename, start[0], start[1], end[0], end[1])

    def _error(self, message: str, *items, hint: str | None = None):
        raise MSyntaxError(message, self._span(*items), hint=hint)

    # -- module and blocks
    def start(self, c):
        return [s for s in c if s is not None]

    def block(self, c):
        stmts = Block(s for s in c[1:-1] if s is not None)
        stmts.span, stmts.end = self._span(c[0]), self._span(c[-1])
        return stmts

    # -- statements
    def _attach_block(self, value, block):
        if block is None:
            return value
        if not isinstance(value, m.Call):
            self._error("a block `{ ... }` here must follow a call", block.span if block else value,
                        hint="write `name(args) { ... }`, or put `if`, `for` or `while` before the condition")
        if value.block is not None:
            self._error("this call already has a block", block.span)
        value.block = block
        return value

    def expr_stmt(self, c):
        value = self._attach_block(c[0], c[1])
        return m.ExprStmt(value, self._span(value))

    def _check_target(self, target, augmented=False):
        if isinstance(target, (m.Name, m.Attribute, m.Index)):
            return
        if not augmented and isinstance(target, (m.TupleLit, m.ListLit)) and target.elts:
            for elt in target.elts:
                self._check_target(elt)
            return
        what = _describe_target(target)
        self._error(f"cannot assign to {what}", target,
                    hint="assign to a name, an attribute (a.b), an index (a[i]) or a tuple of them")

    def assign_stmt(self, c):
        target, value, block = c
        self._check_target(target)
        value = self._attach_block(value, block)
        return m.Assign(target, value, self._span(target, value))

    def aug_stmt(self, c):
        target, op, value = c
        self._check_target(target, augmented=True)
        return m.AugAssign(target, op.value[:-1], value, self._span(target, value))

    def return_stmt(self, c):
        return m.Return(c[1], self._span(c[0], c[1]))

    def break_stmt(self, c):
        return m.Break(self._span(c[0]))

    def continue_stmt(self, c):
        return m.Continue(self._span(c[0]))

    def if_stmt(self, c):
        keyword, test, body, orelse = c
        return m.If(test, body, orelse or [], self._span(keyword, test))

    def else_clause(self, c):
        item = c[0]
        return [item] if isinstance(item, m.If) else item

    def while_stmt(self, c):
        return m.While(c[1], c[2], self._span(c[0], c[1]))

    def for_stmt(self, c):
        keyword, target, iterable, body = c
        return m.For(target, iterable, body, self._span(keyword, iterable))

    def target_list(self, c):
        items = [x for x in c if x is not None]
        for item in items:
            self._check_target(item)
        if len(items) == 1:
            return items[0]
        return m.TupleLit(items, self._span(items[0], items[-1]))

    # -- functions and models
    def func_decl(self, c):
        keyword, name, params, returns, body = c
        self._check_param_order(params or [])
        return m.FuncDecl(name.value, params or [], returns, body, self._span(keyword, name))

    def _check_param_order(self, params):
        seen_default = seen_var = seen_kwvar = False
        for p in params:
            if seen_kwvar:
                self._error("no parameter may follow `**" + _last_kwvar(params) + "`", p)
            if p.kind in ("var", "star"):
                if seen_var:
                    self._error("only one `*` parameter is allowed", p)
                seen_var = True
            elif p.kind == "kwvar":
                seen_kwvar = True
            elif p.default is not None:
                seen_default = True
            elif seen_default and not seen_var:
                self._error(f"parameter '{p.name}' needs a default value, since the one before it has one", p)

    def params(self, c):
        return [p for p in c if p is not None]

    def param(self, c):
        name, type_, default = c
        return m.Param(name.value, type_, default, self._span(name))

    def var_param(self, c):
        return m.Param(c[0].value, None, None, self._span(c[0]), kind="var")

    def keyword_only_marker(self, c):
        return m.Param("*", None, None, self._span(c[0]), kind="star")

    def kwvar_param(self, c):
        return m.Param(c[0].value, None, None, self._span(c[0]), kind="kwvar")

    def model_decl(self, c):
        keyword, name, extends, base, body = c
        if extends is not None and extends.value != "extends":
            self._error(f"expected 'extends' or '{{', found the name '{extends.value}'", extends)
        fields, layers, forward = [], [], None
        for item in body[1:-1]:
            if item is None:
                continue
            if isinstance(item, m.FieldDecl):
                fields.append(item)
            elif isinstance(item, m.LayerCall):
                layers.append(item)
            elif forward is not None:
                self._error(f"model '{name.value}' declares forward twice", item,
                            hint="a model has one forward(...) { } block")
            else:
                forward = item
        return m.ModelDecl(keyword.value, name.value, base.value if base else None, fields, layers,
                           forward, self._span(keyword, name), self._span(base) if base else None,
                           self.filename, self._span(body[-1]))

    def model_body(self, c):
        return c

    def field_decl(self, c):
        name, type_, default = c
        return m.FieldDecl(name.value, type_, default, self._span(name))

    def field_bind(self, c):
        name, value = c
        return m.FieldDecl(name.value, None, value, self._span(name))

    def forward_decl(self, c):
        keyword, params, returns, body = c
        self._check_param_order(params or [])
        return m.ForwardDecl(params or [], body, self._span(keyword), returns)

    def layer_call(self, c):
        call = c[0]
        if not isinstance(call, m.Call):
            self._error("expected a field (name: Type), a binding (name = value), a layer call "
                        "(Dense(10)) or forward(...) { } in a model body", call)
        if call.block is not None:
            self._error("a layer call takes no block", call)
        return m.LayerCall(call, call.span)

    # -- imports
    def import_stmt(self, c):
        keyword, path, alias = c
        return m.Import(self._string_value(path), alias.value if alias else None, self._span(keyword, path))

    def python_import(self, c):
        keyword, python, dotted, alias = c  # the lexer reports `import name` unless name is `python`
        return m.PythonImport(dotted, alias.value if alias else None, self._span(keyword, python))

    def dotted_name(self, c):
        return ".".join(t.value for t in c)

    def from_import(self, c):
        keyword, path, *names = c
        return m.FromImport(self._string_value(path), [n for n in names if n is not None],
                            self._span(keyword, path))

    def import_name(self, c):
        name, alias = c
        return m.ImportName(name.value, alias.value if alias else None, self._span(name))

    # -- types
    def type(self, c):
        name, *args = c
        return m.TypeName(name.value, [a for a in args if a is not None], self._span(name, *args))

    def type_dim(self, c):
        tok = c[0]
        value = self._number_value(tok)
        if not isinstance(value, int):
            self._error(f"a dimension must be a whole number, not {tok.value}", tok)
        return m.TypeDim(value, self._span(tok))

    def type_arrow(self, c):
        return m.TypeArrow(c[0], c[1], self._span(c[0], c[1]))

    # -- expressions
    def tuple_expr(self, c):
        items = [x for x in c if x is not None]
        return m.TupleLit(items, self._span(items[0], items[-1]))

    def ternary(self, c):
        body, _, test, orelse = c
        return m.IfExp(test, body, orelse, self._span(body, orelse))

    def chain(self, c):
        if len(c) == 1:
            return self._plain(c[0])
        return _Precedence(self, c).parse()

    def binop(self, c):
        return " ".join(t.value for t in c)

    def prefix_op(self, c):
        return c[0]

    def prefixed(self, c):
        return _Prefixed([t.value for t in c[:-1]], c[0], c[-1])

    def _plain(self, item):
        """An operand as an expression node (prefix operators applied)."""
        if isinstance(item, _Prefixed):
            node = item.operand
            for op in reversed(item.ops):
                node = m.UnaryOp(op, node, self._span(item.first, node))
            return node
        return item

    def pow_op(self, c):
        right = self._plain(c[1])
        return m.BinOp(c[0], "**", right, self._span(c[0], right))

    def call(self, c):
        func, arguments = c
        args, keywords = [], []
        for a in arguments or []:
            if isinstance(a, m.Keyword):
                keywords.append(a)
            elif keywords and not isinstance(a, m.Starred):
                self._error("a positional argument cannot follow a keyword argument", a)
            else:
                args.append(a)
        return m.Call(func, args, keywords, None, self._span(func, *(arguments or [])))

    def arguments(self, c):
        return [a for a in c if a is not None]

    def kwarg(self, c):
        return m.Keyword(c[0].value, c[1], self._span(c[0], c[1]))

    def star_arg(self, c):
        return m.Starred(c[0], self._span(c[0]))

    def kwstar_arg(self, c):
        return m.Keyword(None, c[0], self._span(c[0]))

    def index(self, c):
        value, subs = c
        index = subs[0] if len(subs) == 1 else m.TupleLit(subs, self._span(subs[0], subs[-1]))
        return m.Index(value, index, self._span(value, index))

    def subscripts(self, c):
        return [s for s in c if s is not None]

    def slice(self, c):
        lower, colon, upper, _, step = c
        return m.Slice(lower, upper, step, self._span(lower or colon, lower, colon, upper, step))

    def attr(self, c):
        return m.Attribute(c[0], c[1].value, self._span(c[0], c[1]))

    def name(self, c):
        return m.Name(c[0].value, self._span(c[0]))

    def _number_value(self, tok):
        text = tok.value.replace("_", "")
        try:
            if text[:2].lower() in ("0x", "0b"):
                return int(text, 0)
            if any(ch in text for ch in ".eE"):
                return float(text)
            return int(text)
        except ValueError:
            limit = sys.get_int_max_str_digits()
            if text.isdigit() and limit and len(text) > limit:
                self._error(f"this number has {len(text)} digits, more than Python reads in decimal ({limit})", tok,
                            hint="write it in hexadecimal (0x...) or compute it (10 ** 5000)")
            self._error(f"'{tok.value}' is not a valid number", tok)

    def number(self, c):
        return m.Constant(self._number_value(c[0]), self._span(c[0]))

    def _string_value(self, tok) -> str:
        text = tok.value
        if _verbatim(text):
            quotes = 3 if text[:3] in ('"""', "'''") else 1
            return text[quotes:-quotes]
        try:
            value = pyast.literal_eval(text)
        except (SyntaxError, ValueError):
            self._error("invalid escape sequence in this string", tok,
                        hint=r"escapes are \n \t \\ \" \' \xHH \uHHHH \N{NAME}")
        return value

    def string(self, c):
        return m.Constant("".join(self._string_value(t) for t in c), self._span(c[0], c[-1]))

    def fstring(self, c):
        return FStringParser(self, c[0]).parse()

    def true(self, c):
        return m.Constant(True, self._span(c[0]))

    def false(self, c):
        return m.Constant(False, self._span(c[0]))

    def none(self, c):
        return m.Constant(None, self._span(c[0]))

    def empty_tuple(self, c):
        return m.TupleLit([], self._span(c[0]))

    def paren(self, c):
        if isinstance(c[0], m.Name):
            self.parenthesized.add(c[0])
        return c[0]

    def list_lit(self, c):
        items = [x for x in c[1:] if x is not None]
        return m.ListLit(items, self._span(c[0], *items))

    def list_comp(self, c):
        return m.ListComp(c[1], c[2], self._span(c[0], c[1]))

    def comp_for(self, c):
        keyword, target, iterable, *rest = c
        rest = rest[0] if rest else None
        gens = [m.Comprehension(target, iterable, [], self._span(keyword, iterable))]
        for item in rest or []:
            if isinstance(item, tuple):
                gens[-1].ifs.append(item[1])
            else:
                gens.append(item)
        return gens

    def comp_if(self, c):
        _, cond, *rest = c
        rest = rest[0] if rest else None
        return [("if", cond)] + (rest or [])

    def empty_dict(self, c):
        return m.DictLit([], [], self._span(c[0]))

    def dict_item(self, c):
        key, value = c
        if isinstance(key, m.Name) and key not in self.parenthesized:
            key = m.Constant(key.id, key.span)
        return key, value

    def dict_lit(self, c):
        items = [x for x in c[1:] if x is not None]
        return m.DictLit([k for k, _ in items], [v for _, v in items], self._span(c[0]))

    def set_lit(self, c):
        items = [x for x in c[1:] if x is not None]
        return m.SetLit(items, self._span(c[0]))

    def dict_comp(self, c):
        return m.DictComp(c[1], c[2], c[3], self._span(c[0]))


def _last_kwvar(params) -> str:
    return next(p.name for p in params if p.kind == "kwvar")


_BRACE = re.compile(r"[{}]")
_PLAIN_NAME = re.compile(r"[^\W\d]\w*")
_FIELD_STOP = re.compile(r"""['"()\[\]{}:!]""")


class FStringParser:
    """Splits `f"a {x:.2f} b"` into literal and formatted parts, parsing each `{...}` as M.

    Linear in the length of the f-string: literal text is skipped to the next brace in C, and a
    position is found by bisecting the offsets of the token's newlines."""

    def __init__(self, builder: Builder, tok: Token):
        self.builder = builder
        self.tok = tok
        value = tok.value
        text = value[1:]
        self.quote_len = 3 if text[:3] in ('"""', "'''") else 1
        self.body = text[self.quote_len:-self.quote_len]
        self.body_offset = 1 + self.quote_len  # characters before the body in the token
        newlines = []
        at = value.find("\n")
        while at >= 0:
            newlines.append(at)
            at = value.find("\n", at + 1)
        self.newlines = newlines

    def _position(self, index: int) -> tuple[int, int]:
        offset = self.body_offset + index
        before = bisect_left(self.newlines, offset)  # newlines before body[index]
        if before:
            return self.tok.line + before, offset - self.newlines[before - 1]
        return self.tok.line, self.tok.column + offset

    def _literal(self, text: str, start: int) -> m.Constant:
        if _verbatim(text):
            line, col = self._position(start)
            return m.Constant(text, Span(self.builder.filename, line, col))
        quote = '"""' if "\n" in text or '"' in text else '"'
        body = text.replace('"""', '\\"\\"\\"')
        if body.endswith('"') and (len(body) - 1 - len(body[:-1].rstrip("\\"))) % 2 == 0:
            body = body[:-1] + '\\"'  # an unescaped quote just before the closing quotes
        try:
            value = pyast.literal_eval(quote + body + quote) if text else ""
        except (SyntaxError, ValueError) as err:
            raise MSyntaxError(f"invalid string literal: {err}", self.builder._span(self.tok)) from None
        line, col = self._position(start)
        return m.Constant(value, Span(self.builder.filename, line, col))

    def parse(self) -> m.FString:
        body, parts, i, literal_start, literal = self.body, [], 0, 0, []
        search = _BRACE.search
        while True:
            found = search(body, i)
            if found is None:
                literal.append(body[i:])
                break
            brace = found.start()
            literal.append(body[i:brace])
            ch = body[brace]
            if body[brace + 1: brace + 2] == ch:  # `{{` or `}}`: a literal brace
                literal.append(ch)
                i = brace + 2
            elif ch == "}":
                line, col = self._position(brace)
                raise MSyntaxError("single '}' in an f-string", Span(self.builder.filename, line, col),
                                   hint="write '}}' for a literal brace")
            else:
                text = "".join(literal)
                if text:
                    parts.append(self._literal(text, literal_start))
                literal = []
                i = literal_start = self._field(brace, parts)
        text = "".join(literal)
        if text:
            parts.append(self._literal(text, literal_start))
        return m.FString(parts, self.builder._span(self.tok))

    def _field_error(self, message: str, open_index: int):
        line, col = self._position(open_index)
        raise MSyntaxError(message, Span(self.builder.filename, line, col))

    def _field(self, open_index: int, parts: list) -> int:
        """Parse the `{expr[!c][:spec]}` starting at `open_index`; return the index after it."""
        body, depth, i, end = self.body, 0, open_index + 1, len(self.body)
        search = _FIELD_STOP.search
        while True:  # from one quote, bracket, `:` or `!` to the next
            found = search(body, i)
            if found is None:
                i = end
                break
            i = found.start()
            ch = body[i]
            if ch in "'\"":
                close = body.find(ch, i + 1)
                if close < 0:
                    i = end
                    break
                i = close
            elif ch in "([{":
                depth += 1
            elif ch in ")]}" and depth:
                depth -= 1
            elif depth == 0 and ch in "}:!" and not (ch == "!" and body[i + 1: i + 2] == "="):
                break
            i += 1
        if i >= end:
            self._field_error("expected '}' to close this f-string field", open_index)
        expr_text = body[open_index + 1: i]
        if not expr_text.strip():
            self._field_error("expected an expression inside '{ }' in this f-string", open_index)
        conversion = spec = None
        if body[i] == "!":
            conversion = body[i + 1: i + 2]
            if conversion not in ("r", "s", "a"):
                self._field_error("expected !r, !s or !a in this f-string field", open_index)
            i += 2
        if i < end and body[i] == ":":
            close = body.find("}", i)
            if close < 0:
                self._field_error("expected '}' to close this f-string field", open_index)
            spec, i = body[i + 1: close], close
        if i >= end or body[i] != "}":
            self._field_error("expected '}' to close this f-string field", open_index)
        at = self._position(open_index + 1)
        if _PLAIN_NAME.fullmatch(expr_text) and expr_text not in KEYWORDS:
            # The most common field, `{name}`, as the parser would build it.
            value = m.Name(expr_text, Span(self.builder.filename, at[0], at[1], at[0], at[1] + len(expr_text)))
        else:
            from mlang.lang.parser import parse_expression  # the parser module imports this one

            value = parse_expression(expr_text, self.builder.filename, at=at)
        parts.append(m.FormattedValue(value, conversion, spec, value.span))
        return i + 1
