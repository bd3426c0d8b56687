"""`model.bin` and friends: the Engine reads and writes the one M model file format
(`mlang.models.modelfile`), and resolves a text reference as a file path or a registry version."""
from __future__ import annotations

from pathlib import Path

from mlang.models.modelfile import read_model_file, write_model_file


def save_artifact(model, path) -> Path:
    """Write `model` as an M model file at exactly `path` (`engine.save_model('model.bin')`)."""
    return write_model_file(model, path)


def load_artifact(path, *, trust_code=None):
    """The model an M model file holds; its code runs only as `trust_code` allows."""
    return read_model_file(path, trust_code=trust_code)


def load_model_ref(ref, *, trust_code=None):
    """A model from a file path (an M model file) or a registry reference `name[:version]`
    (the registry's own checksums vouch for the code it saved)."""
    if isinstance(ref, Path) or Path(str(ref)).is_file():
        return load_artifact(ref, trust_code=trust_code)
    from mlang.registry import load

    return load(str(ref))
