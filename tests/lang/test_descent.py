"""The recursive-descent parser and Lark's LALR parser over grammar.lark accept the same texts and
build the same trees, spans included (the descent parser runs first; the LALR one words errors)."""
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlang.lang.builder import Builder
from mlang.lang.descent import DescentParser, NoParse
from mlang.lang.diagnostics import MSyntaxError
from mlang.lang.lalr import LalrParser
from mlang.lang.lexer import Token, end_position, tokenize

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted(p for folder in ("tests", "examples") for p in (ROOT / folder).rglob("*.m"))
LALR = LalrParser()


def dump(value):
    """Every field of a tree, spans and block ends included, as nested tuples."""
    if isinstance(value, list):
        ends = [(dump(value.span), dump(value.end))] if hasattr(value, "end") else []
        return [dump(item) for item in value] + ends
    if dataclasses.is_dataclass(value):
        return (type(value).__name__,) + tuple(dump(getattr(value, f.name)) for f in dataclasses.fields(value))
    return value


def by_descent(text: str):
    tokens, error = tokenize(text, "t.m")
    if error is not None:
        return None
    builder = Builder()
    builder.filename = "t.m"
    try:
        return dump(DescentParser(tokens + [Token("$END", "", *(end_position(text) * 2))], builder).module())
    except (NoParse, MSyntaxError):
        return None


def by_lalr(text: str):
    tokens, error = tokenize(text, "t.m")
    try:
        return dump(LALR.parse(tokens, error, text, "t.m", "start"))
    except MSyntaxError:
        return None


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_parsers_build_the_same_tree_for_every_program_here(path):
    text = path.read_text()
    assert by_descent(text) == by_lalr(text)


FRAGMENTS = ["model ", "metamodel ", "forward", "func ", "if ", "else ", "for ", " in ", "while ", "return ",
             "break", "continue", "import ", "python ", "from ", " as ", "extends ", "{", "}", "(", ")", "[", "]",
             ":", ",", ";", "\n", " = ", "+=", "->", "**", "*", "//", "#", '"s"', "'t'", 'f"{x!r:>4}"', "x", "y",
             "Dense(3)", "true", "None", "Tensor[float32, B, 3]", "1e-5", "0x1F", ".", "not ", " is ", " and ",
             " or ", "<", "==", "-", "@", "~", "1", " if ", " else ", "a.b", "f(x, k=1)", "[1, 2]", "{a: 1}",
             "x[1:2]", "x[::2]", "[i for i in y if i]", "{k: v for k in z}", "(1,)", "()"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_both_parsers_accept_the_same_texts_with_the_same_trees(text):
    assert by_descent(text) == by_lalr(text)


def test_checking_a_program_never_imports_lark():
    code = ("import sys; from mlang.lang import check_source; "
            "assert check_source('x = [f\"{i:>3}\" for i in range(3)]\\nprint(x)', 'a.m') == []; "
            "print('lark' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("text", [
    "if a {\n} else if b {\n    x = 1\n} else if c {\n} else {\n    y = {}\n}\n",
    "x = a if b else c if d else {}\ny = {} if e else [] if f else {1: 2}\n",
    "if a {\n}\nelse if b {\n}\nelse {\n}\n",
    "z = " + " if q else ".join(f"v{i}" for i in range(40)) + "\n",
])
def test_both_parsers_build_the_same_else_if_and_conditional_chains(text):
    assert by_descent(text) is not None and by_descent(text) == by_lalr(text)
