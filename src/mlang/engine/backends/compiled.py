"""`torch.compile` (opt-in: the first call compiles for tens of seconds, later calls are faster)."""
from __future__ import annotations

from mlang.engine.backends.base import Backend, to_device
from mlang.engine.backends.eager import cast, half_copy, half_dtype


class CompiledBackend(Backend):
    name = "compile"

    def __init__(self, runnable, device, num_threads=None, **options):
        import torch

        super().__init__(runnable, device, num_threads, **options)
        self.dtype = half_dtype(self.precision)
        if self.dtype is None:
            runnable.model.to(device)
        else:
            runnable = self.runnable = half_copy(runnable, device, self.dtype)
        # dynamic=True: batch size and sequence length vary between batches; recompiling for each
        # new shape would cost more than it saves.
        self._compiled = torch.compile(lambda features: runnable(features), dynamic=True)

    def __call__(self, features):
        import torch

        with torch.inference_mode():
            return self._compiled(cast(to_device(features, self.device), self.dtype)).float().cpu()
