"""Dense (alias Linear): a fully connected layer over the last dim, optionally with an activation."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, concrete_dim, dims_of, register_layer, with_dims, ShapeError


@register_layer
@dataclass
class Dense(Layer):
    NAME = "Dense"
    ALIASES = ("Linear",)
    units: int
    bias: bool = True
    activation: str | None = None

    def validate(self):
        if self.units <= 0:
            raise self.error(f"units must be positive, got {self.units}", argument="units")
        if self.activation is not None:
            from mlang.models.layers.activations import check_activation_name
            check_activation_name(self, self.activation)

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is None:
            return T.TensorType("float32", None)
        if len(dims) < 2:
            raise ShapeError("expects at least 2 dims [B, features]")
        return with_dims(x, (*dims[:-1], self.units))

    def build(self, x: T.MType):
        from torch import nn
        from mlang.models.layers.activations import activation_module

        linear = nn.Linear(concrete_dim(self, x, -1, "input features (last dim)"), self.units,
                           bias=self.bias)
        if self.activation is None:
            return linear
        return nn.Sequential(linear, activation_module(self.activation))
