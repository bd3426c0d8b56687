"""Max/average pooling (1D, 2D; Keras names MaxPooling2D, ...) and global pooling."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, dims_of, register_layer, with_dims
from mlang.models.layers.conv import as_tuple, check_padding, check_positive, conv_out


class _Pool(Layer):
    SPATIAL = 2
    MODE = "max"

    def strides(self) -> tuple:
        return as_tuple(self.stride if self.stride is not None else self.pool_size, self.SPATIAL)

    def validate(self):
        check_positive(self, "pool_size", self.pool_size, self.SPATIAL)
        if self.stride is not None:
            check_positive(self, "stride", self.stride, self.SPATIAL)
        check_padding(self, self.padding, self.SPATIAL)

    def output_type(self, x: T.MType) -> T.MType:
        n = self.SPATIAL
        dims = dims_of(x, n + 2, "[B, C, L]" if n == 1 else "[B, C, H, W]")
        if dims is None:
            return T.TensorType("float32", None)
        pads = self.padding if isinstance(self.padding, str) else as_tuple(self.padding, n)
        spatial = []
        for i, (size, k, s) in enumerate(zip(dims[2:], as_tuple(self.pool_size, n), self.strides())):
            out = conv_out(size, k, s, pads if isinstance(pads, str) else pads[i])
            if out is not None and out <= 0:
                raise ShapeError(f"has a pool window of {k} larger than the input size {size}")
            spatial.append(out)
        return with_dims(x, (*dims[:2], *spatial))

    def build(self, x: T.MType):
        from torch import nn
        from mlang.models.layers._modules import SameAvgPool, SamePad

        n, kernel, stride = self.SPATIAL, as_tuple(self.pool_size, self.SPATIAL), self.strides()
        max_cls = nn.MaxPool1d if n == 1 else nn.MaxPool2d
        avg_cls = nn.AvgPool1d if n == 1 else nn.AvgPool2d
        if self.padding == "same":
            if self.MODE == "max":
                return nn.Sequential(SamePad(kernel, stride, (1,) * n, float("-inf")),
                                     max_cls(kernel, stride))
            return SameAvgPool(avg_cls(kernel, stride), SamePad(kernel, stride, (1,) * n))
        padding = 0 if self.padding == "valid" else self.padding
        if self.MODE == "max":
            return max_cls(kernel, stride, padding)
        return avg_cls(kernel, stride, padding, count_include_pad=False)


@register_layer
@dataclass
class MaxPool2D(_Pool):
    NAME, ALIASES, SPATIAL, MODE = "MaxPool2D", ("MaxPooling2D", "MaxPool2d"), 2, "max"
    pool_size: int | tuple = 2
    stride: int | tuple | None = None
    padding: str | int | tuple = "valid"


@register_layer
@dataclass
class AvgPool2D(_Pool):
    NAME, ALIASES, SPATIAL, MODE = "AvgPool2D", ("AveragePooling2D", "AvgPool2d"), 2, "avg"
    pool_size: int | tuple = 2
    stride: int | tuple | None = None
    padding: str | int | tuple = "valid"


@register_layer
@dataclass
class MaxPool1D(_Pool):
    NAME, ALIASES, SPATIAL, MODE = "MaxPool1D", ("MaxPooling1D", "MaxPool1d"), 1, "max"
    pool_size: int | tuple = 2
    stride: int | tuple | None = None
    padding: str | int | tuple = "valid"


@register_layer
@dataclass
class AvgPool1D(_Pool):
    NAME, ALIASES, SPATIAL, MODE = "AvgPool1D", ("AveragePooling1D", "AvgPool1d"), 1, "avg"
    pool_size: int | tuple = 2
    stride: int | tuple | None = None
    padding: str | int | tuple = "valid"


class _GlobalPool(Layer):
    MODE = "avg"

    def output_type(self, x: T.MType) -> T.MType:
        dims = dims_of(x)
        if dims is None:
            return T.TensorType("float32", None)
        if len(dims) < 3:
            raise ShapeError("expects an input with spatial dims [B, C, ...]")
        return with_dims(x, dims[:2])

    def build(self, x: T.MType):
        from mlang.models.layers._modules import GlobalPool
        return GlobalPool(self.MODE)


@register_layer
@dataclass
class GlobalAvgPool(_GlobalPool):
    NAME, MODE = "GlobalAvgPool", "avg"
    ALIASES = ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D",
               "GlobalAvgPool2D")


@register_layer
@dataclass
class GlobalMaxPool(_GlobalPool):
    NAME, MODE = "GlobalMaxPool", "max"
    ALIASES = ("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPool1D", "GlobalMaxPool2D")
