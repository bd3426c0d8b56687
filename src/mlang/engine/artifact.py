"""`model.bin`: one self-contained file holding a model, readable back without M's repository.

It is a safetensors file: the tensors are the state dict, and the header's metadata carries the
JSON config that rebuilds the architecture and the auxiliary files (tokenizer, vocabulary) that
`mlang.models.serialize.dump` produced, base64-encoded.  Nothing is ever unpickled.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

from mlang.lang.diagnostics import MError

FORMAT = "mlang.model/1"


def save_artifact(model, path) -> Path:
    from safetensors.torch import save_file

    from mlang.models.serialize import dump

    artifact = dump(model)
    metadata = {
        "format": FORMAT,
        "config": json.dumps(artifact.config),
        "files": json.dumps({name: base64.b64encode(data).decode("ascii")
                             for name, data in artifact.files.items()}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(_unshared(artifact.tensors), str(path), metadata=metadata)
    return path


def load_artifact(path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    from mlang.models.serialize import Artifact, restore

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # noqa: BLE001 - safetensors reports corrupt files with several types
        raise MError(f"{path} is not a model file: {error}", field="path") from None
    if metadata.get("format") != FORMAT:
        raise MError(f"{path} is a safetensors file but not an M model (no '{FORMAT}' metadata)",
                     field="path", hint="write model files with engine.save_model(path) or "
                                        "export(model, path, format='safetensors')")
    files = {name: base64.b64decode(data) for name, data in json.loads(metadata["files"]).items()}
    artifact = Artifact(config=json.loads(metadata["config"]), tensors=load_file(str(path)), files=files)
    return restore(artifact)


def load_model_ref(ref):
    """A model from a file path (an M model file) or a registry reference `name[:version]`."""
    if isinstance(ref, Path) or Path(str(ref)).is_file():
        return load_artifact(ref)
    from mlang.registry import load

    return load(str(ref))


def _unshared(tensors: dict) -> dict:
    """safetensors refuses tensors that share memory (tied weights): give each its own copy."""
    seen, out = set(), {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu()
        key = tensor.untyped_storage().data_ptr()
        out[name] = tensor.clone().contiguous() if key in seen or not tensor.is_contiguous() else tensor
        seen.add(key)
    return out
