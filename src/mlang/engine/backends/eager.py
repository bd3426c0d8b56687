"""Plain PyTorch: the reference every other backend is compared with.

`precision="fp16"` / `"bf16"` (what an execution plan picks on a GPU) runs a half-precision copy
of the model, float inputs cast to match; the caller's model is left in float32.  An int8 model
(`quantize(bits=8)`) runs its int8 layers with PyTorch's dynamic int8 kernels.
"""
from __future__ import annotations

from mlang.engine.backends.base import Backend, to_device


class EagerBackend(Backend):
    name = "eager"

    def __init__(self, runnable, device, num_threads=None, **options):
        super().__init__(runnable, device, num_threads, **options)
        self.dtype = half_dtype(self.precision)
        if self.dtype is None:
            runnable.model.to(device)
        else:
            self.runnable = half_copy(runnable, device, self.dtype)

    def __call__(self, features):
        import torch

        with torch.inference_mode():
            return self.runnable(cast(to_device(features, self.device), self.dtype)).float().cpu()


def half_dtype(precision: str):
    """The torch dtype a 16-bit precision names, None for fp32 / int8."""
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)


def half_copy(runnable, device, dtype):
    """A Runnable of a copy of the model on `device` in `dtype` (the original stays float32)."""
    import copy

    from mlang.engine.runnable import Runnable

    return Runnable(copy.deepcopy(runnable.model).to(device=device, dtype=dtype), runnable.name)


def cast(features, dtype):
    """Float inputs in the model's dtype (token ids and masks stay integers)."""
    if dtype is None:
        return features
    return {name: value.to(dtype) if value.is_floating_point() else value
            for name, value in features.items()}
