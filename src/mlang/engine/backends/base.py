"""The one interface every execution backend implements."""
from __future__ import annotations

from typing import Any


class Backend:
    """Runs a prepared model on batches of preprocessed features.

    A backend is built for one model, device and thread count; `__call__` takes the named
    tensors the model's `preprocess` produced and returns the output tensor on the CPU.
    Adding a backend is one file in this package plus one line in `BACKENDS`.
    """

    name = "backend"

    def __init__(self, runnable, device, num_threads: int | None = None, *, precision: str = "fp32",
                 example: dict[str, Any] | None = None):
        self.runnable = runnable
        self.device = device
        self.num_threads = num_threads
        self.precision = precision  # what the execution plan asks for: fp32 | int8 | fp16 | bf16
        self.example = example  # features to trace with, for a model without example_inputs()

    def __call__(self, features: dict[str, Any]):
        raise NotImplementedError

    def describe(self) -> str:
        """One line for reports: what runs, where."""
        return f"{self.name} on {self.device}"


def to_device(features: dict[str, Any], device) -> dict[str, Any]:
    return {name: value.to(device) for name, value in features.items()}
