"""Fusion: fold BatchNorm into the preceding Conv/Linear and run Linear/Conv + activation as one
module, found by tracing the model with `torch.fx`.

The model keeps its own class and module tree (so it still saves, loads and preprocesses as
before): a folded BatchNorm becomes `Identity`, and a fused activation moves into a
`FusedActivation` wrapper around its layer.  Parts of a model that `torch.fx` cannot trace
(data-dependent control flow, raw-text inputs) are skipped with a message naming them; fusion
then proceeds inside their traceable sub-modules.  Folding uses BatchNorm's running statistics,
i.e. it is exact for a model in evaluation mode.
"""
from __future__ import annotations

from mlang.optimize.passes import (OptimizationContext, Pass, get_submodule, record_transform,
                                   set_submodule, torch_module)

ACTIVATIONS = ("ReLU", "ReLU6", "GELU", "SiLU", "Tanh", "Sigmoid", "GELUActivation", "LeakyReLU")


class Fusion(Pass):
    """`Fusion()`: conv+batchnorm(+activation) and linear(+batchnorm)+activation."""

    name = "fuse"

    def __init__(self, batchnorm: bool = True, activations: bool = True):
        super().__init__()
        self.batchnorm, self.activations = bool(batchnorm), bool(activations)

    def config(self) -> dict:
        return {"batchnorm": self.batchnorm, "activations": self.activations}

    def apply(self, model, context: OptimizationContext | None = None):
        import torch

        module = torch_module(model)
        folded, fused, untraceable = [], [], []
        with torch.no_grad():
            for prefix, graph_module in traceable_parts(module, "", untraceable):
                pairs = _find_pairs(graph_module, prefix)
                if self.batchnorm:
                    for layer_path, bn_path in pairs["batchnorm"]:
                        fold_batchnorm(module, layer_path, bn_path)
                        folded.append([layer_path, bn_path])
                if self.activations:
                    for layer_path, act_path in pairs["activation"]:
                        if self.batchnorm or layer_path not in pairs["bn_layers"]:
                            wrap_activation(module, layer_path, act_path)
                            fused.append([layer_path, act_path])
        if folded or fused:
            record_transform(model, {"transform": "fuse", "folded": folded, "activations": fused})
        self.changes = [f"folded {len(folded)} BatchNorm layers, fused {len(fused)} activations"]
        if untraceable:
            path, reason = untraceable[0]
            more = f" (and {len(untraceable) - 1} more)" if len(untraceable) > 1 else ""
            self.changes.append(
                f"torch.fx could not trace {path or 'the model'}{more}: {reason}; "
                "fused inside its traceable sub-modules instead")
        return model


def traceable_parts(module, prefix: str, untraceable: list):
    """(path, GraphModule) for the largest sub-trees `torch.fx` can trace; others are noted."""
    import torch.fx

    try:
        yield prefix, torch.fx.symbolic_trace(module)
        return
    except Exception as error:  # fx raises many kinds of errors for untraceable code
        children = list(module.named_children())
        if not children:
            return
        untraceable.append((prefix, _first_line(error)))
    for name, child in children:
        yield from traceable_parts(child, f"{prefix}.{name}" if prefix else name, untraceable)


def _first_line(error: Exception) -> str:
    """The error's first sentence: fx's messages run on with advice that does not apply here."""
    text = (str(error).strip().splitlines() or [""])[0].split(". ")[0]
    return f"{type(error).__name__}: {text}"[:160]


def _find_pairs(graph_module, prefix: str) -> dict:
    """Conv/Linear → BatchNorm and layer (→ BatchNorm) → activation edges in a traced graph."""
    import torch

    def path(node):
        return f"{prefix}.{node.target}" if prefix else node.target

    calls = {}
    for node in graph_module.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    modules = dict(graph_module.named_modules())

    def single_module_call(node, kinds):
        return (node.op == "call_module" and calls[node.target] == 1
                and isinstance(modules[node.target], kinds))

    layers = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)
    norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    result = {"batchnorm": [], "activation": [], "bn_layers": set()}
    for node in graph_module.graph.nodes:
        if not single_module_call(node, layers) or len(node.users) != 1:
            continue
        tail = node
        user = next(iter(node.users))
        if single_module_call(user, norms) and _matching_norm(modules[node.target],
                                                              modules[user.target]):
            result["batchnorm"].append((path(node), path(user)))
            result["bn_layers"].add(path(node))
            tail = user
            if len(user.users) != 1:
                continue
            user = next(iter(user.users))
        if user.op == "call_module" and calls[user.target] == 1 \
                and type(modules[user.target]).__name__ in ACTIVATIONS \
                and set(tail.users) == {user}:
            result["activation"].append((path(node), path(user)))
    return result


def _matching_norm(layer, norm) -> bool:
    import torch

    if norm.running_mean is None or norm.training:
        return False
    channels = layer.out_features if isinstance(layer, torch.nn.Linear) else layer.out_channels
    return norm.num_features == channels


def fold_batchnorm(root, layer_path: str, bn_path: str) -> None:
    """Fold an eval-mode BatchNorm into the Conv/Linear before it; the BatchNorm becomes Identity."""
    import torch

    layer, norm = get_submodule(root, layer_path), get_submodule(root, bn_path)
    factor = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps) \
        if norm.affine else 1.0 / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias.detach() if norm.affine else torch.zeros_like(norm.running_mean)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    layer.weight.data.mul_(factor.reshape(shape))
    bias = layer.bias.detach() if layer.bias is not None else torch.zeros_like(norm.running_mean)
    new_bias = (bias - norm.running_mean) * factor + shift
    ensure_bias(layer)
    layer.bias.data.copy_(new_bias)
    set_submodule(root, bn_path, torch.nn.Identity())


def ensure_bias(layer) -> None:
    import torch

    if layer.bias is None:
        channels = layer.weight.shape[0]
        layer.bias = torch.nn.Parameter(torch.zeros(channels, dtype=layer.weight.dtype,
                                                    device=layer.weight.device))


def wrap_activation(root, layer_path: str, act_path: str) -> None:
    """Move the activation at `act_path` into a `FusedActivation` around the layer."""
    import torch

    from mlang.optimize.layers import FusedActivation

    activation = get_submodule(root, act_path)
    set_submodule(root, layer_path, FusedActivation(get_submodule(root, layer_path), activation))
    set_submodule(root, act_path, torch.nn.Identity())
