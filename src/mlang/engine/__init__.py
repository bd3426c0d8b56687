"""The engine stage: run models (Engine, backends), export them (ONNX, TorchScript, safetensors).

Names are imported on first use so that `import mlang` stays cheap for tools that never run a
model (`m check`, the language server).
"""
from mlang.lang.exports import lazy_exports

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
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
