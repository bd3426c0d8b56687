"""Device and numeric precision: CUDA when present, with bf16 (or fp16 + loss scaling) autocast there.

The CPU this project measures has no bf16 hardware (DESIGN §8), so on CPU "auto" means fp32.
"""
from __future__ import annotations

import contextlib

from mlang.data.errors import data_error

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def pick_device(device=None):
    """The requested device, or CUDA when available, else the CPU."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise data_error(f"unknown device {device!r}", field="device", hint="\"cpu\", \"cuda\", \"cuda:1\"") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise data_error("device \"cuda\" was asked for but no CUDA GPU is available", field="device")
    return chosen


def device_of(model):
    """The device of the model's first parameter (the CPU for a parameterless model)."""
    import torch

    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def resolve_precision(device, precision: str = "auto") -> str:
    """fp32 on CPU; on CUDA bf16 where supported, else fp16."""
    import torch

    if precision not in PRECISIONS:
        raise data_error(f"unknown precision {precision!r}", field="precision",
                     hint="one of " + ", ".join(PRECISIONS))
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def autocast(device, precision: str = "auto"):
    """An autocast context for the precision (a no-op for fp32)."""
    import torch

    chosen = resolve_precision(device, precision)
    if chosen == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if chosen == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
