"""Embedding(num_embeddings, dim): integer token ids [B, T] → vectors [B, T, dim]."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, as_tensor, dims_of, register_layer


@register_layer
@dataclass
class Embedding(Layer):
    NAME = "Embedding"
    num_embeddings: int
    dim: int
    padding_idx: int | None = None

    def validate(self):
        if self.num_embeddings <= 0 or self.dim <= 0:
            raise self.error(f"num_embeddings and dim must be positive, got {self.num_embeddings}, {self.dim}")

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is None:
            return T.TensorType("float32", None)
        dtype = as_tensor(x).dtype
        if not (dtype.startswith("int") or dtype.startswith("uint")):
            raise ShapeError("expects integer token ids (Tensor[int64, ...])")
        return T.TensorType("float32", (*dims, self.dim))

    def build(self, x: T.MType):
        from torch import nn
        return nn.Embedding(self.num_embeddings, self.dim, padding_idx=self.padding_idx)
