"""Helpers of the interop tests (tests/interop/conftest.py holds the fixtures): the texts, the
tolerance, comparing with Python, token ids from the exported tokenizer, the toolchain check and
the build cache."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "interop"
INSTALLER = EXAMPLES / "install-toolchains.sh"
# Builds (the C++ example against libtorch, the Java client) are cached here, keyed by a hash of
# their sources and toolchain: git-ignored, reused by later runs in the same checkout.
BUILD = Path(os.environ.get("M_INTEROP_BUILD", REPO / "build" / "interop"))
TOLERANCE = 1e-4
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "aoti": ".pt2"}
TEXTS = [
    "tasty food, my dog loves it",
    "Crème brûlée was stale — never again!",
    "ok",
    # longer than the model's max_length (128 tokens): every caller must truncate as M does
    "the soup was cold and the waiter forgot our order, " * 20 + "but the dessert saved the evening",
]


@dataclass
class Reference:
    """A saved model and what Python computes for `inputs`."""

    file: Path
    inputs: object
    output: np.ndarray
    labels: list[str]


def sidecar(path: Path) -> dict:
    return json.loads(Path(f"{path}.json").read_text())


def assert_matches(got, reference: Reference, labels=None) -> None:
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == reference.output.shape
    assert np.abs(got - reference.output).max() <= TOLERANCE
    if labels is not None:
        assert list(labels) == reference.labels


def token_inputs(path: Path, texts) -> dict:
    """Token ids for `texts` from the exported tokenizer.json (Python's `tokenizers`), with the
    truncation and padding the sidecar states: what the C++ example is given."""
    from tokenizers import Tokenizer

    info = sidecar(path)
    prep = info["preprocessing"]
    tokenizer = Tokenizer.from_file(str(path.parent / prep["tokenizer"]))
    tokenizer.enable_truncation(prep["max_length"], direction=prep["truncation_side"])
    tokenizer.enable_padding(pad_id=prep["pad_token_id"], direction=prep["padding_side"])
    encoded = tokenizer.encode_batch(list(texts))
    columns = {"input_ids": [e.ids for e in encoded], "attention_mask": [e.attention_mask for e in encoded],
               "token_type_ids": [e.type_ids for e in encoded]}
    return {spec["name"]: columns[spec["name"]] for spec in info["inputs"]}


# ----- toolchains ------------------------------------------------------------------------------
_installer_output: list[str] = []


def require(*commands: str, files: tuple[str, ...] = ()) -> None:
    """Skip unless every command and file is there — after running the installer once when one
    is missing (it installs with apt-get as root, and the Node packages with npm ci)."""
    def missing():
        return ([c for c in commands if shutil.which(c) is None]
                + [f for f in files if not (EXAMPLES / f).exists() and not Path(f).exists()])

    if missing() and not _installer_output:
        run = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900)
        _installer_output.append((run.stdout + run.stderr).strip() or f"exit {run.returncode}")
    if missing():
        pytest.skip(f"{', '.join(missing())} not installed, and {INSTALLER.relative_to(REPO)} could not "
                    f"install it: {_installer_output[0][-400:]}")


def source_hash(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes() if isinstance(part, Path) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def tool_version(command: str, flag: str = "--version") -> str:
    run = subprocess.run([command, flag], capture_output=True, text=True)
    return (run.stdout + run.stderr).strip()


def cached_build(name: str, key: str, build) -> Path:
    """`BUILD/NAME-KEY`, made by `build(folder)` unless a finished one is there already."""
    target = BUILD / f"{name}-{key}"
    if not (target / ".done").is_file():
        partial = BUILD / f"{name}-{key}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        build(partial)
        (partial / ".done").touch()
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
    return target


def run_checked(command: list, *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    run = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert run.returncode == 0, f"{' '.join(map(str, command))} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    return run
