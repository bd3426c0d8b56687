"""Small torch modules the catalogue's builders need and torch.nn lacks (imported only by builders)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow/Keras 'same' padding (before, after) so that out = ceil(size / stride)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SamePad(nn.Module):
    """Pads the trailing spatial dims as Keras' padding='same' does (possibly asymmetric)."""

    def __init__(self, kernel: tuple, stride: tuple, dilation: tuple, value: float = 0.0):
        super().__init__()
        self.kernel, self.stride, self.dilation, self.value = kernel, stride, dilation, value

    def forward(self, x):
        pads = []
        spatial = x.shape[-len(self.kernel):]
        for size, k, s, d in reversed(list(zip(spatial, self.kernel, self.stride, self.dilation))):
            pads.extend(same_padding(int(size), k, s, d))
        return F.pad(x, pads, value=self.value)


class SameAvgPool(nn.Module):
    """Keras 'same' average pooling: padded cells do not count towards the average."""

    def __init__(self, pool: nn.Module, pad: SamePad):
        super().__init__()
        self.pool, self.pad = pool, pad

    def forward(self, x):
        ones = torch.ones_like(x[:1, :1])
        return self.pool(self.pad(x)) / self.pool(self.pad(ones))


class GlobalPool(nn.Module):
    """[B, C, ...spatial] → [B, C] by mean or max over every spatial dim."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        flat = x.flatten(2)
        return flat.mean(-1) if self.mode == "avg" else flat.amax(-1)


class Reshape(nn.Module):
    def __init__(self, shape: tuple):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Recurrent(nn.Module):
    """nn.LSTM/nn.GRU (batch_first) returning the sequence or the last step's output."""

    def __init__(self, rnn: nn.Module, return_sequences: bool):
        super().__init__()
        self.rnn, self.return_sequences = rnn, return_sequences

    def forward(self, x):
        out, _state = self.rnn(x)
        return out if self.return_sequences else out[:, -1]


class SelfAttention(nn.Module):
    """nn.MultiheadAttention used as self-attention on [B, T, E], returning only the output."""

    def __init__(self, attention: nn.MultiheadAttention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        out, _weights = self.attention(x, x, x, need_weights=False)
        return out


class ResidualBlock(nn.Module):
    """x + body(x)."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


class ChannelsLast(nn.Module):
    """Moves the channel dim between the last (Keras) and the second (M, torch) position."""

    def __init__(self, to_first: bool):
        super().__init__()
        self.to_first = to_first

    def forward(self, x):
        return x.movedim(-1, 1) if self.to_first else x.movedim(1, -1)


class ForecastBlock(nn.Module):
    """`body` forecasts a window [B, T, F] as [B, horizon], with per-window scaling and/or a
    prediction of the change from the last value (see layers/forecast.py); output in data units."""

    def __init__(self, body: nn.Module, target: str, scaling: str):
        super().__init__()
        self.body, self.target, self.scaling = body, target, scaling
        if target == "returns":  # start at the random walk: the change predicted is 0
            last = next((m for m in reversed(list(body.modules())) if isinstance(m, nn.Linear)), None)
            if last is not None:
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    def forward(self, x):
        if self.scaling == "window":
            shift = x.mean(dim=1, keepdim=True)
            scale = x.std(dim=1, keepdim=True)
            scale = torch.where(scale > 1e-8, scale, torch.ones_like(scale))
            x = (x - shift) / scale
        out = self.body(x)
        if self.target == "returns":
            out = out + x[:, -1, :1]
        if self.scaling == "window":
            out = out * scale[:, 0, :1] + shift[:, 0, :1]
        return out
