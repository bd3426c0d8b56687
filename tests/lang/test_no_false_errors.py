"""Zero false errors: `m check` finds nothing wrong in any M program the project ships or shows —
every .m file in the repository (examples, the standard library, the tests' valid programs) and
every ```m block of README.md and docs/ (all of which run: tests/test_docs.py).  An unknown must
degrade to "no error"; a new check that breaks one of these is wrong, not the program."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import mlang.lang as lang

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "lang" / "corpus" / "invalid"  # programs written to show errors


def m_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.m"], cwd=ROOT, capture_output=True, text=True, check=True)
    paths = [ROOT / line for line in listed.stdout.splitlines()]
    return [p for p in paths if p.is_file() and INVALID not in p.parents]


def doc_blocks():
    spec = importlib.util.spec_from_file_location("docs_blocks", ROOT / "tests" / "test_docs.py")
    docs = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    return [b for path in docs.DOCS for b in docs.blocks_of(path) if b.language == "m"]


def errors(source: str, filename: str) -> list[str]:
    return [f"{d.span}: {d.message}" for d in lang.check_source(source, filename)]


@pytest.mark.parametrize("path", m_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_errors_in_a_shipped_m_file(path):
    assert errors(path.read_text(encoding="utf-8"), str(path)) == []


def test_no_errors_in_the_docs_m_blocks():
    found = {}
    for block in doc_blocks():
        # a `continues` block is checked as one program with the blocks before it
        source = "\n".join(b.text for b in block.chain)
        problems = errors(source, str(block.path))
        if problems:
            found[block.name] = problems
    assert found == {}
