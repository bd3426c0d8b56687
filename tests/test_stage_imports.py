"""docs/architecture.md's pipeline, read from the source: a stage imports only from stages before
it (`lang → models → data → train / optimize / registry → engine → serve`), the side-by-side
stages not from each other except where the page says (hyperparameter search saving into the
registry), and the tools on top (api, cli, repl, lsp) from anything."""
from __future__ import annotations

import ast
from pathlib import Path

import mlang

SOURCE = Path(mlang.__file__).parent
RANK = {"lang": 0, "models": 1, "data": 2, "train": 3, "optimize": 3, "registry": 3, "engine": 4, "serve": 5}
# the documented exception: which modules of a stage import a side-by-side one
SIDEWAYS = {("train", "registry"): {"train/hpo/tune.py"}}


def imports_of(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)


def test_every_stage_imports_only_the_stages_before_it():
    wrong, sideways = [], {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        stage = relative.split("/")[0]
        if stage not in RANK:
            continue  # api.py, cli.py, repl.py, lsp/: on top of every stage
        for module, line in imports_of(path):
            parts = module.split(".")
            if parts[0] != "mlang" or len(parts) < 2 or parts[1] == stage:
                continue
            target = parts[1]
            if target not in RANK or RANK[target] > RANK[stage]:
                wrong.append(f"{relative}:{line} imports {module}")
            elif RANK[target] == RANK[stage]:
                sideways.setdefault((stage, target), set()).add(relative)
    assert wrong == []
    assert sideways == SIDEWAYS
    architecture = (SOURCE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "lang → models → data → train / optimize / registry → engine → serve" in architecture
    assert "`train/hpo/tune.py`" in architecture  # the exception is written where the rule is
