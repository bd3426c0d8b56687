"""Device names users write (`cpu`, `cuda`, `cuda:1`, `GPU:0`, `auto`) → a torch device.

A GPU name on a machine without that GPU is not an error: the program still runs, on the CPU,
and the user is told once per process and device name (not once per call), so loops stay quiet.
"""
from __future__ import annotations

import re
import warnings

from mlang.lang.diagnostics import MError

_GPU_NAME = re.compile(r"^(?:cuda|gpu)(?::(\d+))?$", re.IGNORECASE)
_warned: set[str] = set()


class DeviceFallbackWarning(UserWarning):
    """A GPU was asked for and is not present; the engine runs on the CPU instead."""


def resolve_device(name: str | None = "auto"):
    """The torch device for `name`; a missing GPU falls back to the CPU with one warning."""
    import torch

    spelled = "auto" if name is None else str(name).strip()
    if spelled.lower() == "cpu":
        return torch.device("cpu")
    if spelled.lower() == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    match = _GPU_NAME.match(spelled)
    if match is None:
        raise MError(f"unknown device {spelled!r}", field="device",
                     hint="use 'cpu', 'cuda', 'cuda:N', 'GPU:N' or 'auto'")
    index = int(match.group(1) or 0)
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if index < available:
        return torch.device("cuda", index)
    if spelled not in _warned:
        _warned.add(spelled)
        found = f"only {available} GPU(s) are present" if available else "no GPU is present"
        warnings.warn(f"device {spelled!r} requested but {found}; running on the CPU instead",
                      DeviceFallbackWarning, stacklevel=3)
    return torch.device("cpu")
