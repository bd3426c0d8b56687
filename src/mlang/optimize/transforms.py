"""Replaying structural changes when a saved model is restored.

`mlang.models.serialize.restore` rebuilds the original architecture, then calls the replay
function registered for each record in `model.transforms` (in order) and only then loads the
saved tensors.  Each replay gives the freshly built model the shapes and layer types the
optimized model had; the tensors then fill in the values.
"""
from __future__ import annotations

from mlang.optimize.passes import get_submodule, set_submodule


def replay_prune(model, record: dict):
    """Structured pruning: rebuild each shrunk layer with its saved sizes."""
    import torch

    from mlang.optimize.pruning import shrink

    with torch.no_grad():
        for path, shape in record["modules"].items():
            module = get_submodule(model, path)
            if shape["type"] == "Linear":
                new = shrink(module, out_index=torch.arange(shape["out_features"]),
                             in_index=torch.arange(shape["in_features"]))
            elif shape["type"] == "Conv2d":
                new = shrink(module, out_index=torch.arange(shape["out_channels"]),
                             in_index=torch.arange(shape["in_channels"]))
            else:
                new = shrink(module, out_index=torch.arange(shape["num_features"]))
            set_submodule(model, path, new)
        for path, updates in record.get("attributes", {}).items():
            owner = get_submodule(model, path)
            for name, value in updates.items():
                setattr(owner, name, value)
    return model


def replay_quantize(model, record: dict):
    """Quantization: put the same int8 layers / 16-bit weights in place."""
    import torch

    from mlang.optimize.layers import Int8Conv2d, Int8Embedding, Int8Linear, Int8RNN
    from mlang.optimize.quantization import half_weights

    builders = {
        "int8_linear": lambda m, info: Int8Linear.from_float(m, static=info.get("static", False)),
        "int8_conv2d": lambda m, info: Int8Conv2d.from_float(m, static=info.get("static", True)),
        "int8_embedding": lambda m, info: Int8Embedding.from_float(m),
        "int8_rnn": lambda m, info: Int8RNN.from_float(m),
    }
    with torch.no_grad():
        for path, info in record["modules"].items():
            set_submodule(model, path, builders[info["kind"]](get_submodule(model, path), info))
        half = record.get("half")
        if half:
            for path in half["modules"]:
                half_weights(get_submodule(model, path), getattr(torch, half["dtype"]))
    return model


def replay_fuse(model, record: dict):
    """Fusion: BatchNorms become Identity (their layer gains a bias); activations are wrapped."""
    import torch

    from mlang.optimize.fusion import ensure_bias, wrap_activation

    for layer_path, bn_path in record["folded"]:
        ensure_bias(get_submodule(model, layer_path))
        set_submodule(model, bn_path, torch.nn.Identity())
    for layer_path, act_path in record["activations"]:
        wrap_activation(model, layer_path, act_path)
    return model


def replay_report(model, record: dict):
    """The optimization report changes no structure; it is kept for `optimization_report()`."""
    return model
