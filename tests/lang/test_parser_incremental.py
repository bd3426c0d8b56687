"""Parsing a file again after an edit reuses the statements the edit did not touch, and gives
exactly the tree (spans included) or the error that parsing the whole text gives."""
import random
import sys
from pathlib import Path

import pytest

from mlang.lang import parse
from mlang.lang import parser as parser_module
from mlang.lang.diagnostics import MError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from front_end_contract import SPECIAL, mutate, repository_programs  # noqa: E402
from test_descent import dump  # noqa: E402

PROGRAMS = [p.read_text(encoding="utf-8") for p in repository_programs() if not p.name.startswith("syntax_")]


def whole(text: str, filename: str):
    """The tree or the error of parsing `text` from scratch."""
    try:
        return dump(parse(text, filename, tokens=[]).body)  # asking for the tokens parses it all
    except MError as err:
        return [(str(d.span), d.message, d.hint) for d in err.diagnostics]


def again(previous: str, text: str, filename: str):
    parse(previous, filename)
    try:
        return dump(parse(text, filename).body)
    except MError as err:
        return [(str(d.span), d.message, d.hint) for d in err.diagnostics]


@pytest.mark.parametrize("seed", range(4))
def test_an_edited_text_parses_as_it_would_from_scratch(seed):
    rnd = random.Random(seed)
    for n in range(150):
        previous = rnd.choice(PROGRAMS)
        lines = previous.split("\n")
        i = rnd.randrange(len(lines))
        kind = rnd.randrange(4)
        if kind == 0:  # one character typed or deleted within a line, as an editor sends it
            line = lines[i]
            j = rnd.randrange(len(line) + 1)
            lines[i] = line[:j] + rnd.choice(["1", "x", " ", "(", ")", "{", "}", '"', "/*", "#", "\\"]) + line[j:] \
                if rnd.random() < 0.7 or not line else line[:j] + line[j + 1:]
            text = "\n".join(lines)
        elif kind == 1:  # a line inserted or deleted
            if rnd.random() < 0.5:
                lines.insert(i, rnd.choice(["", "y = 2", "// note", "else { }", "}", "f(1,", "/*"]))
            else:
                del lines[i]
            text = "\n".join(lines)
        else:
            text = mutate(previous, rnd, SPECIAL)
        assert again(previous, text, f"edit-{seed}.m") == whole(text, f"edit-{seed}.m"), (n, text)


def test_an_edit_inside_one_function_parses_only_that_function():
    units = "".join(f"func f{i}(x) {{\n    return x + {i}\n}}\n" for i in range(300))
    parse(units, "many.m")
    before = parse(units, "many.m").body
    edited = units.replace("return x + 150\n", "return x * 150\n")
    after = parse(edited, "many.m").body
    assert after[150] is not before[150] and after[150].body[0].value.op == "*"
    assert all(after[i] is before[i] for i in range(300) if i != 150)  # the others are reused as they are
    assert dump(after) == dump(parse(edited, "many.m", tokens=[]).body)


def test_the_last_trees_kept_are_bounded():
    for i in range(parser_module._RECENT_FILES + 5):
        parse("x = 1\n", f"file-{i}.m")
    assert len(parser_module._RECENT) == parser_module._RECENT_FILES
