"""`m fmt`: canonical, idempotent, the same program with its literals as written, every comment kept."""
import subprocess
import sys
from pathlib import Path

import pytest

from mlang.lang import ast as m
from mlang.lang import parse
from mlang.lang.diagnostics import MSyntaxError
from mlang.lang.formatter import format_source
from mlang.lang.lexer import tokenize

ROOT = Path(__file__).resolve().parents[2]
_SKIP = {".venv", ".git", "node_modules", "build", "dist"}
EVERY_M_FILE = sorted(p for p in ROOT.rglob("*.m") if not _SKIP & set(p.relative_to(ROOT).parts))
PROGRAMS = [p for p in EVERY_M_FILE if not p.name.startswith("syntax_")]  # those are syntax errors on purpose


def literals(source: str) -> list[str]:
    """The text of every number, string and f-string literal, in order."""
    tokens, error = tokenize(source)
    assert error is None
    return [tok.value for tok in tokens if tok.type in ("NUMBER", "STRING", "FSTRING")]


def shape(node):
    """The AST without positions, to compare programs."""
    if isinstance(node, list):
        return [shape(x) for x in node]
    if isinstance(node, m.Node):
        skip = {"span", "base_span", "end", "filename", "source"}
        return (type(node).__name__,) + tuple((k, shape(getattr(node, k))) for k in node.__dataclass_fields__
                                              if k not in skip)
    return node


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_format_is_idempotent_and_keeps_the_program_and_its_literals(path):
    source = path.read_text(encoding="utf-8")
    once = format_source(source, str(path))
    assert format_source(once, str(path)) == once
    assert shape(parse(once).body) == shape(parse(source).body)
    assert literals(once) == literals(source)  # the tree alone cannot see `0xFF` become `255`


def test_every_m_file_of_the_repository_is_formatted():
    """`m fmt --check` over every .m file (so CI runs it); the corpus's syntax errors are refused."""
    done = subprocess.run([sys.executable, "-m", "mlang.cli", "fmt", "--check", *map(str, PROGRAMS)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    broken = [p for p in EVERY_M_FILE if p not in PROGRAMS]
    done = subprocess.run([sys.executable, "-m", "mlang.cli", "fmt", "--check", *map(str, broken)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and done.stderr.count(": error: ") == len(broken)


def test_literals_are_kept_exactly_as_written():
    source = ('''mask = 0xFF;big=1_000_000;lr=1e-4;half=.5;bits=0b1010;e=1E5\n'''
              '''s = 'single' + "double" + 'it\\'s' + "tab\\t" + "\\u00e9\\N{BULLET}"\n'''
              '''f = F'{x!r:>4}' + f"{d['k']}" + "adjacent"   'strings'\n'''
              '''doc = """two\nlines"""\nflags = [True,False,None]\nd = {'b': 1, lr: 2, "c d": 3}\n''')
    assert format_source(source) == (
        "mask = 0xFF\nbig = 1_000_000\nlr = 1e-4\nhalf = .5\nbits = 0b1010\ne = 1E5\n"
        '''s = 'single' + "double" + 'it\\'s' + "tab\\t" + "\\u00e9\\N{BULLET}"\n'''
        '''f = F'{x!r:>4}' + f"{d['k']}" + "adjacent" 'strings'\n'''
        '''doc = """two\nlines"""\nflags = [true, false, none]\nd = {'b': 1, lr: 2, "c d": 3}\n''')


def test_fmt_check_lists_the_files_that_would_change_and_writes_nothing(tmp_path):
    tidy, untidy = tmp_path / "tidy.m", tmp_path / "untidy.m"
    tidy.write_text("x = 0xFF\n")
    untidy.write_text("x=0xFF\n")
    done = subprocess.run([sys.executable, "-m", "mlang.cli", "fmt", "--check", str(tidy), str(untidy)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.strip() == f"would reformat {untidy}"
    assert untidy.read_text() == "x=0xFF\n"
    done = subprocess.run([sys.executable, "-m", "mlang.cli", "fmt", str(untidy)], capture_output=True, text=True)
    assert done.returncode == 0 and untidy.read_text() == "x = 0xFF\n"


def test_lines_past_100_columns_are_wrapped_from_the_outside_in():
    call = "print(predict(classifier, [" + ", ".join(f'"review number {i}"' for i in range(6)) + "]))\n"
    formatted = format_source(call)
    assert max(map(len, formatted.splitlines())) <= 100
    assert formatted.startswith("print(\n    predict(\n        classifier,\n        [")
    long_string = 'print("' + "x" * 120 + '")\n'  # one element too long for any line: left as it is
    assert format_source(long_string) == long_string
    chain = "total = " + " + ".join(f"weight_{i} * value_{i}" for i in range(8)) + "\n"
    assert format_source(chain) == "total = (\n    weight_0 * value_0\n" + "".join(
        f"    + weight_{i} * value_{i}\n" for i in range(1, 8)) + ")\n"
    head = "if " + " and ".join(f"condition_number_{i}" for i in range(6)) + " {\n    go()\n}\n"
    assert format_source(head) == "if (\n    condition_number_0\n" + "".join(
        f"    and condition_number_{i}\n" for i in range(1, 6)) + ") {\n    go()\n}\n"
    joined = 'print(f"' + "a" * 70 + '" + f"' + "b" * 40 + '", sep="")\n'  # a chain as an argument
    assert format_source(joined) == ('print(\n    (\n        f"' + "a" * 70 + '"\n        + f"' + "b" * 40
                                     + '"\n    ),\n    sep="",\n)\n')


def test_text_that_does_not_parse_is_not_formatted():
    with pytest.raises(MSyntaxError):
        format_source("def f(x):\n    return x\n")


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
y = {lr: 0.1, 'b': [1, 2]}  // trailing
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
    ("while {1: /* c */ " + "2" * 100 + ", 3: 4} {\n}\n",
     "while {\n    1: " + "2" * 100 + ",\n    3: 4,\n} {  /* c */\n}\n"),
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
