"""M builtins of the engine stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin

register_builtin("Engine", "mlang.engine.engine:Engine",
                 doc="Engine(device='auto', backend='eager'): run a model on data in batches")
register_builtin("export", "mlang.engine.exporter:export",
                 doc="export(model, path, format='onnx'|'torchscript'|'aoti'|'safetensors'): verified export")
