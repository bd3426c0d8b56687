"""Dropout(rate): zeroes a fraction of activations while training; keeps the shape."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, register_layer


@register_layer
@dataclass
class Dropout(Layer):
    NAME = "Dropout"
    rate: float = 0.5

    def validate(self):
        if not 0.0 <= self.rate < 1.0:
            raise self.error(f"rate must be in [0, 1), got {self.rate}", argument="rate")

    def output_type(self, x: T.MType) -> T.MType:
        return x

    def build(self, x: T.MType):
        from torch import nn
        return nn.Dropout(self.rate)
