"""Execution backends: one file each, all implementing `Backend` (see base.py)."""
from __future__ import annotations

import importlib

from mlang.lang.diagnostics import MError

# name → "module:class"; imported only when a backend is used (ONNX Runtime is slow to import).
BACKENDS = {
    "eager": "mlang.engine.backends.eager:EagerBackend",
    "compile": "mlang.engine.backends.compiled:CompiledBackend",
    "onnx": "mlang.engine.backends.onnx:OnnxBackend",
    "onnx-int8": "mlang.engine.backends.onnx_int8:OnnxInt8Backend",
}
# What backend='auto' measures; torch.compile is opt-in (tens of seconds of cold compile).
AUTO_CANDIDATES = ("eager", "onnx", "onnx-int8")


def backend_class(name: str):
    target = BACKENDS.get(name)
    if target is None:
        raise MError(f"unknown backend {name!r}", field="backend",
                     hint=f"use one of: {', '.join([*BACKENDS, 'auto'])}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_backend(name: str, runnable, device, num_threads=None, *, precision: str = "fp32",
                   example=None):
    """Backend `name` for `runnable`; `precision` as an execution plan records it, `example`
    features to trace with when the model has no `example_inputs()`."""
    return backend_class(name)(runnable, device, num_threads, precision=precision, example=example)


def plan_runner(backend: str, model, device, precision: str, example, num_threads=None):
    """What `mlang.optimize.plan` measures a candidate plan with (registered by the engine's
    builtins, as the optimize stage comes before the engine)."""
    from mlang.engine.runnable import Runnable

    return create_backend(backend, Runnable(model), device, num_threads, precision=precision, example=example)
