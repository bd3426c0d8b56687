"""lsp/text.py reads text as M's lexer does, half-typed text included."""
import random
import sys
from pathlib import Path

from mlang.lang.lexer import scan
from mlang.lsp import text
from mlang.lsp.text import block_end, bracket_depth, in_code, open_call, word_at

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from front_end_contract import SPECIAL, mutate, repository_programs  # noqa: E402


def test_half_typed_text_still_scans_to_its_end():
    kinds = [t.type for t in scan('x = $ f("open\ny = """still\nopen')]
    assert kinds == ["NAME", "=", "ERROR", "NAME", "(", "OPEN_STRING", "_NL", "NAME", "=", "OPEN_STRING"]
    assert [t.type for t in scan("a /* open")] == ["NAME", "OPEN_COMMENT"]


def test_bracket_depth_counts_what_the_lexer_reads_as_brackets():
    assert bracket_depth("f(x) {") == 1
    assert bracket_depth('s = "}" // {\n# (\n/* [ */ x') == 0
    assert bracket_depth("/* open") == 1 and bracket_depth('x = """open') == 1 and bracket_depth('x = "open') == 0
    assert bracket_depth("f($, [") == 2


def test_in_code_knows_strings_comments_and_their_ends():
    source = 'a = "s" // c\nb = f"{x}" /* d */ e\n'
    where = {text: source.index(text) for text in ("a", '"s"', "// c", 'f"', "/* d", "e")}
    assert in_code(source, where["a"]) and in_code(source, where['"s"'])  # a string's first character is code
    assert not in_code(source, where['"s"'] + 1) and in_code(source, where['"s"'] + 3)
    assert not in_code(source, where["// c"] + 2) and not in_code(source, where["// c"] + 4)  # the line's end
    assert not in_code(source, where['f"'] + 3) and not in_code(source, where["/* d"] + 3)
    assert in_code(source, where["e"])


def test_block_end_and_open_call_follow_the_tokens():
    source = 'func f(s = "{") {\n    g(x, "(", h(1))\n}\nrest = 1\n'
    assert source[:block_end(source, 0)].endswith("\n}")
    typing = 'func f(s = "{") {\n    g(x, "(", h(1), \n}\n'
    assert open_call(typing, typing.index(", \n") + 2) == "g"
    assert open_call(typing, typing.index("h(1") + 2) == "h"
    assert open_call('Dense(4, act', 12) == "Dense" and open_call("x = [1, ", 8) is None


def test_word_at_reads_names_as_the_grammar_does():
    assert word_at("x = ²ab + 1", 5) == ("²ab", 4)
    assert word_at("x = 1", 4) is None


def test_an_edited_text_is_scanned_again_only_around_the_edit_with_the_same_tokens():
    rnd = random.Random(5)
    programs = [p.read_text(encoding="utf-8") for p in repository_programs()]
    pieces = SPECIAL[:20] + ["x", "1", " ", '"', '"""', "/*", "*/", "\n", "\n\n"]
    for n in range(400):
        before = rnd.choice(programs)
        after = mutate(before, rnd, pieces)
        again = text._Scanned(after, text._Scanned(before))
        fresh = text._Scanned(after)
        got = [(t.type, t.value, t.line, t.column, t.end_line, t.end_column) for t in again.tokens]
        assert got == [(t.type, t.value, t.line, t.column, t.end_line, t.end_column) for t in fresh.tokens], n
        assert (again.starts, again.ends, again.closer) == (fresh.starts, fresh.ends, fresh.closer), n
