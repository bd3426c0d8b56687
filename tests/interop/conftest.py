"""What the interop tests share: two M models saved as model files, their outputs in Python, their
`m export`s, and the toolchains (installed by examples/interop/install-toolchains.sh when missing).

The models: `stack`, a layer stack over Tensor[float32, B, 8] with three labels, and `minilm`, the
MiniLM-L6 encoder with a 2-class head (raw text in, labels out).  Every other language's answer is
compared with the Python model's own within `TOLERANCE`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from interop_support import SUFFIX, TEXTS, Reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from model_fixtures import make_minilm_classifier, make_tiny_classifier  # noqa: E402


def _stack():
    return make_tiny_classifier(labels=["low", "mid", "high"])


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Reference]:
    """The two models as M model files, with the outputs and labels Python gives."""
    from mlang.engine.artifact import save_artifact

    folder = tmp_path_factory.mktemp("interop_models")
    rows = (torch.randn(6, 8, generator=torch.Generator().manual_seed(3)) * 2).tolist()
    references = {}
    for name, build, inputs in (("stack", _stack, rows), ("minilm", make_minilm_classifier, TEXTS)):
        model = build()
        with torch.inference_mode():
            output = model(torch.tensor(inputs) if name == "stack" else inputs).float().numpy()
        labels = [model.labels[i] for i in output.argmax(1)]
        assert len(set(labels)) > 1, f"{name}: the examples should not all get one label"
        references[name] = Reference(save_artifact(model, folder / f"{name}.bin"), inputs, output, labels)
    return references


@pytest.fixture(scope="session")
def exported(models, tmp_path_factory):
    """`exported(name, format)`: the path `m export NAME.bin --format FORMAT` wrote (once a session)."""
    from mlang.cli import main

    folder = tmp_path_factory.mktemp("interop_exports")
    done: dict[tuple[str, str], Path] = {}

    def export(name: str, format: str) -> Path:
        if (name, format) not in done:
            path = folder / f"{name}{SUFFIX[format]}"
            assert main(["export", str(models[name].file), "--format", format, "-o", str(path)]) == 0
            assert path.is_file() and Path(f"{path}.json").is_file()
            done[name, format] = path
        return done[name, format]

    return export


