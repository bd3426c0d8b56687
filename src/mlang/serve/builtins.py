"""M builtins of the serve stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin

register_builtin("serve", "mlang.serve.server:serve",
                 doc="serve(model, port=8000): HTTP predictions with dynamic batching until interrupted")
