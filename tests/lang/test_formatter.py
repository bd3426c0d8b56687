"""`m fmt`: canonical, idempotent, the same program, every comment kept."""
from pathlib import Path

import pytest

from mlang.lang import ast as m
from mlang.lang import parse
from mlang.lang.formatter import format_source

PROGRAMS = sorted((Path(__file__).parent / "corpus").glob("[vm]*/*.m"))


def shape(node):
    """The AST without positions, to compare programs."""
    if isinstance(node, list):
        return [shape(x) for x in node]
    if isinstance(node, m.Node):
        skip = {"span", "base_span", "end", "filename", "source"}
        return (type(node).__name__,) + tuple((k, shape(getattr(node, k))) for k in node.__dataclass_fields__
                                              if k not in skip)
    return node


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_format_is_idempotent_and_keeps_the_program(path):
    source = path.read_text()
    once = format_source(source, str(path))
    assert format_source(once, str(path)) == once
    assert shape(parse(once).body) == shape(parse(source).body)


def test_canonical_layout_and_comments():
    source = """// header
x=1;y  =  {lr:0.1,'b':[1,2]}   // trailing
func f(a,b:int=2)->int{
  if a>b{return a}
  else{
     # inside else
     return b
  }
  // before the closing brace
}
"""
    assert format_source(source) == """// header
x = 1
y = {lr: 0.1, b: [1, 2]}  // trailing
func f(a, b: int = 2) -> int {
    if a > b {
        return a
    } else {
        # inside else
        return b
    }
    // before the closing brace
}
"""


def test_long_calls_break_one_argument_per_line():
    source = "result = train(model_with_a_long_name, dataset_with_a_long_name, epochs=10, learning_rate=0.001, seed=7)\n"
    assert format_source(source) == """result = train(
    model_with_a_long_name,
    dataset_with_a_long_name,
    epochs=10,
    learning_rate=0.001,
    seed=7,
)
"""


# Found by the fuzz run (tests/fuzz): each formatted once, then again to the same text.
@pytest.mark.parametrize("source, expected", [
    # a comment on the line of a statement's closing parenthesis stays with that statement
    ("y = ( {1: 2, 3: " + "4" * 90 + "} // note\n)\n", "// note\ny = {\n    1: 2,\n    3: " + "4" * 90 + ",\n}\n"),
    # the comment after a head's `{` stays there when the head breaks across lines
    ("while {1: /* c */ " + "2" * 100 + "} {\n}\n", "while {\n    1: " + "2" * 100 + ",\n} {  /* c */\n}\n"),
    # `for i in (x,)` keeps its parentheses: `x, {` would read the block as a dict
    ("for i in (x,) {\n}\n", "for i in (x,) {\n}\n"),
    # a blank line before a parenthesized statement, and after a comment ending in `{`
    ("x = 1\n//{\n\n(x, " + "x, " * 40 + "x)\n", "x = 1\n//{\n\n(\n" + "    x,\n" * 42 + ")\n"),
    # a comment after a long model item stays after it when the item breaks
    ("model M {\n    Dense(" + "1, " * 40 + "1)  // c\n}\n",
     "model M {\n    Dense(\n" + "        1,\n" * 41 + "    )  // c\n}\n"),
])
def test_layout_decisions_survive_formatting_again(source, expected):
    assert format_source(source) == expected
    assert format_source(expected) == expected
