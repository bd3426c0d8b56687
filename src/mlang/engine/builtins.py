"""M builtins of the engine stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin
from mlang.optimize.plan import register_runner

register_builtin("Engine", "mlang.engine.engine:Engine",
                 doc="Engine(device='auto', backend='plan'): run a model on data in batches, as its "
                     "execution plan says unless a backend is named",
                 params="device: str = 'auto', backend: str = 'plan', *, batch_size: int = 32, "
                        "num_threads: int | None = None, tolerance: float = 0.001, progress: bool | None = None")
register_builtin("export", "mlang.engine.exporter:export",
                 doc="export(model, path, format='onnx'|'torchscript'|'aoti'|'safetensors'): verified export",
                 params="model, path, format: str | None = None, *, example=None, verify: bool = True, "
                        "atol: float = 0.0001, precision: str = 'plan', trust_code=None")
# optimize(goal=…) measures candidate plans with the engine's backends
register_runner("mlang.engine.backends:plan_runner")
