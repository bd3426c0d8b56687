"""Residual(layer, ...): x + stack(x); the sub-stack must give back its input's shape."""
from __future__ import annotations

from dataclasses import dataclass, field

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, layer_from_config, register_layer


@register_layer
@dataclass(init=False)
class Residual(Layer):
    NAME = "Residual"
    VARARGS = "layers"
    layers: list = field(default_factory=list)

    def __init__(self, *layers, span=None, input_shape=None):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        self.layers = list(layers)
        self.span = span
        self.input_shape = input_shape
        self.__post_init__()

    def validate(self):
        if not self.layers:
            raise self.error("needs at least one layer to wrap")
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise self.error(f"wraps layers, got {type(layer).__name__} {layer!r}")

    def output_type(self, x: T.MType) -> T.MType:
        from mlang.models.shapes import propagate
        out = propagate(x, self.layers)[-1]
        if not T.unify(out, x):
            raise ShapeError(f"needs its layers to keep the input's shape, but they map {x} to {out}")
        return x

    def build(self, x: T.MType):
        from torch import nn
        from mlang.models.layers._modules import ResidualBlock
        from mlang.models.shapes import build_modules
        return ResidualBlock(nn.Sequential(*build_modules(x, self.layers)))

    def to_config(self) -> dict:
        return {"layer": self.NAME, "layers": [layer.to_config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict) -> "Residual":
        return cls(*(layer_from_config(c) for c in config["layers"]))

    def describe(self) -> str:
        return f"Residual({', '.join(layer.describe() for layer in self.layers)})"
