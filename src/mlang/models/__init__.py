"""The models stage of M's pipeline (see docs/architecture.md).

Names are exported lazily (PEP 562): `import mlang.models` does not import torch; the first use
of a name imports the module that defines it.  Each entry maps a public name to "module:attr".
"""
from __future__ import annotations

import importlib

_EXPORTS: dict[str, str] = {
    # the IR and the module contract
    "ModelSpec": "mlang.models.spec:ModelSpec",
    "FieldSpec": "mlang.models.spec:FieldSpec",
    "MModel": "mlang.models.module:MModel",
    "LayerStackModel": "mlang.models.stack:LayerStackModel",
    # serialization
    "Artifact": "mlang.models.serialize:Artifact",
    "dump": "mlang.models.serialize:dump",
    "restore": "mlang.models.serialize:restore",
    "register_transform": "mlang.models.serialize:register_transform",
    "register_kind": "mlang.models.serialize:register_kind",
    # the layer catalogue
    "Layer": "mlang.models.layers.base:Layer",
    "register_layer": "mlang.models.layers.base:register_layer",
    "register_layer_target": "mlang.models.layers.base:register_layer_target",
    "layer_names": "mlang.models.layers.base:layer_names",
    # models layer catalogue entries
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'mlang.models' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
