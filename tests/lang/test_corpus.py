"""The example corpus: valid programs with their exact output, invalid ones with their diagnostics.

`corpus/valid/X.m` runs and prints `corpus/valid/X.out` (a first line `// args: ...` gives program
arguments).  `corpus/invalid/X.m` starts with `// expect: LINE:COL: message` lines: exactly those
diagnostics, from `m check` or (files named runtime_*) from running it.  `corpus/models/*.m` use
model syntax: they must parse and pass the front end's own checks.
"""
from pathlib import Path

import pytest

import mlang.lang as lang
from mlang.lang.checker import check_module

CORPUS = Path(__file__).parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.m"))
INVALID = sorted((CORPUS / "invalid").glob("*.m"))
MODELS = sorted((CORPUS / "models").glob("*.m"))


def _program_args(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    return first.removeprefix("// args:").split() if first.startswith("// args:") else []


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_program_prints_expected_output(path, capsys, monkeypatch):
    monkeypatch.chdir(path.parent)
    lang.run_file(path.name, _program_args(path))
    assert capsys.readouterr().out == path.with_suffix(".out").read_text()


def _expectations(path: Path) -> list[str]:
    return [line.removeprefix("// expect: ") for line in path.read_text().splitlines()
            if line.startswith("// expect: ")]


def _found(diagnostics) -> list[str]:
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in diagnostics]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_program_reports_expected_diagnostics(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    expected = _expectations(path)
    assert expected, f"{path.name} has no // expect: line"
    diagnostics = lang.check_file(path.name)
    if path.stem.startswith("runtime_"):
        assert diagnostics == []
        with pytest.raises(lang.MError) as caught:
            lang.run_file(path.name)
        diagnostics = caught.value.diagnostics
    assert _found(diagnostics) == expected


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_model_syntax_parses_and_checks(path):
    module = lang.parse_file(path)
    assert check_module(module, plugins=False) == []


def test_corpus_covers_every_grammar_rule(monkeypatch):
    """Every rule and alias of grammar.lark is built by some program of the corpus."""
    from mlang.lang.builder import Builder

    used: set[str] = set()
    rules = [name for name, value in vars(Builder).items()
             if callable(value) and not name.startswith("_")]

    def tracing(name, method):
        def wrapped(self, children):
            used.add(name)
            return method(self, children)
        return wrapped

    for name in rules:
        monkeypatch.setattr(Builder, name, tracing(name, getattr(Builder, name)))
    for path in VALID + MODELS + [CORPUS / "valid" / "lib" / "util.m"]:
        lang.parse(path.read_text(), f"coverage-{path.name}")  # a name not parsed before: no tree kept to reuse
    assert set(rules) - used == set()
