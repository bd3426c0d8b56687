"""M: a programming language in which a pretrained deep-learning model is the atomic unit.

`import mlang as m` gives the whole Python API (`mlang.api`).  It is loaded on first use, so that
tools which need only the front end (`m check`, `m fmt`, the language server) never import torch.
"""
__version__ = "0.1.0"


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
