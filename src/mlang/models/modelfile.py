"""The M model file: one self-describing safetensors file, the only one M writes or reads.

The tensors are the state dict; the header's metadata carries `"format": "mlang.model/1"`, the
JSON config that rebuilds the architecture (`mlang.models.serialize.dump`) and the small files a
model needs (tokenizer, vocabulary), base64-encoded.  `saveModelFile`, `engine.save_model`,
`export(..., format="safetensors")` write it; `loadModelFromUrl`, `Engine.load_model`, `m export`
and `m serve FILE` read it.  Nothing in it is ever unpickled, and code that a model carries (a
`forward` block, a `customModel` function) runs only when the caller trusts it
(`mlang.models.trust`).
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

from mlang.lang.diagnostics import MError

FORMAT = "mlang.model/1"
SUFFIX = ".safetensors"
# Files written before the two writers became one name their keys differently; both still read.
_LEGACY_KEYS = ("mlang.config", "mlang.files")
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # a pickle protocol byte; torch.save's zip archive


def write_model_file(model, path) -> Path:
    """Write `model` to `path` (`.safetensors` is appended to a name without a suffix)."""
    from mlang.models.serialize import dump

    target = Path(path)
    return write_artifact(dump(model), target if target.suffix else target.with_name(target.name + SUFFIX))


def write_artifact(artifact, path) -> Path:
    """Write an `Artifact(config, tensors, files)` to exactly `path`."""
    from safetensors.torch import save_file

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "config": json.dumps(artifact.config),
        "files": json.dumps({name: base64.b64encode(data).decode("ascii")
                             for name, data in artifact.files.items()}),
    }
    save_file(_unshared(artifact.tensors), str(target), metadata=metadata)
    return target


def save_model_file(model, path) -> str:
    """`saveModelFile(model, path)`: the path written, as text."""
    return str(write_model_file(model, path))


def read_artifact(path):
    """The `Artifact` an M model file holds, without building the model."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    from mlang.models.serialize import Artifact

    path = Path(path)
    refuse_pickle(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise MError(f"{path}: not a readable M model file ({error})", field="path",
                     hint="M model files are written by saveModelFile / engine.save_model") from None
    if metadata.get("format") == FORMAT:
        config_text, files_text = metadata.get("config"), metadata.get("files", "{}")
    else:
        config_text, files_text = (metadata.get(key) for key in _LEGACY_KEYS)
    if config_text is None:
        raise MError(f"{path}: a safetensors file without an M model config (bare weights)",
                     field="path", hint="load bare weights into a model with model.load_state_dict")
    try:
        config = json.loads(config_text)
        files = {name: base64.b64decode(data) for name, data in json.loads(files_text or "{}").items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise MError(f"{path}: the M model config in its header is damaged ({error})",
                     field="config") from None
    if not isinstance(config, dict):
        raise MError(f"{path}: the M model config in its header is not a JSON object", field="config")
    return Artifact(config=config, tensors=tensors, files=files, origin=str(path))


def read_model_file(path, *, trust_code=None, origin: str | None = None):
    """Rebuild the model an M model file describes, in inference mode (as every loaded
    pretrained model; fine-tuning switches to train mode).  `origin` names it in messages."""
    from mlang.models.serialize import restore

    artifact = read_artifact(path)
    artifact.origin = origin or artifact.origin
    return restore(artifact, trust_code=trust_code).eval()


def refuse_pickle(path: Path) -> None:
    """Pickles can run code when read: M never opens one, whatever its name."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(9)
    except OSError as error:
        raise MError(f"{path}: cannot read it ({error.strerror or error})", field="path") from None
    is_safetensors = head[8:9] == b"{"  # an 8-byte header length, then the JSON header
    if not is_safetensors and head.startswith(_PICKLE_MAGIC):
        raise MError(f"{path}: M does not load pickled files (they can run code)", field="path",
                     hint="share models as M model files (saveModelFile) or safetensors directories")


def _unshared(tensors: dict) -> dict:
    """safetensors refuses tensors that share memory (tied weights): give each its own copy."""
    seen, out = set(), {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu()
        key = tensor.untyped_storage().data_ptr()
        out[name] = tensor.clone().contiguous() if key in seen or not tensor.is_contiguous() else tensor
        seen.add(key)
    return out
