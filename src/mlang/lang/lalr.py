"""M's reference parser: Lark's LALR(1) parser over `grammar.lark`, and M's syntax-error messages.

`parser.parse` tries the faster recursive-descent parser first and comes here when that one
fails, so every syntax error is reported from the grammar's own parse table: the message says, in
words, what the grammar allows at that point ("expected an expression, found ')'").
"""
from __future__ import annotations

import threading
from pathlib import Path

from lark import Lark
from lark.lexer import Lexer
from lark.parsers.lalr_analysis import Shift

from mlang.lang.builder import Builder
from mlang.lang.diagnostics import MSyntaxError, Span
from mlang.lang.lexer import GRAMMAR, Token, end_position

__all__ = ["LalrParser"]


class _UnexpectedToken(Exception):
    def __init__(self, token: Token, expected: set[str]):
        super().__init__(token.type)
        self.token, self.expected = token, expected


class _GivenTokens(Lexer):
    """Lark builds its parser around a lexer class; the tokens come from `mlang.lang.lexer`."""

    __future_interface__ = 0

    def __init__(self, lexer_conf):
        self.lexer_conf = lexer_conf

    def lex(self, tokens):
        return iter(tokens)


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


class LalrParser:
    """Lark's LALR(1) tables for `grammar.lark`, driven over M's tokens with `Builder` callbacks."""

    def __init__(self):
        self.builder = Builder()
        grammar = GRAMMAR.read_text(encoding="utf-8")
        self.lark = Lark(grammar, parser="lalr", lexer=_GivenTokens, transformer=self.builder,
                         start=["start", "test"], maybe_placeholders=True,
                         cache=_table_cache(grammar))
        self.lock = threading.RLock()
        # M's token kinds are the literal texts of keywords and operators; Lark names them.
        self.terminal_of = {term.pattern.value: term.name for term in self.lark.terminals
                            if term.pattern.type == "str"}
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

    def _drive(self, tokens: list[Token], error: MSyntaxError | None, end: tuple[int, int], start: str):
        """The LALR loop: shift tokens, reduce with the builder's callbacks."""
        actions, terminal_of = self.actions, self.terminal_of
        states, values = [self.start_states[start]], []
        stream = iter(tokens)
        end_token = None
        while True:
            tok = next(stream, None)
            if tok is None:
                if error is not None:  # a lexical error after everything before it parsed
                    raise error
                end_token = tok = Token("$END", "", *(end * 2))
            kind = terminal_of.get(tok.type, tok.type)
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

    def parse(self, tokens: list[Token], error: MSyntaxError | None, source: str, filename: str, start: str,
              at: tuple[int, int] = (1, 1)):
        """The tree of `tokens` (from `lexer.tokenize`), or the first error in the text."""
        with self.lock:
            outer = self.builder.filename  # an f-string field is parsed while its file is
            self.builder.filename = filename
            try:
                return self._drive(tokens, error, end_position(source, at), start)
            except _UnexpectedToken as err:
                raise self.syntax_error(err, tokens, end_position(source, at), filename) from None
            finally:
                self.builder.filename = outer

    def syntax_error(self, err: _UnexpectedToken, tokens: list[Token], end: tuple[int, int],
                     filename: str) -> MSyntaxError:
        tok = err.token
        if tok.type == "$END":
            span = Span(filename, *end)
        else:
            span = Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)
        hint = None
        unclosed = [t for t in _open_brackets(tokens, tok) if t.type in ("(", "[", "DICT_LBRACE")]
        if unclosed and unclosed[-1].line < (tok.line if tok.type != "$END" else span.line):
            hint = f"the '{unclosed[-1].value}' on line {unclosed[-1].line} is never closed"
        return MSyntaxError(f"expected {self.expected_words(err.expected)}, found {self.found_words(tok)}", span,
                            hint=hint)


def _open_brackets(tokens: list[Token], upto: Token) -> list[Token]:
    """The brackets and braces still open once `upto` (or, if it is not in `tokens`, every token) is read."""
    stack = []
    for tok in tokens:
        if tok.type in ("(", "[", "BLOCK_LBRACE", "DICT_LBRACE"):
            stack.append(tok)
        elif tok.type in (")", "]", "}") and stack:
            stack.pop()
        if tok is upto:
            break
    return stack


def _passes_child_through(rule) -> bool:
    """A `?rule: other_rule` expansion: Lark's callback would return its one child unchanged."""
    return (rule.options.expand1 and len(rule.expansion) == 1 and not rule.expansion[0].is_term
            and rule.alias is None and not rule.options.empty_indices)
