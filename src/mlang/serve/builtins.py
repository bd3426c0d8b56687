"""M builtins of the serve stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin

register_builtin("serve", "mlang.serve.server:serve",
                 doc="serve(model, port=8000): HTTP predictions with dynamic batching until interrupted",
                 params="model, port: int = 8000, host: str = '127.0.0.1', *, workers: int = 1, name: str | None = None, "
                        "max_batch_size: int = 32, model_batch_size: int | None = None, max_latency_ms: float = 5.0, "
                        "batching: bool = True, max_queue: int = 256, request_timeout_s: float = 30.0, "
                        "drain_s: float = 0.0, token: str | None = None, public_metrics_and_docs: bool = False, "
                        "max_body_bytes: int = 8388608, max_json_depth: int = 32, max_number_digits: int = 100, "
                        "read_timeout_s: float = 30.0, max_inputs: int = 1024, device: str = 'auto', "
                        "backend: str = 'plan', num_threads: int | None = None, trust_code=None, "
                        "log_level: str = 'warning'")
