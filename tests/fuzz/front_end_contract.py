"""What the front end promises for any text, checked by the fuzz tests.

- `parse`, `check_source`, `compile_source` and `format_source` raise nothing but `MError`, and
  every `MError` carries worded diagnostics.
- A program that parses and passes the check compiles (a check that passes promises a run).
- `m fmt` is safe: a program that parses is formatted into text that parses to the same tree
  (positions aside), spells every literal as the program did, and formats to itself; it never
  refuses a program that parses.  Text that does not parse is refused, never "formatted".
"""
from __future__ import annotations

import random
from pathlib import Path

from mlang.lang import ast as m
from mlang.lang.api import check_source, compile_source
from mlang.lang.diagnostics import MError, MFormatError
from mlang.lang.formatter import format_source
from mlang.lang.lexer import tokenize
from mlang.lang.parser import parse

ROOT = Path(__file__).resolve().parents[2]
_POSITIONS = {"span", "base_span", "end", "filename", "source"}


def repository_programs() -> list[Path]:
    """Every .m file of the repository (examples, the corpus, the models' stdlib, ...)."""
    skip = {".venv", ".git", "node_modules", "build", "dist"}
    return sorted(p for p in ROOT.rglob("*.m") if not skip & set(p.relative_to(ROOT).parts))


def tree(module: m.Module) -> list:
    """The tree as a flat list, positions left out: two modules are the same program exactly when
    their lists are equal (node kinds in walk order, each with its plain fields and the lengths
    of its lists).  Iterative, so flat chains thousands long are fine."""
    out = []
    for node in m.walk(module):
        out.append(type(node).__name__)
        for name in node.__dataclass_fields__:
            if name in _POSITIONS:
                continue
            value = getattr(node, name)
            if isinstance(value, m.Node):
                continue
            if isinstance(value, list):
                out.append(len(value) if all(isinstance(v, m.Node) for v in value) else tuple(value))
            else:
                out.append((type(value).__name__, value))
    return out


def _literals(text: str) -> list[str]:
    return [tok.value for tok in tokenize(text)[0] if tok.type in ("NUMBER", "STRING", "FSTRING")]


def _worded(err: MError) -> None:
    assert err.diagnostics and all(d.message for d in err.diagnostics), repr(err)


def assert_front_end_contract(text: str, filename: str = "fuzz.m") -> None:
    """Assert the promises above for `text` (see the module docstring)."""
    try:
        module = parse(text, filename)
    except MError as err:
        _worded(err)
        module = None
    diagnostics = check_source(text, filename)
    assert all(d.message for d in diagnostics)
    try:
        compile_source(text, filename, check=False)
        compiled = None
    except MError as err:
        _worded(err)
        compiled = err
    if module is not None and not any(d.severity == "error" for d in diagnostics):
        assert compiled is None, f"passes the check but does not compile: {compiled}"
    try:
        formatted = format_source(text, filename)
    except MFormatError as err:
        assert module is None, f"fmt refused a valid program: {err}"
        raise AssertionError("fmt refused with MFormatError a text that does not parse") from None
    except MError as err:
        _worded(err)
        assert module is None, f"fmt refused a program that parses: {err}"
        return
    assert module is not None, "fmt formatted a text that does not parse"
    again = parse(formatted, filename)
    assert tree(again) == tree(module), f"fmt changed the program:\n{formatted}"
    assert _literals(formatted) == _literals(text.removeprefix("\ufeff")), f"fmt rewrote a literal:\n{formatted}"
    assert format_source(formatted, filename) == formatted, f"fmt is not idempotent on:\n{formatted}"


# ---------------------------------------------------------------- mutations of real programs

# Pieces the mutations insert: what breaks lexers and layouts.
SPECIAL = ["\f", "\u2028", "\x85", "\ufeff", "\r\n", "\r", "/*", "*/", "//", "#", "{", "}", "(", ")", "[", "]",
           '"', "'", 'f"', "f'''", '"""', "\n", ";", ",", " if x else ", "{}", "({})", " else {", "\\", "\t", "é",
           "0x" + "f" * 4400, " + 1" * 300, "\x00", "__debug__", "\xff", "{{", "}}", "!r", ":>4"]


def mutate(text: str, rnd: random.Random, fragments: list[str]) -> str:
    """`text` with one to three random edits: a piece deleted, inserted, copied or replaced, or
    two lines swapped."""
    for _ in range(rnd.randint(1, 3)):
        op = rnd.randrange(5)
        i = rnd.randrange(len(text) + 1)
        j = min(len(text), i + rnd.randint(0, 40))
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + rnd.choice(SPECIAL + fragments) + text[i:]
        elif op == 2:
            k = rnd.randrange(len(text) + 1)
            text = text[:k] + text[i:j] + text[k:]
        elif op == 3:
            lines = text.split("\n")
            a, b = rnd.randrange(len(lines)), rnd.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        else:
            text = text[:i] + rnd.choice(SPECIAL) + text[i + 1:]
    return text


def run_mutations(count: int, seed: int, fragments: list[str]) -> int:
    """Check the contract on `count` mutations of the repository's programs (and on the
    programs themselves); the number of mutations that still parsed."""
    # Each text is checked under a name next to its file (so its imports resolve) but not the
    # file's own: the front end caches sources by file name.
    programs = [(str(path.with_name(f"fuzz-{path.name}")), path.read_text(encoding="utf-8"))
                for path in repository_programs()]
    assert programs, "no .m files found"
    for name, text in programs:
        assert_front_end_contract(text, name)
    rnd = random.Random(seed)
    parsed = 0
    for n in range(count):
        name, text = rnd.choice(programs)
        mutated = mutate(text, rnd, fragments)
        try:
            assert_front_end_contract(mutated, name)
        except AssertionError as err:
            raise AssertionError(f"mutation {n} (seed {seed}) of {name}: {mutated!r}\n{err}") from None
        try:
            parse(mutated)
            parsed += 1
        except MError:
            pass
    return parsed
