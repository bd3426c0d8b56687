"""The serve stage: HTTP serving of M models with dynamic batching (docs/serving.md).

`mlang.serve` is also callable — `mlang.serve(model, port=8000)` — because `serve` is both this
package's name and the function users reach for; the two cannot be told apart in `mlang`'s
namespace, so the package answers the call itself.
"""
import sys
import types

from mlang.lang.exports import lazy_exports

_EXPORTS = {
    "Server": "mlang.serve.server",
    "serve": "mlang.serve.server",
    "create_app": "mlang.serve.app",
    "ServeOptions": "mlang.serve.options",
}

# `create_app` (embed the FastAPI app in another ASGI server) stays out of `__all__`: `import mlang`
# star-imports every stage, and FastAPI should load only when something is served.
__all__ = ["Server", "serve", "ServeOptions"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return __getattr__("serve")(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
