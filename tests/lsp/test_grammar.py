"""The TextMate grammar (editors/m.tmLanguage.json), run by a small TextMate-style tokenizer:
earliest match wins, ties go to the earlier rule, begin/end rules span lines."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlang.lang.types import DTYPES, TYPE_NAMES
from mlang.lsp.analysis import KEYWORDS

EDITORS = Path(__file__).resolve().parents[2] / "editors"
GRAMMAR = json.loads((EDITORS / "m.tmLanguage.json").read_text())

PROGRAM = '''\
// sentiment.m
import "lib/text.m"                  # an M file
import python sklearn.svm as svm
/* a block
   comment with "quotes" and model */
metamodel TextClassifier {
    input: Text
    output: Tensor[float32, B, num_labels]
    num_labels: int = 2
    dropout: float = 1.5e-3
}
model Small extends TextClassifier {
    forward(x) { return encoder(x) }
}
func train(m: Small, epochs: int = 0x1F) -> Small {
    for epoch in range(epochs) { if epoch > 2 { break } else { continue } }
    while false { return none }
    return m
}
text = f"a {x}" + 'b\\'c' + """multi
line"""
from "lib.m" import helper as h
'''


def _rules(patterns):
    for pattern in patterns:
        if "include" in pattern:
            yield from _rules(GRAMMAR["repository"][pattern["include"][1:]]["patterns"])
        else:
            yield pattern


def tokenize(text: str) -> list[tuple[str, str]]:
    rules = [(rule, re.compile(rule.get("match") or rule["begin"], re.M)) for rule in _rules(GRAMMAR["patterns"])]
    tokens, pos = [], 0
    while pos < len(text):
        found = [(m.start(), i, rule, m) for i, (rule, rx) in enumerate(rules) if (m := rx.search(text, pos))]
        found = [f for f in found if f[3].end() > f[3].start()]
        if not found:
            break
        _, _, rule, match = min(found, key=lambda f: (f[0], f[1]))
        if "begin" in rule:
            pos = _end_of(rule, match, text)
            tokens.append((text[match.start():pos], rule["name"]))
            continue
        if "captures" in rule:
            for group, capture in rule["captures"].items():
                if match.group(int(group)) is not None:
                    tokens.append((match.group(int(group)), capture["name"]))
        else:
            tokens.append((match.group(), rule["name"]))
        pos = match.end()
    return tokens


def _end_of(rule: dict, begin: re.Match, text: str) -> int:
    """Where a begin/end rule's region ends: inner patterns (escapes) are stepped over first."""
    end_rx = re.compile(re.sub(r"\\(\d)", lambda d: re.escape(begin.group(int(d.group(1)))), rule["end"]), re.M)
    inner = [re.compile(r["match"]) for r in _rules(rule.get("patterns", []))]
    pos = begin.end()
    while True:
        end = end_rx.search(text, pos)
        skips = [m for rx in inner if (m := rx.search(text, pos)) and (end is None or m.start() < end.start())]
        if not skips:
            return end.end() if end else len(text)
        pos = min(skips, key=lambda m: m.start()).end()


TOKENS = tokenize(PROGRAM)


def scope_of(text: str) -> str:
    return next(scope for token, scope in TOKENS if token == text)


@pytest.mark.parametrize("text, scope", [
    ("// sentiment.m", "comment.line.double-slash.m"),
    ("# an M file", "comment.line.number-sign.m"),
    ('/* a block\n   comment with "quotes" and model */', "comment.block.m"),
    ('"lib/text.m"', "string.quoted.double.m"),
    ("python", "keyword.control.import.python.m"),
    ("sklearn.svm", "entity.name.namespace.m"),
    ("metamodel", "storage.type.model.m"),
    ("TextClassifier", "entity.name.type.model.m"),
    ("extends", "storage.modifier.extends.m"),
    ("forward", "storage.type.function.forward.m"),
    ("func", "storage.type.function.m"),
    ("train", "entity.name.function.m"),
    ("Text", "support.type.m"),
    ("Tensor", "support.type.m"),
    ("float32", "support.type.dtype.m"),
    ("int", "support.type.primitive.m"),
    ("2", "constant.numeric.integer.m"),
    ("1.5e-3", "constant.numeric.float.m"),
    ("0x1F", "constant.numeric.hex.m"),
    ("for", "keyword.control.flow.m"),
    ("break", "keyword.control.flow.m"),
    ("continue", "keyword.control.flow.m"),
    ("while", "keyword.control.flow.m"),
    ("false", "constant.language.m"),
    ("none", "constant.language.m"),
    ("->", "keyword.operator.arrow.m"),
    ('f"a {x}"', "string.quoted.double.m"),
    ("'b\\'c'", "string.quoted.single.m"),
    ('"""multi\nline"""', "string.quoted.triple.m"),
    ("from", "keyword.control.import.m"),
    ("as", "keyword.control.import.m"),
])
def test_each_construct_gets_its_scope(text, scope):
    assert scope_of(text) == scope


def test_words_inside_comments_and_strings_are_not_keywords():
    assert ("model", "storage.type.m") not in TOKENS[:6]
    assert not any(token == "quotes" for token, _ in TOKENS)


def test_every_keyword_type_and_dtype_of_m_is_highlighted():
    for word in (*KEYWORDS, *TYPE_NAMES, *DTYPES):
        sample = {"python": "import python y"}.get(word, f"x: Tensor[{word}, B]" if word in DTYPES else f"{word} y")
        scopes = {scope for token, scope in tokenize(sample) if token == word}
        assert scopes, f"{word!r} is not highlighted"


def test_the_vscode_extension_wires_the_grammar_and_the_language_server():
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text())
    [grammar] = manifest["contributes"]["grammars"]
    assert json.loads((EDITORS / "vscode" / grammar["path"]).read_text())["scopeName"] == grammar["scopeName"]
    assert manifest["contributes"]["languages"][0]["extensions"] == [".m"]
    assert manifest["contributes"]["configuration"]["properties"]["mlang.server.command"]["default"] == ["m", "lsp"]
    assert "m lsp" in (EDITORS / "vscode" / "extension.js").read_text().replace('"m", "lsp"', "m lsp")
