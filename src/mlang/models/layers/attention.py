"""Self-attention over [B, T, E]: MultiHeadAttention, TransformerEncoderLayer, TransformerEncoder."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, concrete_dim, dims_of, known, register_layer


class _Attention(Layer):
    def validate(self):
        if self.num_heads <= 0:
            raise self.error(f"num_heads must be positive, got {self.num_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise self.error(f"dropout must be in [0, 1), got {self.dropout}")

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x, 3, "[B, T, E]")
        if dims is not None and known(dims[2]) and dims[2] % self.num_heads:
            raise ShapeError(f"needs an embedding size divisible by num_heads={self.num_heads}, "
                             f"got E={dims[2]}")
        return x

    def encoder_layer(self, x: T.MType):
        from torch import nn
        embed = concrete_dim(self, x, -1, "embedding size (last dim)")
        return nn.TransformerEncoderLayer(embed, self.num_heads, self.ff_dim or 4 * embed,
                                          self.dropout, self.activation, batch_first=True)


@register_layer
@dataclass
class MultiHeadAttention(_Attention):
    NAME = "MultiHeadAttention"
    num_heads: int
    dropout: float = 0.0

    def build(self, x: T.MType):
        from torch import nn
        from mlang.models.layers._modules import SelfAttention
        embed = concrete_dim(self, x, -1, "embedding size (last dim)")
        return SelfAttention(nn.MultiheadAttention(embed, self.num_heads, dropout=self.dropout,
                                                   batch_first=True))


@register_layer
@dataclass
class TransformerEncoderLayer(_Attention):
    NAME = "TransformerEncoderLayer"
    num_heads: int
    ff_dim: int | None = None
    dropout: float = 0.1
    activation: str = "relu"

    def build(self, x: T.MType):
        return self.encoder_layer(x)


@register_layer
@dataclass
class TransformerEncoder(_Attention):
    NAME = "TransformerEncoder"
    num_layers: int
    num_heads: int
    ff_dim: int | None = None
    dropout: float = 0.1
    activation: str = "relu"

    def validate(self):
        super().validate()
        if self.num_layers <= 0:
            raise self.error(f"num_layers must be positive, got {self.num_layers}")

    def build(self, x: T.MType):
        from torch import nn
        return nn.TransformerEncoder(self.encoder_layer(x), self.num_layers, enable_nested_tensor=False)
