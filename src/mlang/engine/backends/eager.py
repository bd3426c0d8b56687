"""Plain PyTorch: the reference every other backend is compared with."""
from __future__ import annotations

from mlang.engine.backends.base import Backend, to_device


class EagerBackend(Backend):
    name = "eager"

    def __init__(self, runnable, device, num_threads=None):
        super().__init__(runnable, device, num_threads)
        runnable.model.to(device)

    def __call__(self, features):
        import torch

        with torch.inference_mode():
            return self.runnable(to_device(features, self.device)).float().cpu()
