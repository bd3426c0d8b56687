"""Any local Hugging Face-format directory (config.json + weights + tokenizer) as a text encoder.

Pooling defaults to what a sentence-transformers `1_Pooling/config.json` says, else mean pooling.
"""
from __future__ import annotations

import json
from pathlib import Path

from mlang.lang.diagnostics import MError


def hidden_size(directory: str) -> int | None:
    """The encoder's width from config.json, without loading it (for the checker)."""
    try:
        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    size = config.get("hidden_size", config.get("dim", config.get("d_model")))
    return size if isinstance(size, int) else None


def default_pooling(directory: str) -> str:
    try:
        config = json.loads((Path(directory) / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    if config.get("pooling_mode_max_tokens"):
        return "max"
    return "mean"


def load(directory: str, pooling: str | None = None, max_length: int = 256, normalize: bool = False,
         **chunking):
    from mlang.models.zoo.text_encoder import TextEncoderModel

    path = Path(directory).expanduser().resolve()
    if not any(path.glob("tokenizer*")) and not (path / "vocab.txt").exists():
        raise MError(f"{path} has no tokenizer files", field="pretrained_model",
                     hint="M loads Hugging Face text models with their tokenizer (tokenizer.json)")
    return TextEncoderModel.from_directory(str(path), source=str(path),
                                           pooling=pooling or default_pooling(str(path)),
                                           max_length=max_length, normalize=normalize, **chunking)
