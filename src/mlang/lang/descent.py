"""A recursive-descent parser for `grammar.lark`, several times faster than driving its LALR table.

One method per grammar rule, in the grammar's order, each handing the rule's children to the
shared `Builder` exactly as Lark's parser does, so both parsers build the same tree.  It reports
no errors of its own: at the first token it cannot take it raises `NoParse`, and `parser.parse`
parses the text again with the LALR parser, which reports the error from the grammar's table
(tests/lang/test_descent.py checks that the two parsers agree).
"""
from __future__ import annotations

from mlang.lang.builder import Builder
from mlang.lang.lexer import Token

__all__ = ["NoParse", "DescentParser"]

# Kinds of the tokens that can start an expression (`test`).
_TEST_START = frozenset({"NAME", "NUMBER", "STRING", "FSTRING", "true", "false", "none", "True", "False", "None",
                         "(", "[", "DICT_LBRACE", "-", "+", "~", "not"})
_PREFIX = frozenset({"not", "-", "+", "~"})
_BINOPS = frozenset({"or", "and", "<", ">", "==", ">=", "<=", "!=", "in", "not", "is", "|", "^", "&", "<<", ">>",
                     "+", "-", "*", "/", "%", "@"})
_SIMPLE_ATOMS = {"NAME": "name", "NUMBER": "number", "FSTRING": "fstring", "true": "true", "True": "true",
                 "false": "false", "False": "false", "none": "none", "None": "none"}
_STATEMENT_END = frozenset({"_SEP", "}", "$END"})


class NoParse(Exception):
    """The text is not in the grammar (from here on the LALR parser says why)."""


class DescentParser:
    """Parses one token list (from `lexer.tokenize`, ending with a `$END` token)."""

    def __init__(self, tokens: list[Token], builder: Builder):
        self.tokens = tokens
        self.pos = 0
        self.b = builder
        self.simple_atoms = {kind: getattr(builder, rule) for kind, rule in _SIMPLE_ATOMS.items()}

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
        method = _STATEMENTS.get(kind)
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
        value = None if self.kind() in _STATEMENT_END else self.testlist()
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
            if self.kind() != "if":
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
        if self.kind() == "NAME":
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
            if self.kind() not in _TEST_START:
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
        while self.tokens[self.pos].type in _BINOPS:
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
        if self.tokens[self.pos].type not in _PREFIX:
            return self.power()
        children = []
        while self.kind() in _PREFIX:
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
        upper = self.test() if self.kind() in _TEST_START else None
        second = self.accept(":")
        step = self.test() if second is not None and self.kind() in _TEST_START else None
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
