"""grammar.lark is the specification: stock Lark's LALR(1) parser over it and M's recursive-descent
parser accept the same texts and build the same trees, spans included, for every .m file of the
repository and thousands of generated programs.

Lark is used only through its public interface: a custom lexer class handing it M's tokens (the
layout pass of lexer.py makes the `%declare`d terminals), and the parse tree it returns, turned
into M's AST by the same `Builder` rule by rule."""
import dataclasses
import subprocess
import sys
from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlang.lang import parse
from mlang.lang.builder import Builder
from mlang.lang.diagnostics import MSyntaxError
from mlang.lang.lexer import GRAMMAR, Token, tokenize

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
from m_programs import programs  # noqa: E402

SKIP = {".venv", ".git", "node_modules", "build", "dist"}
PROGRAMS = sorted(p for p in ROOT.rglob("*.m") if not SKIP & set(p.relative_to(ROOT).parts))


class MTokens(lark.lexer.Lexer):
    """Lark's documented custom-lexer interface: `parse` is given the token list itself."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, data):
        return iter(data)


LARK = lark.Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer=MTokens, start="start",
                 maybe_placeholders=True)
# M's token kinds are the literal texts of keywords and operators; Lark names each literal terminal.
TERMINAL = {t.pattern.value: t.name for t in LARK.terminals if t.pattern.type == "str"}


def dump(value):
    """Every field of a tree, spans and block ends included, as nested tuples."""
    if isinstance(value, list):
        ends = [(dump(value.span), dump(value.end))] if hasattr(value, "end") else []
        return [dump(item) for item in value] + ends
    if dataclasses.is_dataclass(value):
        return (type(value).__name__,) + tuple(dump(getattr(value, f.name)) for f in dataclasses.fields(value))
    return value


def by_descent(text: str):
    try:
        return dump(parse(text, "t.m").body)
    except MSyntaxError:
        return None


def to_ast(node, builder: Builder):
    """Lark's parse tree as M's AST: each rule's children handed to the builder method of its name."""
    if isinstance(node, lark.Tree):
        return getattr(builder, node.data)([to_ast(child, builder) for child in node.children])
    if isinstance(node, lark.Token):
        return Token(node.type, node.value, node.line, node.column, node.end_line, node.end_column)
    return node  # None: an optional part that is absent


def by_lark(text: str):
    tokens, error = tokenize(text, "t.m")
    if error is not None:
        return None
    given = [lark.Token(TERMINAL.get(t.type, t.type), t.value, line=t.line, column=t.column, end_line=t.end_line,
                        end_column=t.end_column) for t in tokens]
    try:
        tree = LARK.parse(given)
    except lark.exceptions.UnexpectedInput:
        return None
    builder = Builder()
    builder.filename = "t.m"
    try:
        return dump(to_ast(tree, builder))
    except MSyntaxError:  # what the builder refuses (`f(x) = 1`), the same for both
        return None


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_stock_lark_and_the_parser_build_the_same_tree_for_every_program_here(path):
    text = path.read_text(encoding="utf-8")
    tree = by_descent(text)
    assert tree == by_lark(text)
    assert tree is not None or "invalid" in path.parts  # the corpus of programs that must not parse


FRAGMENTS = ["model ", "metamodel ", "forward", "func ", "if ", "else ", "for ", " in ", "while ", "return ",
             "break", "continue", "import ", "python ", "from ", " as ", "extends ", "{", "}", "(", ")", "[", "]",
             ":", ",", ";", "\n", " = ", "+=", "->", "**", "*", "//", "#", '"s"', "'t'", 'f"{x!r:>4}"', "x", "y",
             "Dense(3)", "true", "None", "Tensor[float32, B, 3]", "1e-5", "0x1F", ".", "not ", " is ", " and ",
             " or ", "<", "==", "-", "@", "~", "1", " if ", " else ", "a.b", "f(x, k=1)", "[1, 2]", "{a: 1}",
             "x[1:2]", "x[::2]", "[i for i in y if i]", "{k: v for k in z}", "(1,)", "()"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_both_accept_the_same_texts_with_the_same_trees(text):
    assert by_descent(text) == by_lark(text)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def test_both_build_the_same_tree_for_generated_programs(text):
    tree = by_descent(text)
    assert tree is not None and tree == by_lark(text)


def test_checking_a_program_never_imports_lark():
    code = ("import sys; from mlang.lang import check_source; "
            "assert check_source('x = [f\"{i:>3}\" for i in range(3)]\\nprint(x)', 'a.m') == []; "
            "assert check_source('x = (1 +', 'b.m')[0].message.startswith('expected'); "
            "print('lark' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("text", [
    "if a {\n} else if b {\n    x = 1\n} else if c {\n} else {\n    y = {}\n}\n",
    "x = a if b else c if d else {}\ny = {} if e else [] if f else {1: 2}\n",
    "if a {\n}\nelse if b {\n}\nelse {\n}\n",
    "z = " + " if q else ".join(f"v{i}" for i in range(40)) + "\n",
])
def test_both_build_the_same_else_if_and_conditional_chains(text):
    assert by_descent(text) is not None and by_descent(text) == by_lark(text)
