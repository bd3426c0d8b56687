"""The layer catalogue (see `base.py` for the contract).  Every module here is one unit.

`create_layer("Dense", (10,), {}, span)` configures a layer from an M call; `layer_names()` lists
the catalogue (including layers other stages registered with `register_layer_target`).
"""
from mlang.models.layers.base import (
    Layer, LayerArgError, ShapeError, create_layer, layer_class, layer_from_config, layer_names,
    register_layer, register_layer_target, unknown_layer_error,
)

__all__ = ["Layer", "LayerArgError", "ShapeError", "create_layer", "layer_class",
           "layer_from_config", "layer_names", "register_layer", "register_layer_target",
           "unknown_layer_error"]
