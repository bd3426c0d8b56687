"""Loss functions for hand-written training loops (DESIGN §1), thin wrappers over torch's.

They accept what an M loop naturally has: model outputs with `.logits`, and targets as tensors,
Python numbers or lists (moved to the outputs' device, with the dtype the loss needs).
"""
from __future__ import annotations

import torch

from mlang.train.tasks import check_regression_shapes, logits


def _as_tensor(target, like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target)
    return target.to(device=like.device, dtype=dtype)


class CrossEntropyLoss(torch.nn.CrossEntropyLoss):
    """Cross entropy over class logits `[B, C]` and class ids `[B]`."""

    def forward(self, input, target):
        scores = logits(input)
        if target is not None and isinstance(target, torch.Tensor) and target.is_floating_point():
            return super().forward(scores, target.to(scores.device))  # class probabilities
        return super().forward(scores, _as_tensor(target, scores, torch.long))


def _elementwise_pair(input, target):
    """Scores and targets of one shape for elementwise losses: `[B, 1]` scores meet `[B]` targets."""
    values = logits(input)
    target = _as_tensor(target, values, values.dtype)
    if values.dim() == target.dim() + 1 and values.shape[-1] == 1:
        values = values.squeeze(-1)
    if values.shape != target.shape and target.dim() > 0:
        check_regression_shapes(values, target)  # an M error, not torch's broadcasting warning
    return values, target

class MSELoss(torch.nn.MSELoss):
    """Mean squared error; a `[B, 1]` output is compared with `[B]` targets as `[B]`."""

    def forward(self, input, target):
        return super().forward(*_elementwise_pair(input, target))


class L1Loss(torch.nn.L1Loss):
    """Mean absolute error, with the same shape handling as `MSELoss`."""

    def forward(self, input, target):
        return super().forward(*_elementwise_pair(input, target))


class BCEWithLogitsLoss(torch.nn.BCEWithLogitsLoss):
    """Binary cross entropy on logits; targets are 0/1 (any numeric type)."""

    def forward(self, input, target):
        return super().forward(*_elementwise_pair(input, target))
