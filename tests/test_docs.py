"""The documentation is executed: every ```m and ```python block in README.md and docs/**/*.md.

One test per block, named `FILE:LINE` (the line of the opening fence).  Each runs in a fresh
temporary folder as its working directory, with its own model repository (`M_HOME`, from
conftest.py):

- an ```m block runs as an M program through the public path (`mlang.lang.api.run_source`: check,
  compile, run); its file name is the doc's path and its line numbers are the doc's, so an error
  reads `docs/models.md:25:5: error: …`;
- a ```python block is compiled with the doc's path and line numbers and exec'd in a fresh module.

Markers, in the fence's info string (```m check-only) or in an HTML comment on the line before
the fence (`<!-- docs: check-only (why) -->`; words first, an optional reason in parentheses):

- `check-only`: not run.  An M block must pass `m check` with no errors; a Python block must
  compile.  Only for examples that need what a test cannot have — the network (https URLs), a GPU,
  several machines, a server left running — and the doc says so next to the block.
- `slow`: runs only with `-m slow` (a real fine-tune of MiniLM, a long search).
- `continues`: continues the previous block of the same language in the same file — the two run
  as one program (the earlier one first; their names are shared).  It inherits `check-only` and
  `slow` from the block it continues.
- `output`: on a ```text block right after a block: that block's printed output, compared.

Expected output: the `print(...)` lines of a block that end in `// → text` (M) or `# → text`
(Python), one printed line each, in order, or an `output` block after it.  (A `→` comment on a
line without `print(` is prose, as in `ref = save(model, "tiny")  // → "tiny:1"`.)  When a block states any, everything
it prints (stdout) must match them exactly (trailing spaces aside); `...` in an expected line
matches any text within the line, and a line that is only `...` matches any number of lines.
A block that states none must only run without error.  Everything else in these files (```sh,
```text without `output`, plain ``` transcripts) is not run.
"""
from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LANGUAGES = ("m", "python")
MARKERS = {"check-only", "slow", "continues", "output"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>.*)$")
COMMENT = re.compile(r"^\s*<!--\s*docs:\s*(?P<words>[^()]*?)\s*(?:\((?P<why>.*)\))?\s*-->\s*$")
# `print(...)  // → text`: the code, then the expected line (a `→` comment elsewhere is prose).
EXPECTED = {"m": re.compile(r"^(?P<code>.*\bprint\(.*?)\s*//\s*→ ?(?P<text>.*?)\s*$"),
            "python": re.compile(r"^(?P<code>.*\bprint\(.*?)\s*#\s*→ ?(?P<text>.*?)\s*$")}
# Printed between the blocks of a `continues` chain, to tell their outputs apart.
BOUNDARY = "<<docs: end of a continued block>>"


@dataclass
class Block:
    path: Path
    line: int                   # the opening fence's line (1-based)
    language: str
    text: str                   # the code, without the fences
    markers: set[str]
    expected: list[str] | None = None   # expected output lines, or None: output not compared
    previous: Block | None = None       # the block this one continues
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def chain(self) -> list[Block]:
        return (self.previous.chain if self.previous else []) + [self]

    def marked(self, marker: str) -> bool:
        return any(marker in block.markers for block in self.chain)


def blocks_of(path: Path) -> list[Block]:
    """Every ```m / ```python block of a Markdown file, with its markers and expected output."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    last: dict[str, Block] = {}
    fenced: Block | None = None  # the block of the fence just before, when it is one
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening["fence"]
        if fence[0] == "`" and "`" in opening["info"]:  # CommonMark: not a fence, inline code
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not re.match(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[end]):
            end += 1
        words = opening["info"].replace(",", " ").split()
        language, markers, problems = (words[0] if words else ""), set(words[1:]), []
        comment = COMMENT.match(lines[index - 1]) if index else None
        if comment:
            markers |= set(comment["words"].replace(",", " ").split())
        body = lines[index + 1:end]
        if language in LANGUAGES:
            problems += [f"unknown marker {m!r} (known: {', '.join(sorted(MARKERS))})"
                         for m in sorted(markers - MARKERS)]
            block = Block(path, index + 1, language, "\n".join(body) + "\n", markers, problems=problems)
            expected = [m["text"] for m in map(EXPECTED[language].search, body) if m]
            block.expected = expected or None
            if "continues" in markers:
                block.previous = last.get(language)
                if block.previous is None:
                    block.problems.append(f"'continues', but no ```{language} block comes before it")
            found.append(block)
            last[language] = fenced = block
        elif "output" in markers:
            if fenced is None:
                raise AssertionError(f"{path}:{index + 1}: an 'output' block must come right after "
                                     "an ```m or ```python block")
            if fenced.expected:
                fenced.problems.append("both '→' comments and an 'output' block")
            fenced.expected = body
            fenced = None
        else:
            fenced = None
        index = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in blocks_of(path)]


BLOCKS = all_blocks()


def program(block: Block) -> tuple[str, list[Block]]:
    """The text to run for `block`: its chain's blocks at their own line numbers in the doc (blank
    lines elsewhere), with a boundary print on the closing fence line between two blocks."""
    lines: list[str] = []
    chain = block.chain
    for position, member in enumerate(chain):
        lines += [""] * (member.line - len(lines))  # the text starts on the line after the fence
        lines += member.text.splitlines()
        if position < len(chain) - 1:
            lines.append(f'print("{BOUNDARY}")')   # on the closing fence's line
    return "\n".join(lines) + "\n", chain


def matches(expected: list[str], printed: str) -> bool:
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += r"[^\n]*".join(map(re.escape, line.rstrip().split("..."))) + r"\n"
    text = "".join(line.rstrip() + "\n" for line in printed.rstrip("\n").split("\n")) if printed.strip() else ""
    return re.fullmatch(pattern, text) is not None


def run_m(source: str, filename: str, check_only: bool) -> None:
    from mlang.lang import api as lang

    if check_only:
        errors = [d for d in lang.check_source(source, filename) if d.severity == "error"]
        assert not errors, "m check reports:\n" + "\n".join(d.format(source) for d in errors)
        return
    try:
        lang.run_source(source, filename)
    except Exception as err:
        from mlang.lang.diagnostics import MError

        if isinstance(err, MError):
            pytest.fail(lang.format_error(err), pytrace=False)
        raise


def run_python(source: str, filename: str, check_only: bool, monkeypatch) -> None:
    code = compile(source, filename, "exec")
    if check_only:
        return
    module = types.ModuleType("docs_block")
    module.__file__ = filename
    monkeypatch.setitem(sys.modules, "docs_block", module)
    exec(code, module.__dict__)


@pytest.fixture
def restore_process_state():
    """A block may change what the whole process shares — torch's thread count, the builtin
    registry and the layer catalogue (a doc that registers a layer): put it back afterwards."""
    from mlang.lang import registry
    from mlang.models.layers import base as layers

    from mlang.lang import api as lang

    lang.check_source("x = 1", "<docs>")  # registers the core builtins, loads every stage's
    layers._discover()
    saved = (dict(registry._builtins), list(registry._checks), dict(registry._hooks), dict(layers._LAYERS))
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    yield
    for live, kept in zip((registry._builtins, registry._checks, registry._hooks, layers._LAYERS), saved):
        live.clear()
        live.update(kept) if isinstance(live, dict) else live.extend(kept)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads or torch.get_num_threads())


@pytest.mark.parametrize("block", [
    # A slow block fine-tunes for real: on 2 busy cores that may take longer than the suite's limit.
    pytest.param(block, id=block.name,
                 marks=[pytest.mark.slow, pytest.mark.timeout(2400)] if block.marked("slow") else [])
    for block in BLOCKS])
def test_doc_block(block: Block, tmp_path, monkeypatch, capsys, restore_process_state):
    assert not block.problems, f"{block.name}: " + "; ".join(block.problems)
    monkeypatch.chdir(tmp_path)
    source, chain = program(block)
    filename = block.path.relative_to(ROOT).as_posix()
    check_only = block.marked("check-only")
    if block.language == "m":
        run_m(source, filename, check_only)
    else:
        run_python(source, str(block.path), check_only, monkeypatch)
    printed = capsys.readouterr().out.split(BOUNDARY + "\n")
    if check_only:
        return
    assert len(printed) == len(chain), printed
    for member, output in zip(chain, printed):
        if member.expected is not None:
            assert matches(member.expected, output), (
                f"{member.name} prints\n{output}\nbut the doc shows\n" + "\n".join(member.expected))


# The harness itself.

def test_blocks_are_collected_from_readme_and_every_doc():
    names = {block.name for block in BLOCKS}
    assert any(name.startswith("README.md:") for name in names)
    assert any(name.startswith("docs/language.md:") for name in names)
    assert len(names) == len(BLOCKS)


def test_markers_expected_output_and_continuation_are_read(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "intro\n"
        "```m\n"
        "x = 1\n"
        "print(x)   // → 1\n"
        "```\n"
        "<!-- docs: continues, slow (it is long) -->\n"
        "```m\n"
        "print(x + 1)\n"
        "```\n"
        "```text output\n"
        "2\n"
        "```\n"
        "```python check-only\n"
        "import network\n"
        "```\n"
        "```m frobnicate\n"
        "```\n")
    first, second, third, fourth = blocks_of(doc)
    assert (first.line, first.language, first.expected, first.markers) == (2, "m", ["1"], set())
    assert second.previous is first and second.markers == {"continues", "slow"}
    assert second.expected == ["2"] and second.marked("slow") and not first.marked("slow")
    assert third.markers == {"check-only"} and third.expected is None
    assert fourth.problems == ["unknown marker 'frobnicate' (known: check-only, continues, output, slow)"]
    source, chain = program(second)
    assert chain == [first, second]
    assert source.splitlines()[2:8] == ["x = 1", "print(x)   // → 1", f'print("{BOUNDARY}")', "", "",
                                         "print(x + 1)"]


@pytest.mark.parametrize("expected, printed, ok", [
    (["1", "2"], "1\n2\n", True),
    (["1", "2"], "1\n2\n3\n", False),
    (["1"], "1   \n", True),
    (["loss ..."], "loss 0.25\n", True),
    (["a", "...", "z"], "a\nb\nc\nz\n", True),
    (["a", "...", "z"], "a\nz\n", True),
    (["a"], "b\n", False),
    ([], "", True),
])
def test_expected_output_matching(expected, printed, ok):
    assert matches(expected, printed) is ok
