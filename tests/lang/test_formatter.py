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
