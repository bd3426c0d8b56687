"""Conv1D and Conv2D (channels-first: [B, C, L] and [B, C, H, W])."""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import (
    Layer, ShapeError, concrete_dim, dims_of, known, register_layer, with_dims,
)


def as_tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def conv_out(size, kernel: int, stride: int, padding, dilation: int = 1):
    """Output length of a convolution/pooling window over `size` (None when unknown)."""
    if not known(size):
        return None
    if padding == "same":
        return -(-size // stride)
    pad = 0 if padding == "valid" else padding
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def check_padding(layer: Layer, padding, n: int) -> None:
    values = padding if isinstance(padding, (tuple, list)) else [padding]
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise layer.error(f"padding must be 'valid', 'same' or a number, got '{padding}'")
    elif any(not isinstance(v, int) or v < 0 for v in values) or len(as_tuple(padding, n)) != n:
        raise layer.error(f"padding must be 'valid', 'same' or {n} non-negative int(s), got {padding!r}")


def check_positive(layer: Layer, name: str, value, n: int) -> None:
    values = as_tuple(value, n)
    if len(values) != n or any(v <= 0 for v in values):
        raise layer.error(f"{name} must be {n} positive int(s), got {value!r}")


class _Conv(Layer):
    SPATIAL = 2

    def validate(self):
        n = self.SPATIAL
        if self.filters <= 0:
            raise self.error(f"filters must be positive, got {self.filters}")
        check_positive(self, "kernel", self.kernel, n)
        check_positive(self, "stride", self.stride, n)
        check_positive(self, "dilation", self.dilation, n)
        check_padding(self, self.padding, n)

    def output_type(self, x: T.MType) -> T.MType:
        n = self.SPATIAL
        layout = "[B, C, L]" if n == 1 else "[B, C, H, W]"
        dims = dims_of(x, n + 2, layout)
        if dims is None:
            return T.TensorType("float32", None)
        pads = self.padding if isinstance(self.padding, str) else as_tuple(self.padding, n)
        spatial = []
        for i, (size, k, s, d) in enumerate(zip(dims[2:], as_tuple(self.kernel, n),
                                                as_tuple(self.stride, n), as_tuple(self.dilation, n))):
            out = conv_out(size, k, s, pads if isinstance(pads, str) else pads[i], d)
            if out is not None and out <= 0:
                raise ShapeError(f"has a kernel of {k} that does not fit an input size of {size}")
            spatial.append(out)
        return with_dims(x, (dims[0], self.filters, *spatial))

    def build(self, x: T.MType):
        from torch import nn
        from mlang.models.layers._modules import SamePad

        n = self.SPATIAL
        in_channels = concrete_dim(self, x, 1, "input channels")
        kernel, stride, dilation = (as_tuple(v, n) for v in (self.kernel, self.stride, self.dilation))
        conv_cls = nn.Conv1d if n == 1 else nn.Conv2d
        even = any((d * (k - 1)) % 2 for k, d in zip(kernel, dilation))  # torch warns and copies then
        if self.padding == "same" and (even or any(s > 1 for s in stride)):
            conv = conv_cls(in_channels, self.filters, kernel, stride, 0, dilation, bias=self.bias)
            return nn.Sequential(SamePad(kernel, stride, dilation), conv)
        padding = 0 if self.padding == "valid" else self.padding
        return conv_cls(in_channels, self.filters, kernel, stride, padding, dilation, bias=self.bias)


@register_layer
@dataclass
class Conv1D(_Conv):
    NAME = "Conv1D"
    ALIASES = ("Conv1d",)
    SPATIAL = 1
    filters: int
    kernel: int | tuple = 3
    stride: int | tuple = 1
    padding: str | int | tuple = "valid"
    dilation: int | tuple = 1
    bias: bool = True


@register_layer
@dataclass
class Conv2D(_Conv):
    NAME = "Conv2D"
    ALIASES = ("Conv2d",)
    SPATIAL = 2
    filters: int
    kernel: int | tuple = 3
    stride: int | tuple = 1
    padding: str | int | tuple = "valid"
    dilation: int | tuple = 1
    bias: bool = True
