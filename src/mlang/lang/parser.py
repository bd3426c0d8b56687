"""M source → AST (`mlang.lang.ast`), with Lark's LALR parser over `grammar.lark`.

`parse(source, filename)` returns a `Module` or raises `MSyntaxError` whose message says, in words,
what was expected where ("expected an expression, found ')'").
"""
from __future__ import annotations

import ast as pyast
import gc
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from lark import Lark, Transformer
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

from mlang.lang import ast as m
from mlang.lang.diagnostics import MSyntaxError, Span

__all__ = ["parse", "parse_expression"]

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# Tokens after which a `{` opens a block (`if x {`, `f(a) {`, `else {`); after anything else it
# opens a dict or set literal (`x = {`, `f({`, `[{`).
_ENDS_EXPRESSION = frozenset({"NAME", "NUMBER", "STRING", "FSTRING", "RPAR", "RSQB", "RBRACE",
                              "TRUE", "FALSE", "NONE", "TRUE_PY", "FALSE_PY", "NONE_PY", "ELSE"})
_STATEMENT_START = frozenset({None, "_SEP", "BLOCK_LBRACE"})
_OPENERS = {"LPAR": "paren", "LSQB": "paren"}
_CLOSERS = frozenset({"RPAR", "RSQB", "RBRACE"})


class Token:
    """A token: its terminal `type`, text `value` and 1-based start and end positions."""

    __slots__ = ("type", "value", "line", "column", "end_line", "end_column")

    def __init__(self, type_: str, value: str, line: int, column: int, end_line: int, end_column: int):
        self.type, self.value = type_, value
        self.line, self.column, self.end_line, self.end_column = line, column, end_line, end_column

    def retyped(self, type_: str, value: str | None = None) -> Token:
        return Token(type_, self.value if value is None else value, self.line, self.column, self.end_line,
                     self.end_column)

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


class _UnexpectedToken(Exception):
    def __init__(self, token: Token, expected: set[str]):
        super().__init__(token.type)
        self.token, self.expected = token, expected


class _LexError(Exception):
    def __init__(self, message: str, line: int, column: int, hint: str | None = None):
        super().__init__(message)
        self.line, self.column, self.hint = line, column, hint


class _Lexer(Lexer):
    """One master regular expression over the grammar's terminals (several times faster than Lark's
    general lexer); keywords are names looked up in a table.  Lark's LALR parser consumes the tokens.
    """

    __future_interface__ = 0
    _SKIP = ("WS", "CONTINUATION", "LINE_COMMENT", "BLOCK_COMMENT")

    def __init__(self, lexer_conf):
        regexps, self.keywords, operators = {}, {}, {}
        for term in lexer_conf.terminals:
            if term.pattern.type == "re":
                regexps[term.name] = term.pattern.to_regexp()
            elif re.fullmatch(r"[^\W\d]\w*", term.pattern.value):
                self.keywords[term.pattern.value] = term.name
            else:
                operators[term.pattern.value] = term.name
        operators["{"] = "LBRACE"  # the post-lexer decides: BLOCK_LBRACE or DICT_LBRACE
        operators[";"] = "SEMI"
        self.operators = operators
        ordered_ops = sorted(operators, key=len, reverse=True)
        # Alternatives are tried in order: the most frequent first, then longer before shorter
        # (f-strings before names, comments before `/`, numbers like `.5` before `.`, `+=` before `+`).
        parts = [
            ("FSTRING", regexps["FSTRING"]),
            ("NAME", regexps["NAME"]),
            ("WS", r"[\t \f]+"),
            ("_NL", r"(?:\r?\n[\t \f]*)+"),
            ("NUMBER", regexps["NUMBER"]),
            ("STRING", regexps["STRING"]),
            ("LINE_COMMENT", regexps["LINE_COMMENT"]),
            ("BLOCK_COMMENT", regexps["BLOCK_COMMENT"]),
            ("UNCLOSED_COMMENT", r"/\*"),
            ("CONTINUATION", r"\\[\t \f]*\r?\n"),
            ("AUGOP", regexps["AUGOP"]),
            ("OP", "|".join(re.escape(op) for op in ordered_ops)),
        ]
        # Blanks before a token are matched with it (a third fewer matches); the WS alternative
        # still takes blanks that no token follows (at the end of the text, before a bad character).
        self.pattern = re.compile(r"[\t \f]*(?:" + "|".join(f"(?P<{name}>{rx})" for name, rx in parts) + ")")

    def comments(self, text: str):
        """(kind, text, line, column) of each comment in `text` (for the formatter)."""
        for tok in self.lex(text, keep_comments=True):
            if tok.type in ("LINE_COMMENT", "BLOCK_COMMENT"):
                yield tok.type, tok.value, tok.line, tok.column

    def lex(self, text: str, keep_comments: bool = False):
        match, keywords, operators = self.pattern.match, self.keywords, self.operators
        skip = ("WS", "CONTINUATION") if keep_comments else self._SKIP
        pos, line, line_start, end = 0, 1, 0, len(text)
        while pos < end:
            found = match(text, pos)
            if found is None:
                char = text[pos]
                column = pos - line_start + 1
                if char in "\"'":
                    raise _LexError("this string is never closed", line, column,
                                    "close it with the same quote on the same line, or use triple quotes")
                raise _LexError(f"unexpected character {char!r}", line, column)
            kind = found.lastgroup
            value = found.group(kind)
            start = found.start(kind)
            newlines = value.count("\n") if kind in ("_NL", "STRING", "FSTRING", "BLOCK_COMMENT", "CONTINUATION",
                                                     "UNCLOSED_COMMENT") else 0
            if kind == "UNCLOSED_COMMENT":
                raise _LexError("this block comment is never closed", line, start - line_start + 1, "end it with */")
            if kind not in skip:
                if kind == "NAME":
                    kind = keywords.get(value, "NAME")
                elif kind == "OP":
                    kind = operators[value]
                column = start - line_start + 1
                if newlines:
                    end_line = line + newlines
                    end_column = len(value) - value.rfind("\n")
                else:
                    end_line, end_column = line, column + len(value)
                yield Token(kind, value, line, column, end_line, end_column)
            if newlines:
                line += newlines
                line_start = start + value.rfind("\n") + 1
            pos = found.end()


class _Layout:
    """Post-lexer: statement separators, what each `{` opens, and the soft keywords.

    Newlines inside `( )`, `[ ]` and dict/set literals are dropped; runs of newlines and `;`
    become one `_SEP`; a separator right after a block's `{`, before its `}`, before `else`, or at
    the start or end of the file is dropped.  `model`/`metamodel` followed by a name at the start of
    a statement is a declaration keyword; so is `forward(` at the start of a model-body statement.
    """

    def __init__(self):
        self.filename = "<input>"
        self.openers: list[Token] = []

    def process(self, stream):
        tokens = list(stream)
        stack: list[str] = []
        self.openers = openers = []  # the token that opened each entry of `stack` (for error hints)
        prev: str | None = None
        pending: Token | None = None
        model_header = False
        for i, tok in enumerate(tokens):
            kind = tok.type
            if kind == "_NL" or kind == "SEMI":
                if stack and stack[-1] in ("paren", "dict"):
                    if kind == "SEMI":
                        yield tok.retyped("_SEP", ";")
                    continue
                if pending is None or kind == "SEMI":
                    pending = tok
                continue
            if pending is not None:
                closes_block = kind == "RBRACE" and stack and stack[-1] in ("block", "model")
                if not (prev in _STATEMENT_START or closes_block or kind == "ELSE"):
                    yield pending.retyped("_SEP", "\n" if pending.type == "_NL" else ";")
                    prev = "_SEP"
                pending = None
            if kind == "NAME" and prev in _STATEMENT_START:
                following = tokens[i + 1].type if i + 1 < len(tokens) else None
                if tok.value in ("model", "metamodel") and following == "NAME":
                    tok = tok.retyped("MODEL_KW")
                    model_header = True
                elif tok.value == "forward" and following == "LPAR" and stack and stack[-1] == "model":
                    tok = tok.retyped("FORWARD_KW")
            elif kind == "IMPORT" and prev in _STATEMENT_START and i + 1 < len(tokens) and tokens[i + 1].type == "NAME" \
                    and tokens[i + 1].value != "python":
                nxt = tokens[i + 1]
                raise _LexError(f"expected a quoted file path or 'python' after import, found the name '{nxt.value}'",
                                nxt.line, nxt.column, f'write import "{nxt.value}.m" or import python {nxt.value}')
            elif kind == "LBRACE":
                openers.append(tok)
                if model_header:
                    stack.append("model")
                    tok = tok.retyped("BLOCK_LBRACE", "{")
                elif prev in _ENDS_EXPRESSION:
                    stack.append("block")
                    tok = tok.retyped("BLOCK_LBRACE", "{")
                else:
                    stack.append("dict")
                    tok = tok.retyped("DICT_LBRACE", "{")
                model_header = False
            elif kind in _OPENERS:
                stack.append("paren")
                openers.append(tok)
            elif kind in _CLOSERS and stack:
                stack.pop()
                openers.pop()
            prev = tok.type
            yield tok


def _token_span(tok: Token, filename: str) -> Span:
    return Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)


def _start_of(item):
    if type(item) is Token or isinstance(item, (Span, Token)):  # tokens first: the most frequent
        return item.line, item.column
    if isinstance(item, list):
        return _start_of(item[0]) if item else None
    span = getattr(item, "span", None)
    return (span.line, span.column) if span is not None else None


def _end_of(item):
    if type(item) is Token:
        return item.end_line, item.end_column
    if isinstance(item, Span):
        return (item.end_line, item.end_column) if item.end_line else (item.line, item.column)
    if isinstance(item, Token):
        return item.end_line, item.end_column
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


_PRECEDENCE = {"or": 1, "and": 2, "<": 4, ">": 4, "==": 4, ">=": 4, "<=": 4, "!=": 4, "in": 4, "not in": 4,
               "is": 4, "is not": 4, "|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10,
               "/": 10, "%": 10, "@": 10}
_NOT_BINDS = 4  # `not x == y` is `not (x == y)`: `not` takes comparisons and tighter operators


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
        inner = self.prefixed(ops[1:], item) if len(ops) > 1 else item.operand
        if ops[0] == "not":
            inner = self.operators(inner, _NOT_BINDS)
        return m.UnaryOp(ops[0], inner, self.builder._span(item.first, inner))

    def operators(self, left, min_prec):
        items, span = self.items, self.builder._span
        while self.pos < len(items):
            op = items[self.pos]
            prec = _PRECEDENCE[op]
            if prec < min_prec:
                break
            self.pos += 1
            if prec == 4:
                ops, comparators = [op], [self.expression(5)]
                while self.pos < len(items) and _PRECEDENCE[items[self.pos]] == 4:
                    ops.append(items[self.pos])
                    self.pos += 1
                    comparators.append(self.expression(5))
                left = m.Compare(left, ops, comparators, span(left, comparators[-1]))
            elif prec <= 2:
                right = self.expression(prec + 1)
                values = left.values + [right] if isinstance(left, m.BoolOp) and left.op == op else [left, right]
                left = m.BoolOp(op, values, span(left, right))
            else:
                right = self.expression(prec + 1)
                left = m.BinOp(left, op, right, span(left, right))
        return left



def _describe_target(node: m.Expr) -> str:
    return {m.Call: "a call", m.Constant: "a literal", m.BinOp: "an operation", m.Compare: "a comparison",
            m.BoolOp: "an operation", m.UnaryOp: "an operation", m.DictLit: "a dict literal",
            m.ListComp: "a comprehension", m.FString: "a string"}.get(type(node), "this expression")


class _Builder(Transformer):
    """Builds AST nodes bottom-up while the LALR parser reduces (no parse tree is built)."""

    def __init__(self):
        super().__init__()
        self.filename = "<input>"
        self.source = ""

    # -- spans
    def _span(self, *items) -> Span:
        """From the start of the first item to the end of the last (items may be None)."""
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
        return m.Param("*", None, None, self._span(*c) if c else Span(self.filename, 1, 1), kind="star")

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
        keyword, python, dotted, alias = c
        if python.value != "python":
            self._error(f"expected a quoted file path or 'python', found the name '{python.value}'", python,
                        hint='write import "file.m" or import python package.module')
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
            self._error(f"'{tok.value}' is not a valid number", tok)

    def number(self, c):
        return m.Constant(self._number_value(c[0]), self._span(c[0]))

    def _string_value(self, tok) -> str:
        text = tok.value
        try:
            value = pyast.literal_eval(text)
        except (SyntaxError, ValueError):
            self._error("invalid escape sequence in this string", tok,
                        hint=r"escapes are \n \t \\ \" \' \xHH \uHHHH \N{NAME}")
        return value

    def string(self, c):
        return m.Constant("".join(self._string_value(t) for t in c), self._span(c[0], c[-1]))

    def fstring(self, c):
        return _FStringParser(self, c[0]).parse()

    def true(self, c):
        return m.Constant(True, self._span(c[0]))

    def false(self, c):
        return m.Constant(False, self._span(c[0]))

    def none(self, c):
        return m.Constant(None, self._span(c[0]))

    def empty_tuple(self, c):
        return m.TupleLit([], self._span(c[0]))

    def paren(self, c):
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
        if isinstance(key, m.Name):
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


class _FStringParser:
    """Splits `f"a {x:.2f} b"` into literal and formatted parts, parsing each `{...}` as M."""

    def __init__(self, builder: _Builder, tok: Token):
        self.builder = builder
        self.tok = tok
        text = tok.value[1:]
        self.quote_len = 3 if text[:3] in ('"""', "'''") else 1
        self.body = text[self.quote_len:-self.quote_len]
        self.body_offset = 1 + self.quote_len  # characters before the body in the token

    def _position(self, index: int) -> tuple[int, int]:
        before = self.tok.value[: self.body_offset + index]
        newlines = before.count("\n")
        if newlines:
            return self.tok.line + newlines, len(before) - before.rfind("\n")
        return self.tok.line, self.tok.column + len(before)

    def _literal(self, text: str, start: int) -> m.Constant:
        quote = '"""' if "\n" in text or '"' in text else '"'
        try:
            value = pyast.literal_eval(quote + text.replace('"""', '\\"\\"\\"') + quote) if text else ""
        except (SyntaxError, ValueError) as err:
            raise MSyntaxError(f"invalid string literal: {err}", self.builder._span(self.tok)) from None
        line, col = self._position(start)
        return m.Constant(value, Span(self.builder.filename, line, col))

    def parse(self) -> m.FString:
        body, parts, i, literal_start, literal = self.body, [], 0, 0, []
        while i < len(body):
            ch = body[i]
            if ch in "{}" and body[i + 1: i + 2] == ch:
                literal.append(ch)
                i += 2
            elif ch == "}":
                line, col = self._position(i)
                raise MSyntaxError("single '}' in an f-string", Span(self.builder.filename, line, col),
                                   hint="write '}}' for a literal brace")
            elif ch == "{":
                if literal:
                    parts.append(self._literal("".join(literal), literal_start))
                    literal = []
                i = self._field(i, parts)
                literal_start = i
            else:
                literal.append(ch)
                i += 1
        if literal:
            parts.append(self._literal("".join(literal), literal_start))
        return m.FString(parts, self.builder._span(self.tok))

    def _field(self, open_index: int, parts: list) -> int:
        """Parse the `{expr[!c][:spec]}` starting at `open_index`; return the index after it."""
        body, depth, i = self.body, 0, open_index + 1
        quote = None
        while i < len(body):
            ch = body[i]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}" and depth:
                depth -= 1
            elif depth == 0 and ch in "}:!" and not (ch == "!" and body[i + 1: i + 2] == "="):
                break
            i += 1
        line, col = self._position(open_index)
        where = Span(self.builder.filename, line, col)
        if i >= len(body):
            raise MSyntaxError("expected '}' to close this f-string field", where)
        expr_text = body[open_index + 1: i]
        if not expr_text.strip():
            raise MSyntaxError("expected an expression inside '{ }' in this f-string", where)
        conversion = spec = None
        if body[i] == "!":
            conversion = body[i + 1: i + 2]
            if conversion not in ("r", "s", "a"):
                raise MSyntaxError("expected !r, !s or !a in this f-string field", where)
            i += 2
        if i < len(body) and body[i] == ":":
            end = body.find("}", i)
            if end < 0:
                raise MSyntaxError("expected '}' to close this f-string field", where)
            spec, i = body[i + 1: end], end
        if i >= len(body) or body[i] != "}":
            raise MSyntaxError("expected '}' to close this f-string field", where)
        eline, ecol = self._position(open_index + 1)
        padded = "\n" * (eline - 1) + " " * (ecol - 1) + expr_text
        value = parse_expression(padded, self.builder.filename)
        parts.append(m.FormattedValue(value, conversion, spec, value.span))
        return i + 1


# ---------------------------------------------------------------------------- error messages

_TOKEN_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "FSTRING": "a string",
    "_SEP": "a new line or ';'", "BLOCK_LBRACE": "'{'", "DICT_LBRACE": "'{'", "RBRACE": "'}'",
    "MODEL_KW": "'model'", "FORWARD_KW": "'forward'", "$END": "the end of the file",
    "AUGOP": "an assignment operator", "TRUE": "'true'", "FALSE": "'false'", "NONE": "'none'",
}
_EXPRESSION_START = frozenset({"NAME", "NUMBER", "STRING", "FSTRING", "TRUE", "FALSE", "NONE", "TRUE_PY",
                               "FALSE_PY", "NONE_PY", "LPAR",
                               "LSQB", "DICT_LBRACE", "MINUS", "PLUS", "TILDE", "NOT"})
_STATEMENT_KEYWORDS = frozenset({"RETURN", "BREAK", "CONTINUE", "IF", "WHILE", "FOR", "FUNC", "IMPORT", "FROM",
                                 "MODEL_KW"})
_OPERATOR_TEXTS = frozenset("+ - * / % @ ** | ^ & << >> < > == != <= >= and or in not is if . ( [".split())



def _table_cache(grammar: str) -> str | bool:
    """A private file for Lark's parse tables (saves ~0.15 s a start), or False for no cache.

    Lark's own default lives in the shared temp folder and is unpickled when read, so anyone who
    can write there could plant code; ours sits in a folder only this user can write.
    """
    import hashlib
    import os

    import lark

    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlang"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o022:
            return False
    except OSError:
        return False
    key = hashlib.sha256(f"{lark.__version__}\n{grammar}".encode()).hexdigest()[:32]
    return str(folder / f"grammar-{key}.lark-tables")


class _Parser:
    def __init__(self):
        self.layout = _Layout()
        self.builder = _Builder()
        grammar = _GRAMMAR.read_text(encoding="utf-8")
        self.lark = Lark(grammar, parser="lalr", lexer=_Lexer, transformer=self.builder,
                         start=["start", "test"], maybe_placeholders=True,
                         cache=_table_cache(grammar))
        self.lock = threading.RLock()
        self.lexer = _Lexer(self.lark.lexer_conf)
        self._build_tables()

    def words(self, name: str) -> str:
        if name in _TOKEN_WORDS:
            return _TOKEN_WORDS[name]
        try:
            pattern = self.lark.get_terminal(name).pattern
        except KeyError:
            return name.lower()
        if pattern.type == "str":
            return f"'{pattern.value}'"
        return name.lower()

    def expected_words(self, expected: set[str]) -> str:
        expected = set(expected)
        phrases = []
        if {"NAME", "NUMBER", "STRING", "RETURN", "IF"} <= expected:
            phrases.append("a statement")
            expected -= _EXPRESSION_START | _STATEMENT_KEYWORDS
        elif {"NAME", "NUMBER", "STRING"} <= expected:
            phrases.append("an expression")
            expected -= _EXPRESSION_START
        operators = {name for name in expected if self.words(name).strip("'") in _OPERATOR_TEXTS}
        if len(operators) > 3:
            # After a complete expression nearly any operator may follow: name what ends it instead.
            expected -= operators
            if "_SEP" in expected:
                phrases.append("a new line or ';'")
                expected -= {"_SEP", "$END", "AUGOP", "EQUAL", "COMMA", "BLOCK_LBRACE"}
            phrases.append("an operator")
        for name in sorted(expected, key=lambda n: (n.startswith("__"), n)):
            words = self.words(name)
            if words not in phrases:
                phrases.append(words)
        if len(phrases) > 5:
            phrases = phrases[:5] + ["..."]
        if not phrases:
            return "something else"
        if len(phrases) == 1:
            return phrases[0]
        return ", ".join(phrases[:-1]) + " or " + phrases[-1]

    def found_words(self, tok: Token) -> str:
        if tok.type == "$END":
            return "the end of the file"
        if tok.type == "_SEP":
            return "the end of the line" if tok.value == "\n" else "';'"
        if tok.type == "NAME":
            return f"the name '{tok.value}'"
        if tok.type == "NUMBER":
            return f"the number {tok.value}"
        if tok.type in ("STRING", "FSTRING"):
            return "a string"
        return f"'{tok.value}'"

    def _build_tables(self):
        """Lark's LALR table, re-keyed for a tight driver loop (no per-reduction rule hashing)."""
        inner = self.lark.parser.parser.parser
        table, callbacks = inner.parse_table, inner.callbacks
        rules = {}
        self.actions = {}
        for state, actions in table.states.items():
            row = {}
            for symbol, (action, arg) in actions.items():
                if action is Shift:
                    row[symbol] = (True, arg)
                else:
                    if arg not in rules:
                        rules[arg] = (len(arg.expansion), None if _passes_child_through(arg) else callbacks[arg],
                                      arg.origin.name)
                    row[symbol] = (False, rules[arg])
            self.actions[state] = row
        self.start_states, self.end_states = table.start_states, table.end_states
        self.end_state_set = frozenset(self.end_states.values())
        self.unit_chains: dict[tuple, int] = {}

    def _drive(self, source: str, start: str):
        """The LALR loop: shift tokens, reduce with the builder's callbacks."""
        actions = self.actions
        states, values = [self.start_states[start]], []
        tokens = self.layout.process(self.lexer.lex(source))
        end_token = None
        while True:
            tok = next(tokens, None)
            if tok is None:
                end_token = tok = Token("$END", "", *(_end_position(source) * 2))
            kind = tok.type
            while True:
                act = actions[states[-1]].get(kind)
                if act is None:
                    raise _UnexpectedToken(tok, self._accepted(states))
                shift, arg = act
                if shift:
                    states.append(arg)
                    values.append(tok)
                    break
                size, callback, origin = arg
                if callback is None:  # `?a: b`: the value stays, only the state changes
                    states[-1] = self._unit_chain(states[-2], origin, kind)
                else:
                    if size:
                        children = values[-size:]
                        del values[-size:]
                        del states[-size:]
                        values.append(callback(children))
                    else:
                        values.append(callback([]))
                    states.append(actions[states[-1]][origin][1])
                if end_token is not None and states[-1] == self.end_states[start]:
                    return values[-1]

    def _unit_chain(self, below: int, origin: str, kind: str) -> int:
        """The state after reducing to `origin` above state `below` and then every further
        `?a: b` reduction that lookahead `kind` asks for.  Such reductions keep `below` in place,
        so the result depends on these three only: computed once, a third of all reductions
        (expression precedence levels) then cost one dict lookup together."""
        key = (below, origin, kind)
        state = self.unit_chains.get(key)
        if state is None:
            actions, ends = self.actions, self.end_state_set
            state = actions[below][origin][1]
            while state not in ends:
                act = actions[state].get(kind)
                if act is None or act[0] or act[1][1] is not None:
                    break
                state = actions[below][act[1][2]][1]
            self.unit_chains[key] = state
        return state

    def _accepted(self, states: list) -> set[str]:
        """The terminals the parser would really shift next (LALR's lookahead sets are wider)."""
        accepted = set()
        for terminal in self.actions[states[-1]]:
            if not (terminal.isupper() or terminal == "$END"):
                continue
            stack = list(states)
            while True:
                act = self.actions[stack[-1]].get(terminal)
                if act is None:
                    break
                shift, arg = act
                if shift:
                    accepted.add(terminal)
                    break
                size, _, origin = arg
                if size:
                    del stack[-size:]
                stack.append(self.actions[stack[-1]][origin][1])
                if terminal == "$END" and stack[-1] in self.end_states.values():
                    accepted.add(terminal)
                    break
        return accepted or {k for k in self.actions[states[-1]] if k.isupper()}

    def parse(self, source: str, filename: str, start: str):
        with self.lock, gc_paused():
            # An f-string field is parsed while its file is being parsed: keep the outer state.
            outer = (self.layout.openers, self.layout.filename, self.builder.filename)
            self.layout.openers = []
            self.layout.filename = self.builder.filename = filename
            try:
                return self._drive(source, start)
            except _UnexpectedToken as err:
                raise self.syntax_error(err, source, filename) from None
            except _LexError as err:
                raise MSyntaxError(str(err), Span(filename, err.line, err.column), hint=err.hint) from None
            finally:
                self.layout.openers, self.layout.filename, self.builder.filename = outer

    def syntax_error(self, err: _UnexpectedToken, source: str, filename: str) -> MSyntaxError:
        tok = err.token
        if tok.type == "$END":
            line, column = _end_position(source)
            span = Span(filename, line, column)
        else:
            span = _token_span(tok, filename)
        hint = None
        unclosed = [t for t in self.layout.openers if t.type in ("LPAR", "LSQB", "DICT_LBRACE")]
        if unclosed and unclosed[-1].line < (tok.line if tok.type != "$END" else span.line):
            hint = f"the '{unclosed[-1].value}' on line {unclosed[-1].line} is never closed"
        return MSyntaxError(f"expected {self.expected_words(err.expected)}, found {self.found_words(tok)}", span,
                            hint=hint)


def _passes_child_through(rule) -> bool:
    """A `?rule: other_rule` expansion: Lark's callback would return its one child unchanged."""
    return (rule.options.expand1 and len(rule.expansion) == 1 and not rule.expansion[0].is_term
            and rule.alias is None and not rule.options.empty_indices)


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


def _end_position(source: str) -> tuple[int, int]:
    stripped = source.rstrip()
    line = stripped.count("\n") + 1
    return line, len(stripped) - (stripped.rfind("\n") + 1) + 1


_parser: _Parser | None = None


def _get_parser() -> _Parser:
    global _parser
    if _parser is None:
        _parser = _Parser()
    return _parser


def parse(source: str, filename: str = "<input>") -> m.Module:
    """Parse M source into a `Module`; raises `MSyntaxError` on the first syntax error."""
    try:
        body = _get_parser().parse(source, filename, "start")
    except RecursionError:
        raise MSyntaxError("the program is nested too deeply to parse", Span(filename, 1, 1)) from None
    return m.Module(body, filename, source, Span(filename, 1, 1))


def parse_expression(source: str, filename: str = "<input>") -> m.Expr:
    """Parse one M expression (used for f-string fields and by tools)."""
    return _get_parser().parse(source, filename, "test")
