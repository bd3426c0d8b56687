"""Flatten (all dims after the batch) and Reshape(shape) (the shape excludes the batch dim)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, dims_of, known, register_layer, with_dims


@register_layer
@dataclass
class Flatten(Layer):
    NAME = "Flatten"

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is None:
            return T.TensorType("float32", None)
        if len(dims) < 2:
            raise ShapeError("expects at least 2 dims [B, ...]")
        rest = dims[1:]
        size = math.prod(rest) if all(known(d) for d in rest) else None
        return with_dims(x, (dims[0], size))

    def build(self, x: T.MType):
        from torch import nn
        return nn.Flatten(1)


@register_layer
@dataclass
class Reshape(Layer):
    NAME = "Reshape"
    shape: tuple

    def validate(self):
        if not self.shape or any(d == 0 or d < -1 for d in self.shape) or list(self.shape).count(-1) > 1:
            raise self.error(f"shape must be positive sizes with at most one -1, got {tuple(self.shape)}")

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is None:
            return T.TensorType("float32", None)
        rest = dims[1:]
        target = list(self.shape)
        size = math.prod(rest) if all(known(d) for d in rest) else None
        fixed = math.prod(d for d in target if d != -1)
        if size is not None:
            if -1 in target:
                if size % fixed:
                    raise ShapeError(f"cannot reshape {size} elements to {tuple(target)}")
                target[target.index(-1)] = size // fixed
            elif size != fixed:
                raise ShapeError(f"cannot reshape {size} elements to {tuple(target)} ({fixed} elements)")
        return with_dims(x, (dims[0], *(None if d == -1 else d for d in target)))

    def build(self, x: T.MType):
        from mlang.models.layers._modules import Reshape as ReshapeModule
        return ReshapeModule(tuple(self.shape))
