"""Where the engine keeps what it derives from a model (ONNX graphs), keyed by the model's hash."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from mlang.models.url import m_home


def cache_dir(kind: str) -> Path:
    """`$M_HOME/cache/KIND`; where `M_HOME` cannot be written (a read-only or full repository
    that is still served), a private folder under the system's temp folder."""
    path = m_home() / "cache" / kind
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    private = Path(tempfile.gettempdir()) / f"mlang-cache-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    (private / kind).mkdir(exist_ok=True)
    return private / kind


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
