"""M: a programming language in which a pretrained deep-learning model is the atomic unit.

`import mlang as m` gives the whole Python API (`mlang.api`).  It is loaded on first use, so that
tools which need only the front end (`m check`, `m fmt`, the language server) never import torch.
"""
import sys
import types

__version__ = "0.1.0"

# M builtins whose Python name is also the name of a stage package: `mlang.optimize` is the
# `optimize` function and `mlang.serve` the `serve` function (tests/test_api.py checks that this
# is exactly the set of such names).  The packages stay in `sys.modules` and import by path.
SHADOWED_PACKAGES = frozenset({"optimize", "serve"})


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # Importing `mlang.optimize` binds the package as an attribute of `mlang`; for a shadowed
        # name, leave that attribute unbound so that `__getattr__` answers with the builtin.
        if (name in SHADOWED_PACKAGES and isinstance(value, types.ModuleType)
                and value.__name__ == f"{__name__}.{name}"):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    import importlib

    api = importlib.import_module("mlang.api")
    if name == "__all__":
        return api.__all__
    try:
        return getattr(api, name)
    except AttributeError:
        raise AttributeError(f"module 'mlang' has no attribute {name!r}") from None


def __dir__():
    import importlib

    return sorted(set(globals()) | set(importlib.import_module("mlang.api").__all__))
