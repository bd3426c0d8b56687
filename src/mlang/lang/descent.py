"""M's parser: recursive descent over the tokens of `lexer.tokenize`, one method per rule of
`grammar.lark` (the specification), in the grammar's order.

Each method hands the rule's children to `Builder` in the order and form Lark's parser gives
them, so the tree is the one stock Lark builds from the grammar (tests/lang/test_descent.py
parses every program of the repository and thousands of generated ones both ways and compares).

Syntax errors are worded from what the parser expected where it stopped, as rustc and CPython
do: at the first token it cannot take, the text is parsed again up to that token with a probe in
its place, which notes every token kind the parser compares it with ("expected an operator,
',' or ')', found the name 'z'").  The second run costs nothing while a program is valid.  Hints
name the Python habits that lead there: `def`, `elif`, `if x:` blocks, `//` as an operator.
"""
from __future__ import annotations

from mlang.lang.builder import Builder
from mlang.lang.diagnostics import MSyntaxError, Span
from mlang.lang.lexer import Token, comments

__all__ = ["NoParse", "DescentParser"]

# Kinds of the tokens that can start an expression (`test`), in the order errors name them.
_TEST_START = ("NAME", "NUMBER", "STRING", "FSTRING", "true", "false", "none", "True", "False", "None",
               "(", "[", "DICT_LBRACE", "-", "+", "~", "not")
_PREFIX = ("not", "-", "+", "~")
_BINOPS = ("or", "and", "<", ">", "==", ">=", "<=", "!=", "in", "not", "is", "|", "^", "&", "<<", ">>",
           "+", "-", "*", "/", "%", "@")
_SIMPLE_ATOMS = {"NAME": "name", "NUMBER": "number", "FSTRING": "fstring", "true": "true", "True": "true",
                 "false": "false", "False": "false", "none": "none", "None": "none"}
_STATEMENT_END = ("_SEP", "}", "$END")
_KIND_ORDER = {"test_start": _TEST_START, "prefix": _PREFIX, "binops": _BINOPS, "statement_end": _STATEMENT_END}
_KIND_SETS = {name: frozenset(kinds) for name, kinds in _KIND_ORDER.items()}


class NoParse(Exception):
    """The text is not in the grammar: the parser stopped at token `self.pos`."""


class _Probe(str):
    """The kind of the token where the first run stopped, in the run that words the error: it is
    no kind, and it notes each kind the parser compares it with (in `seen`, an ordered set)."""

    seen: dict

    def __eq__(self, other):
        self.seen[other] = None
        return False

    def __ne__(self, other):
        self.seen[other] = None
        return True

    __hash__ = str.__hash__


class _Noting(dict):
    """A set (or table) of kinds the parser looks a token's kind up in.  Looking the probe up
    notes every kind the table holds, in order, and finds nothing."""

    def __init__(self, kinds, seen: dict):
        super().__init__(kinds if isinstance(kinds, dict) else dict.fromkeys(kinds))
        self.seen = seen

    def __contains__(self, kind):
        if type(kind) is _Probe:
            self.seen.update(dict.fromkeys(self))
            return False
        return dict.__contains__(self, kind)

    def get(self, kind, default=None):
        if type(kind) is _Probe:
            self.seen.update(dict.fromkeys(self))
            return default
        return dict.get(self, kind, default)


class DescentParser:
    """Parses one token list (from `lexer.tokenize`, ending with a `$END` token): `parse(start)`
    returns the tree of rule `start` ("start": a module, "test": an expression) or raises
    `NoParse`, after which `syntax_error` words the error."""

    def __init__(self, tokens: list[Token], builder: Builder, seen: dict | None = None):
        self.tokens = tokens
        self.pos = 0
        self.b = builder
        tables = {"simple_atoms": {kind: getattr(builder, rule) for kind, rule in _SIMPLE_ATOMS.items()},
                  "statements": _STATEMENTS, **_KIND_SETS}
        for name, kinds in tables.items():  # attributes, so that the run wording an error notes lookups
            setattr(self, name, kinds if seen is None else _Noting(_KIND_ORDER.get(name, kinds), seen))

    def parse(self, start: str = "start"):
        return self.module() if start == "start" else self.expression()

    # -- tokens
    def kind(self) -> str:
        return self.tokens[self.pos].type

    def peek(self) -> str:
        """The kind of the token after the current one (never past `$END`: only called before it)."""
        return self.tokens[self.pos + 1].type

    def take(self, kind: str) -> Token:
        tok = self.tokens[self.pos]
        if tok.type != kind:
            raise NoParse
        self.pos += 1
        return tok

    def accept(self, kind: str) -> Token | None:
        tok = self.tokens[self.pos]
        if tok.type != kind:
            return None
        self.pos += 1
        return tok

    def comma_list(self, first, item, end: str) -> list:
        """`first` and the items after it in `item ("," item)* [","]`, which `end` ends after a
        trailing comma (`end` is not taken)."""
        items = [first]
        while self.accept(","):
            if self.tokens[self.pos].type == end:
                break
            items.append(item())
        return items

    # -- entry points
    def module(self) -> list:
        stmts = []
        if self.kind() != "$END":
            stmts.append(self.stmt())
            while self.accept("_SEP"):
                stmts.append(self.stmt())
        self.take("$END")
        return self.b.start(stmts)

    def expression(self):
        value = self.test()
        self.take("$END")
        return value

    # -- statements
    def stmt(self):
        kind = self.kind()
        method = self.statements.get(kind)
        if method is not None:
            return method(self)
        return self.simple_stmt()

    def block(self):
        opening = self.take("BLOCK_LBRACE")
        children = [opening]
        if self.kind() != "}":
            children.append(self.stmt())
            while self.accept("_SEP"):
                children.append(self.stmt())
        children.append(self.take("}"))
        return self.b.block(children)

    def optional_block(self):
        return self.block() if self.kind() == "BLOCK_LBRACE" else None

    def simple_stmt(self):
        target = self.testlist()
        kind = self.kind()
        if kind == "=":
            self.pos += 1
            value = self.testlist()
            return self.b.assign_stmt([target, value, self.optional_block()])
        if kind == "AUGOP":
            op = self.take("AUGOP")
            return self.b.aug_stmt([target, op, self.testlist()])
        return self.b.expr_stmt([target, self.optional_block()])

    def return_stmt(self):
        keyword = self.take("return")
        value = None if self.kind() in self.statement_end else self.testlist()
        return self.b.return_stmt([keyword, value])

    def break_stmt(self):
        return self.b.break_stmt([self.take("break")])

    def continue_stmt(self):
        return self.b.continue_stmt([self.take("continue")])

    def if_stmt(self):
        # An `else if` chain is read in a loop (its length is not nesting), then built innermost first.
        heads, orelse = [], None
        while True:
            keyword = self.take("if")
            test = self.test()
            heads.append((keyword, test, self.block()))
            if not self.accept("else"):
                break
            if self.kind() == "BLOCK_LBRACE":
                orelse = self.b.else_clause([self.block()])
                break
        node = None
        for keyword, test, body in reversed(heads):
            if node is not None:
                orelse = self.b.else_clause([node])
            node = self.b.if_stmt([keyword, test, body, orelse])
        return node

    def while_stmt(self):
        keyword = self.take("while")
        test = self.test()
        return self.b.while_stmt([keyword, test, self.block()])

    def for_stmt(self):
        keyword = self.take("for")
        target = self.target_list()
        self.take("in")
        iterable = self.testlist()
        return self.b.for_stmt([keyword, target, iterable, self.block()])

    def target_list(self):
        return self.b.target_list(self.comma_list(self.postfix(), self.postfix, "in"))

    # -- functions and models
    def func_decl(self):
        keyword = self.take("func")
        name = self.take("NAME")
        params, returns = self.signature()
        return self.b.func_decl([keyword, name, params, returns, self.block()])

    def signature(self):
        """`( [params] ) [-> type]` of a function or a forward block."""
        self.take("(")
        params = None if self.kind() == ")" else self.params()
        self.take(")")
        returns = self.type() if self.accept("->") else None
        return params, returns

    def params(self):
        return self.b.params(self.comma_list(self.param(), self.param, ")"))

    def param(self):
        star = self.accept("*")
        if star is not None:
            name = self.accept("NAME")
            return self.b.var_param([name]) if name else self.b.keyword_only_marker([star])
        if self.accept("**"):
            return self.b.kwvar_param([self.take("NAME")])
        name = self.take("NAME")
        type_ = self.type() if self.accept(":") else None
        default = self.test() if self.accept("=") else None
        return self.b.param([name, type_, default])

    def model_decl(self):
        keyword = self.take("MODEL_KW")
        name = self.take("NAME")
        extends = base = None
        if self.kind() != "BLOCK_LBRACE":
            extends = self.take("NAME")
            base = self.take("NAME")
        return self.b.model_decl([keyword, name, extends, base, self.model_body()])

    def model_body(self):
        children = [self.take("BLOCK_LBRACE")]
        if self.kind() != "}":
            children.append(self.model_item())
            while self.accept("_SEP"):
                children.append(self.model_item())
        children.append(self.take("}"))
        return self.b.model_body(children)

    def model_item(self):
        kind = self.kind()
        if kind == "FORWARD_KW":
            keyword = self.take("FORWARD_KW")
            params, returns = self.signature()
            return self.b.forward_decl([keyword, params, returns, self.block()])
        if kind == "NAME":
            following = self.peek()
            if following == ":":
                name = self.take("NAME")
                self.pos += 1
                type_ = self.type()
                default = self.test() if self.accept("=") else None
                return self.b.field_decl([name, type_, default])
            if following == "=":
                name = self.take("NAME")
                self.pos += 1
                return self.b.field_bind([name, self.test()])
        return self.b.layer_call([self.test()])

    # -- imports
    def import_stmt(self):
        keyword = self.take("import")
        if self.kind() == "STRING":
            path = self.take("STRING")
            return self.b.import_stmt([keyword, path, self.alias()])
        python = self.take("NAME")
        names = [self.take("NAME")]
        while self.accept("."):
            names.append(self.take("NAME"))
        return self.b.python_import([keyword, python, self.b.dotted_name(names), self.alias()])

    def alias(self):
        return self.take("NAME") if self.accept("as") else None

    def from_import(self):
        keyword = self.take("from")
        path = self.take("STRING")
        self.take("import")
        children = [keyword, path, self.import_name()]
        while self.accept(","):
            if self.kind() != "NAME":
                break
            children.append(self.import_name())
        return self.b.from_import(children)

    def import_name(self):
        name = self.take("NAME")
        return self.b.import_name([name, self.alias()])

    # -- types
    def type(self):
        name = self.take("NAME")
        children = [name]
        if self.accept("["):
            children += self.comma_list(self.type_arg(), self.type_arg, "]")
            self.take("]")
        return self.b.type(children)

    def type_arg(self):
        if self.kind() == "NUMBER":
            return self.b.type_dim([self.take("NUMBER")])
        first = self.type()
        if self.accept("->"):
            return self.b.type_arrow([first, self.type()])
        return first

    # -- expressions
    def testlist(self):
        first = self.test()
        if self.kind() != ",":
            return first
        items = [first]
        while self.accept(","):
            if self.kind() not in self.test_start:
                break
            items.append(self.test())
        return self.b.tuple_expr(items)

    # The expression rules below run once per operand: they read `self.tokens[self.pos]` directly.
    def test(self):
        body = self.chain()
        if self.tokens[self.pos].type != "if":
            return body
        # `a if x else b if y else c`: read in a loop, built innermost first.
        parts = []
        while self.tokens[self.pos].type == "if":
            keyword = self.take("if")
            test = self.chain()
            self.take("else")
            parts.append((body, keyword, test))
            body = self.chain()
        for outer, keyword, test in reversed(parts):
            body = self.b.ternary([outer, keyword, test, body])
        return body

    def chain(self):
        items = [self.operand()]
        while self.tokens[self.pos].type in self.binops:
            items.append(self.binop())
            items.append(self.operand())
        return self.b.chain(items)

    def binop(self) -> str:
        tok = self.tokens[self.pos]
        self.pos += 1
        if tok.type == "not":
            return self.b.binop([tok, self.take("in")])
        if tok.type == "is" and self.kind() == "not":
            return self.b.binop([tok, self.take("not")])
        return self.b.binop([tok])

    def operand(self):
        if self.tokens[self.pos].type not in self.prefix:
            return self.power()
        children = []
        while self.kind() in self.prefix:
            children.append(self.b.prefix_op([self.tokens[self.pos]]))
            self.pos += 1
        children.append(self.power())
        return self.b.prefixed(children)

    def power(self):
        value = self.postfix()
        if self.tokens[self.pos].type == "**":
            self.pos += 1
            return self.b.pow_op([value, self.operand()])
        return value

    def postfix(self):
        value = self.atom()
        tokens = self.tokens
        while True:
            kind = tokens[self.pos].type
            if kind == "(":
                self.pos += 1
                arguments = None if self.kind() == ")" else self.arguments()
                self.take(")")
                value = self.b.call([value, arguments])
            elif kind == "[":
                self.pos += 1
                subscripts = self.subscripts()
                self.take("]")
                value = self.b.index([value, subscripts])
            elif kind == ".":
                self.pos += 1
                value = self.b.attr([value, self.take("NAME")])
            else:
                return value

    def arguments(self):
        return self.b.arguments(self.comma_list(self.argument(), self.argument, ")"))

    def argument(self):
        kind = self.kind()
        if kind == "NAME" and self.peek() == "=":
            name = self.take("NAME")
            self.pos += 1
            return self.b.kwarg([name, self.test()])
        if kind == "*":
            self.pos += 1
            return self.b.star_arg([self.test()])
        if kind == "**":
            self.pos += 1
            return self.b.kwstar_arg([self.test()])
        return self.test()

    def subscripts(self):
        return self.b.subscripts(self.comma_list(self.subscript(), self.subscript, "]"))

    def subscript(self):
        lower = None if self.kind() == ":" else self.test()
        if self.kind() != ":":
            return lower
        colon = self.take(":")
        upper = self.test() if self.kind() in self.test_start else None
        second = self.accept(":")
        step = self.test() if second is not None and self.kind() in self.test_start else None
        return self.b.slice([lower, colon, upper, second, step])

    def atom(self):
        tok = self.tokens[self.pos]
        kind = tok.type
        simple = self.simple_atoms.get(kind)
        if simple is not None:
            self.pos += 1
            return simple([tok])
        if kind == "STRING":
            strings = []
            while self.kind() == "STRING":
                strings.append(self.take("STRING"))
            return self.b.string(strings)
        if kind == "(":
            self.pos += 1
            if self.kind() == ")":
                self.pos += 1
                return self.b.empty_tuple([tok])
            inner = self.testlist()
            self.take(")")
            return self.b.paren([inner])
        if kind == "[":
            return self.list_atom()
        if kind == "DICT_LBRACE":
            return self.brace_atom()
        raise NoParse

    def list_atom(self):
        opening = self.take("[")
        if self.accept("]"):
            return self.b.list_lit([opening, None])
        first = self.test()
        if self.kind() == "for":
            comprehension = self.comp_for()
            self.take("]")
            return self.b.list_comp([opening, first, comprehension])
        items = self.rest_of_items(first, "]")
        return self.b.list_lit([opening, *items])

    def rest_of_items(self, first, closing: str) -> list:
        """`first` and the items after it in `a, b, c[,]` up to `closing` (taken)."""
        items = self.comma_list(first, self.test, closing)
        self.take(closing)
        return items

    def brace_atom(self):
        opening = self.take("DICT_LBRACE")
        if self.accept("}"):
            return self.b.empty_dict([opening])
        first = self.test()
        if not self.accept(":"):
            return self.b.set_lit([opening, *self.rest_of_items(first, "}")])
        value = self.test()
        if self.kind() == "for":
            comprehension = self.comp_for()
            self.take("}")
            return self.b.dict_comp([opening, first, value, comprehension])
        items = self.comma_list(self.b.dict_item([first, value]), self.dict_item, "}")
        self.take("}")
        return self.b.dict_lit([opening, *items])

    def dict_item(self):
        key = self.test()
        self.take(":")
        return self.b.dict_item([key, self.test()])

    def comp_for(self):
        keyword = self.take("for")
        target = self.target_list()
        self.take("in")
        iterable = self.chain()
        return self.b.comp_for([keyword, target, iterable, self.comp_iter()])

    def comp_if(self):
        keyword = self.take("if")
        condition = self.chain()
        return self.b.comp_if([keyword, condition, self.comp_iter()])

    def comp_iter(self):
        kind = self.kind()
        if kind == "for":
            return self.comp_for()
        if kind == "if":
            return self.comp_if()
        return None


_STATEMENTS = {"return": DescentParser.return_stmt, "break": DescentParser.break_stmt,
               "continue": DescentParser.continue_stmt, "if": DescentParser.if_stmt,
               "while": DescentParser.while_stmt, "for": DescentParser.for_stmt,
               "func": DescentParser.func_decl, "MODEL_KW": DescentParser.model_decl,
               "import": DescentParser.import_stmt, "from": DescentParser.from_import}


# ---------------------------------------------------------------------------- syntax errors

_WORDS = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string", "FSTRING": "a string",
          "_SEP": "a new line or ';'", "BLOCK_LBRACE": "'{'", "DICT_LBRACE": "'{'", "MODEL_KW": "'model'",
          "FORWARD_KW": "'forward'", "$END": "the end of the file", "AUGOP": "an assignment operator"}
_STATEMENT_KEYWORDS = frozenset({"return", "break", "continue", "if", "while", "for", "func", "import", "from",
                                 "MODEL_KW"})
_OPERATOR_TEXTS = frozenset("+ - * / % @ ** | ^ & << >> < > == != <= >= and or in not is if . ( [".split())
_ENDS_STATEMENT = frozenset({"_SEP", "BLOCK_LBRACE", "}"})
_BLOCK_HEADS = {"if": "if x { ... }", "else": "else { ... }", "while": "while x { ... }",
                "for": "for x in xs { ... }", "func": "func f(x) { ... }", "FORWARD_KW": "forward(x) { ... }"}


def _word(kind: str) -> str:
    return _WORDS.get(kind) or f"'{kind}'"


def expected_words(expected) -> str:
    """The token kinds `expected` (in the order the parser tried them) in words: "an expression",
    "a statement" and "an operator" for the groups, "a new line or ';'" for what ends a statement."""
    expected = list(dict.fromkeys(expected))
    phrases = []
    if {"NAME", "NUMBER", "STRING", "return", "if"} <= set(expected):
        phrases.append("a statement")
        expected = [k for k in expected if k not in _KIND_SETS["test_start"] and k not in _STATEMENT_KEYWORDS]
    elif {"NAME", "NUMBER", "STRING"} <= set(expected):
        phrases.append("an expression")
        expected = [k for k in expected if k not in _KIND_SETS["test_start"]]
    if "_SEP" in expected:  # where a statement may end, so may the file
        expected = [k for k in expected if k != "$END"]
    operators = [k for k in expected if k in _OPERATOR_TEXTS]
    if len(operators) > 3:
        # After a complete expression nearly any operator may follow: name what ends it instead.
        expected = [k for k in expected if k not in _OPERATOR_TEXTS]
        if "_SEP" in expected:
            phrases.append(_WORDS["_SEP"])
            expected = [k for k in expected if k not in ("_SEP", "$END", "AUGOP", "=", ",", "BLOCK_LBRACE")]
        phrases.append("an operator")
    for kind in expected:
        if _word(kind) not in phrases:
            phrases.append(_word(kind))
    if len(phrases) > 5:
        phrases = phrases[:5] + ["..."]
    if len(phrases) <= 1:
        return phrases[0] if phrases else "something else"
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def found_words(tok: Token) -> str:
    kind = tok.type
    if kind == "$END":
        return "the end of the file"
    if kind == "_SEP":
        return "the end of the line" if tok.value == "\n" else "';'"
    if kind == "NAME":
        return f"the name '{tok.value}'"
    if kind == "NUMBER":
        return f"the number {tok.value}"
    if kind in ("STRING", "FSTRING"):
        return "a string"
    return f"'{tok.value}'"


def syntax_error(parser: DescentParser, start: str, source: str, filename: str,
                 at: tuple[int, int] = (1, 1)) -> MSyntaxError:
    """The error where `parser` stopped (it raised `NoParse`), saying what it expected there.

    The tokens up to that one are parsed again with a `_Probe` in its place; what the probe was
    compared with is what the grammar allows there."""
    tokens, stop = parser.tokens, parser.pos
    tok = tokens[stop]
    probe = _Probe("\0")
    probe.seen = {}
    end = tokens[-1]
    noting = DescentParser(tokens[:stop] + [tok.retyped(probe), end], Builder(), probe.seen)
    noting.b.filename = filename
    try:
        noting.parse(start)
    except NoParse:
        pass
    if tok.type == "$END":
        span = Span(filename, tok.line, tok.column)
    else:
        span = Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)
    message = f"expected {expected_words(probe.seen)}, found {found_words(tok)}"
    return MSyntaxError(message, span, hint=_hint(tokens, stop, source, at))


def _hint(tokens: list[Token], stop: int, source: str, at: tuple[int, int]) -> str | None:
    """What to write instead, for the Python habits that end in a syntax error here; else the
    bracket left open before this line, if any."""
    tok = tokens[stop]
    before = tokens[stop - 1] if stop else None
    head = stop  # the first token of the statement the error is in
    while head and tokens[head - 1].type not in _ENDS_STATEMENT:
        head -= 1
    first = tokens[head]
    if first.type == "NAME" and first.value == "def" and head < stop:
        return "M declares a function with `func`: func name(parameters) { ... }"
    if any(t.type == "NAME" and t.value == "elif" for t in (tok, before) if t is not None):
        return "M writes `else if`, not `elif`: if a { ... } else if b { ... } else { ... }"
    if before is not None and before.type == "NAME" and before.value == "lambda":
        return "M has no `lambda`: declare a function with `func` and pass its name"
    if tok.type == ":" and (first.type in _BLOCK_HEADS or (before is not None and before.type == "else")):
        example = _BLOCK_HEADS["else" if before is not None and before.type == "else" else first.type]
        return f"a block in M is written in braces, not after ':' and an indent: {example}"
    # At the end of the file a block left open is worth naming too; elsewhere only brackets are.
    kinds = ("(", "[", "DICT_LBRACE", "BLOCK_LBRACE") if tok.type == "$END" else ("(", "[", "DICT_LBRACE")
    unclosed = [t for t in _open_brackets(tokens, stop) if t.type in kinds]
    if not unclosed:
        return None
    opening = unclosed[-1]
    for text, line, column in comments(source, at=at):
        if (text.startswith("//") and (opening.line, opening.column) < (line, column) < (tok.line, tok.column)
                and _code_before(source, line, column, at)):
            return ("`//` starts a comment in M (as in C and Java), so the rest of that line is not read; "
                    "for floor division write floordiv(a, b)")
    if opening.line < tok.line:
        return f"the '{opening.value}' on line {opening.line} is never closed"
    return None


def _code_before(source: str, line: int, column: int, at: tuple[int, int]) -> bool:
    """Whether code comes before `column` on `line` (a comment after an operand, not on its own)."""
    lines = source.split("\n")
    text = lines[line - at[0]] if 0 <= line - at[0] < len(lines) else ""
    offset = column - (at[1] if line == at[0] else 1)
    return text[:offset].strip() != ""


def _open_brackets(tokens: list[Token], stop: int) -> list[Token]:
    """The brackets and braces still open at token `stop`."""
    stack = []
    for tok in tokens[:stop]:
        if tok.type in ("(", "[", "BLOCK_LBRACE", "DICT_LBRACE"):
            stack.append(tok)
        elif tok.type in (")", "]", "}") and stack:
            stack.pop()
    return stack
