"""The engine stage: run models (Engine, backends), export them (ONNX, TorchScript, safetensors).

Names are imported on first use so that `import mlang` stays cheap for tools that never run a
model (`m check`, the language server).
"""
import importlib

_EXPORTS = {
    "Engine": "mlang.engine.engine",
    "BackendChoice": "mlang.engine.engine",
    "export": "mlang.engine.exporter",
    "save_artifact": "mlang.engine.artifact",
    "load_artifact": "mlang.engine.artifact",
    "resolve_device": "mlang.engine.device",
    "DeviceFallbackWarning": "mlang.engine.device",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mlang.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
