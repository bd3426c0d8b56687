"""Optimizers for hand-written training loops (DESIGN §1): `Adam(model.parameters(), lr=2e-5)`.

Each returns the torch optimizer itself, so `zero_grad()` / `step()` are torch's.
"""
from __future__ import annotations

from mlang.data.errors import data_error


def _parameters(parameters) -> list:
    """Parameters from an iterator, a list, or a model."""
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    parameters = list(parameters)
    if not parameters:
        raise data_error("the optimizer was given no parameters", field="parameters",
                     hint="pass model.parameters()")
    return parameters


def _check_lr(lr: float) -> None:
    if not lr > 0:
        raise data_error(f"lr must be positive, got {lr!r}", field="lr")


def Adam(parameters, lr: float = 1e-3, weight_decay: float = 0.0, betas=(0.9, 0.999), eps: float = 1e-8):
    """torch.optim.Adam."""
    import torch

    _check_lr(lr)
    return torch.optim.Adam(_parameters(parameters), lr=lr, weight_decay=weight_decay,
                            betas=tuple(betas), eps=eps)


def AdamW(parameters, lr: float = 1e-3, weight_decay: float = 0.01, betas=(0.9, 0.999), eps: float = 1e-8):
    """torch.optim.AdamW."""
    import torch

    _check_lr(lr)
    return torch.optim.AdamW(_parameters(parameters), lr=lr, weight_decay=weight_decay,
                             betas=tuple(betas), eps=eps)


def SGD(parameters, lr: float = 1e-2, momentum: float = 0.0, weight_decay: float = 0.0,
        nesterov: bool = False):
    """torch.optim.SGD."""
    import torch

    _check_lr(lr)
    return torch.optim.SGD(_parameters(parameters), lr=lr, momentum=momentum,
                           weight_decay=weight_decay, nesterov=nesterov)
