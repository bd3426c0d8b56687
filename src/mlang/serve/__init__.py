"""The serve stage: HTTP serving of M models with dynamic batching (docs/serving.md).

`mlang.serve` is also callable — `mlang.serve(model, port=8000)` — because `serve` is both this
package's name and the function users reach for; the two cannot be told apart in `mlang`'s
namespace, so the package answers the call itself.
"""
import importlib
import sys
import types

_EXPORTS = {
    "Server": "mlang.serve.server",
    "serve": "mlang.serve.server",
    "create_app": "mlang.serve.app",
    "ServeOptions": "mlang.serve.options",
}

# `create_app` (embed the FastAPI app in another ASGI server) stays out of `__all__`: `import mlang`
# star-imports every stage, and FastAPI should load only when something is served.
__all__ = ["Server", "serve", "ServeOptions"]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mlang.serve' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return __getattr__("serve")(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
