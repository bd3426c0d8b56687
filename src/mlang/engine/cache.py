"""Where the engine keeps what it derives from a model (ONNX graphs), keyed by the model's hash."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def m_home() -> Path:
    """The model repository root: `$M_HOME`, else `~/.mlang` (same rule as the registry)."""
    return Path(os.environ.get("M_HOME") or Path.home() / ".mlang")


def cache_dir(kind: str) -> Path:
    path = m_home() / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_hash(model, extra: str = "") -> str:
    """A content hash of a model: its class, structure, every tensor's name, shape, dtype and bytes.

    Two models with the same hash compute the same function, so a graph exported from one serves
    the other; any change to a weight or to the structure gives a new hash.
    """
    import torch

    digest = hashlib.sha256()
    digest.update(type(model).__qualname__.encode())
    digest.update(repr(model).encode())
    digest.update(extra.encode())
    for name, tensor in model.state_dict().items():
        if not isinstance(tensor, torch.Tensor):  # packed params of quantized layers
            digest.update(f"{name}:{tensor!r}".encode())
            continue
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(memoryview(tensor.reshape(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()[:24]
