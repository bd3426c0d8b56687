"""BatchNorm (1d/2d picked from the input's rank) and LayerNorm (over the last dim)."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, concrete_dim, dims_of, register_layer


@register_layer
@dataclass
class BatchNorm(Layer):
    NAME = "BatchNorm"
    ALIASES = ("BatchNormalization", "BatchNorm1d", "BatchNorm2d")
    momentum: float = 0.1
    eps: float = 1e-5

    def validate(self):
        if not 0.0 <= self.momentum <= 1.0:
            raise self.error(f"momentum must be in [0, 1], got {self.momentum}")

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is not None and not 2 <= len(dims) <= 4:
            raise ShapeError("expects [B, C], [B, C, L] or [B, C, H, W]")
        return x

    def build(self, x: T.MType):
        from torch import nn
        channels = concrete_dim(self, x, 1, "channels (dim 1)")
        rank = len(x.dims) if isinstance(x, T.TensorType) and x.dims else 4
        cls = nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d
        return cls(channels, eps=self.eps, momentum=self.momentum)


@register_layer
@dataclass
class LayerNorm(Layer):
    NAME = "LayerNorm"
    ALIASES = ("LayerNormalization",)
    eps: float = 1e-5

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is not None and len(dims) < 2:
            raise ShapeError("expects at least 2 dims [B, features]")
        return x

    def build(self, x: T.MType):
        from torch import nn
        return nn.LayerNorm(concrete_dim(self, x, -1, "features (last dim)"), eps=self.eps)
