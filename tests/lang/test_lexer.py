"""The lexer: terminals read from grammar.lark, the first lexical error in the text, and names."""
import pytest

from mlang.lang import check_source, parse
from mlang.lang.lexer import GRAMMAR, KEYWORDS, _raw_tokens


def test_the_lexer_and_lark_read_the_same_literal_terminals_from_the_grammar():
    import lark

    grammar = lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="basic")
    literals = {t.pattern.value for t in grammar.terminals if t.pattern.type == "str"}  # Lark's own reading
    assert KEYWORDS <= set(literals)
    for text in literals:
        tokens, error = _raw_tokens(text, "t.m")
        assert error is None and [(tok.type, tok.value) for tok in tokens] == [(text, text)]


@pytest.mark.parametrize("source, where, message", [
    ('x = "abc\ny = 1 /* note', "1:5", "this string is never closed"),
    ("x = $ /* y", "1:5", "unexpected character '$'"),
    ("x = $\ny = 1 /* y", "1:5", "unexpected character '$'"),
    ("x = 1\n/* a */ y = 2 /* b", "2:15", "this block comment is never closed"),
    ("x = )\ny = \"abc", "1:5", "expected an expression, found ')'"),
])
def test_the_first_error_in_the_text_is_reported(source, where, message):
    diagnostics = check_source(source, "t.m")
    assert [(str(d.span), d.message) for d in diagnostics[:1]] == [(f"t.m:{where}", message)]


def test_many_unclosed_comments_take_linear_time():
    source = "x = 1 /* y\n" * 20_000
    assert check_source(source, "t.m")[0].message == "this block comment is never closed"


@pytest.mark.parametrize("name", ["²", "½", "ⅫX", "é", "_x", "數"])
def test_names_are_what_the_grammar_calls_a_name(name):
    module = parse(f"{name} = 1\nprint({name})", "t.m")
    assert module.body[0].target.id == name
