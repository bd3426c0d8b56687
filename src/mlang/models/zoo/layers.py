"""Pretrained encoders as layer-catalogue entries, with shape rules from zoo metadata.

`TextEncoder(pretrained_model, pooling="mean", max_length=256)`: Text → Tensor[float32, B, dim]
(`pooling="none"`: [B, T, dim]); `chunking="windows"` (with `stride`, `max_windows`,
`window_pooling`) reads whole documents as windows of `max_length` tokens, pooled into one vector.
`ImageEncoder(pretrained_model="efficientnet-lite0")`: Image → Tensor[float32, B, features] (1280 for EfficientNet-Lite0, 128 for the dlib face embedder).
The shape rules read zoo metadata only, so `m check` never loads weights; `build` loads the
pretrained model, which brings its own preprocessing (tokenizer, image normalization) to the
model that contains it.
"""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError
from mlang.models.zoo import (entry_types, from_hub, is_hf_directory, is_zoo_name, likely_typo, unknown_pretrained,
                              zoo_entry, zoo_names)
from mlang.models.zoo.windows import CHUNKING_FIELDS, check_chunking, check_pooling

B = T.Sym("B")
IMAGE_ENCODER_OPTIONS = {"efficientnet-lite0": {"features": True}, "dlib-face-resnet": {}}


def _check_source(layer: Layer, name: str, wanted: type) -> None:
    if is_zoo_name(name):
        if not isinstance(zoo_entry(name).input_type, wanted):
            kinds = [n for n in zoo_names() if isinstance(zoo_entry(n).input_type, wanted)]
            raise layer.error(f"{name!r} is not a {'text' if wanted is T.TextType else 'image'} model",
                              hint=f"use one of: {', '.join(kinds)}", argument="pretrained_model")
        return
    if wanted is T.TextType and (is_hf_directory(name) or from_hub(name)):
        return
    # a text model's name may be a hub name or a directory made before the run: only a near
    # miss of a zoo name is surely wrong before it runs
    unknown = unknown_pretrained(name).diagnostics[0]
    raise layer.error(unknown.message, hint=unknown.hint, argument="pretrained_model",
                      run_time_only=wanted is T.TextType and likely_typo(name) is None)


@dataclass
class TextEncoder(Layer):
    NAME = "TextEncoder"
    pretrained_model: str = "minilm-l6"
    pooling: str = "mean"
    max_length: int = 256
    chunking: str = "none"
    stride: int = 0
    max_windows: int = 4
    window_pooling: str = "mean"

    def validate(self):
        _check_source(self, self.pretrained_model, T.TextType)

        def error(message: str, hint: str | None, argument: str):
            return self.error(message, hint=hint, argument=argument)

        check_pooling(self.pooling, error)
        if self.max_length < 2:
            raise self.error(f"max_length must be at least 2, got {self.max_length}", argument="max_length")
        check_chunking(**self._chunking(), pooling=self.pooling, max_length=self.max_length, error=error)

    def _chunking(self) -> dict:
        return {name: getattr(self, name) for name in CHUNKING_FIELDS}

    def output_type(self, x: T.MType) -> T.MType:
        if not isinstance(x, (T.TextType, T.AnyType)):
            raise ShapeError("expects Text")
        types = entry_types(self.pretrained_model, {"pooling": self.pooling})
        return types[1] if types else T.TensorType("float32", None)

    def build(self, x: T.MType):
        from mlang.models.zoo import load_pretrained

        chunking = self._chunking() if self.chunking != "none" else {}  # a loader needs no default
        return load_pretrained(self.pretrained_model, pooling=self.pooling, max_length=self.max_length,
                               **chunking)


@dataclass
class ImageEncoder(Layer):
    NAME = "ImageEncoder"
    pretrained_model: str = "efficientnet-lite0"

    def validate(self):
        _check_source(self, self.pretrained_model, T.ImageType)

    def output_type(self, x: T.MType) -> T.MType:
        channels = x.channels if isinstance(x, T.ImageType) else None
        if isinstance(x, T.TensorType) and x.dims is not None and len(x.dims) == 4:
            channels = x.dims[1]
        elif not isinstance(x, (T.ImageType, T.AnyType, T.TensorType)):
            raise ShapeError("expects an Image")
        if isinstance(channels, int) and channels != 3:
            raise ShapeError(f"expects 3-channel images, got {channels} channels")
        options = IMAGE_ENCODER_OPTIONS.get(self.pretrained_model, {})
        return entry_types(self.pretrained_model, options)[1]

    def build(self, x: T.MType):
        from mlang.models.zoo import load_pretrained

        return load_pretrained(self.pretrained_model, **IMAGE_ENCODER_OPTIONS.get(self.pretrained_model, {}))
