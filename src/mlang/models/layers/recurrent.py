"""LSTM and GRU over [B, T, features] (batch first): the last step [B, H] or the sequence [B, T, H]."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, concrete_dim, dims_of, register_layer, with_dims


class _Recurrent(Layer):
    CELL = "LSTM"

    def validate(self):
        if self.hidden_size <= 0 or self.num_layers <= 0:
            raise self.error(f"hidden_size and num_layers must be positive, got {self.hidden_size}, {self.num_layers}",
                             argument="hidden_size" if self.hidden_size <= 0 else "num_layers")
        if not 0.0 <= self.dropout < 1.0:
            raise self.error(f"dropout must be in [0, 1), got {self.dropout}", argument="dropout")

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x, 3, "[B, T, features]")
        hidden = self.hidden_size * (2 if self.bidirectional else 1)
        if dims is None:
            return T.TensorType("float32", None)
        if self.return_sequences:
            return with_dims(x, (dims[0], dims[1], hidden))
        return with_dims(x, (dims[0], hidden))

    def build(self, x: T.MType):
        from torch import nn
        from mlang.models.layers._modules import Recurrent

        rnn = getattr(nn, self.CELL)(concrete_dim(self, x, -1, "features (last dim)"), self.hidden_size,
                                     num_layers=self.num_layers, batch_first=True,
                                     bidirectional=self.bidirectional,
                                     dropout=self.dropout if self.num_layers > 1 else 0.0)
        return Recurrent(rnn, self.return_sequences)


@register_layer
@dataclass
class LSTM(_Recurrent):
    NAME, CELL = "LSTM", "LSTM"
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    return_sequences: bool = False
    dropout: float = 0.0


@register_layer
@dataclass
class GRU(_Recurrent):
    NAME, CELL = "GRU", "GRU"
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    return_sequences: bool = False
    dropout: float = 0.0
