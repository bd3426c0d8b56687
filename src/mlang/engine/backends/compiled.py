"""`torch.compile` (opt-in: the first call compiles for tens of seconds, later calls are faster)."""
from __future__ import annotations

from mlang.engine.backends.base import Backend, to_device


class CompiledBackend(Backend):
    name = "compile"

    def __init__(self, runnable, device, num_threads=None):
        import torch

        super().__init__(runnable, device, num_threads)
        runnable.model.to(device)
        # dynamic=True: batch size and sequence length vary between batches; recompiling for each
        # new shape would cost more than it saves.
        self._compiled = torch.compile(lambda features: runnable(features), dynamic=True)

    def __call__(self, features):
        import torch

        with torch.inference_mode():
            return self._compiled(to_device(features, self.device)).float().cpu()
