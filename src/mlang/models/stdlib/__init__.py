"""M's standard library of metamodels, written in M and shipped with the package.

`TextClassifier`, `TextEmbedder`, `QuestionAnswerer` (text.m), `ImageClassifier` (vision.m),
`Regressor`, `SequenceForecaster` (numeric.m) are M builtins: an M program names them without an
import (`model C extends TextClassifier { num_labels = 5 }`), and Python gets them here
(`from mlang.models.stdlib import TextClassifier`, or `m.stdlib_metamodel("TextClassifier")`).  Each `.m` file is compiled and run once per
process, the first time one of its metamodels is used, so `m check` never loads them.
"""
from __future__ import annotations

import functools
from pathlib import Path

STDLIB_DIR = Path(__file__).resolve().parent
# metamodel name → the file (in this folder) that declares it
METAMODELS = {
    "TextEmbedder": "text.m",
    "TextClassifier": "text.m",
    "QuestionAnswerer": "text.m",
    "ImageClassifier": "vision.m",
    "Regressor": "numeric.m",
    "SequenceForecaster": "numeric.m",
}

__all__ = list(METAMODELS)


@functools.lru_cache(maxsize=256)
def is_stdlib_file(filename: str | None) -> bool:
    """Whether `filename` is one of this folder's M files (asked per span by the checks: cached)."""
    return bool(filename) and Path(filename).resolve().parent == STDLIB_DIR


@functools.cache
def declarations() -> dict:
    """The standard metamodels' declarations as parsed, not run (name → `ast.ModelDecl`): what
    the checks read, without torch."""
    from mlang.lang import ast as A
    from mlang.lang.parser import parse

    found = {}
    for file in sorted(set(METAMODELS.values())):
        path = STDLIB_DIR / file
        module = parse(path.read_text(encoding="utf-8"), str(path))
        found.update({s.name: s for s in module.body if isinstance(s, A.ModelDecl)})
    return found


def metamodel(name: str):
    """The declared metamodel `name` (a `ModelClass`), loading its M file on first use."""
    from mlang.lang.diagnostics import MError
    from mlang.lang.runtime import import_m_module

    if name not in METAMODELS:
        raise MError(f"there is no standard metamodel {name!r}", field="metamodel",
                     hint=f"the standard metamodels: {', '.join(METAMODELS)}")

    module = import_m_module(str(STDLIB_DIR / METAMODELS[name]), str(STDLIB_DIR / "__init__.m"))
    return getattr(module, name)


def __getattr__(name: str):
    if name in METAMODELS:
        return metamodel(name)
    raise AttributeError(f"module 'mlang.models.stdlib' has no attribute {name!r}")
