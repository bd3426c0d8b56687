"""Pruning: remove the least important weights, neurons, channels or attention heads.

* `target="weights"` zeroes individual weights of Linear and Conv layers (unstructured): the model
  keeps its shapes and gets sparser.  Exactly `round(percentage × count)` weights become zero,
  counted over all prunable weights (`scope="global"`) or within each layer (`scope="local"`).
* `target="neurons" | "channels" | "heads"` is structured: the rows, channels or heads are removed
  and the tensors shrink, so the model really gets smaller and faster.  Neurons are the hidden
  units between two Linear layers (in a layer stack, or a transformer's feed-forward block);
  channels are the output channels of a Conv layer followed by another Conv (or by Flatten and a
  Linear), with a BatchNorm between them shrunk too; heads are a BERT-style self-attention's heads.

Importance (`strategy`): `"l1"` / `"l2"` is the norm of a unit's incoming weights (for `weights`, the
absolute value); `"magnitude"` is the product of the L2 norms of a unit's incoming and outgoing
weights (for `weights`, the absolute value).  Nothing is masked: pruning is permanent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from mlang.lang.diagnostics import MError
from mlang.optimize.passes import (OptimizationContext, Pass, choose, fraction, get_submodule,
                                   record_transform, set_submodule, torch_module)

STRATEGIES = ("magnitude", "l1", "l2")
SCOPES = ("global", "local")
TARGETS = ("weights", "neurons", "channels", "heads")


class Pruning(Pass):
    """`Pruning(strategy="magnitude", percentage=0.2, scope="global", target="weights")`."""

    name = "prune"

    def __init__(self, strategy: str = "magnitude", percentage: float = 0.2, scope: str = "global",
                 target: str = "weights"):
        super().__init__()
        self.strategy = choose(strategy, STRATEGIES, "strategy")
        self.percentage = fraction(percentage)
        self.scope = choose(scope, SCOPES, "scope")
        self.target = choose(target, TARGETS, "target")

    def config(self) -> dict:
        return {"strategy": self.strategy, "percentage": self.percentage, "scope": self.scope,
                "target": self.target}

    def apply(self, model, context: OptimizationContext | None = None):
        import torch

        module = torch_module(model)
        with torch.no_grad():
            if self.target == "weights":
                self.changes = [_prune_weights(module, self.percentage, self.scope)]
            else:
                groups = [g for g in find_groups(module) if g.kind == self.target]
                if not groups:
                    raise MError(f"this model has no prunable {self.target}", field="target",
                                 hint=_TARGET_HINTS[self.target])
                self.changes = [_prune_groups(module, model, groups, self.strategy,
                                              self.percentage, self.scope)]
        return model


_TARGET_HINTS = {
    "neurons": "neurons are the units between two Linear layers; try target='weights'",
    "channels": "channels need a Conv layer followed by a Conv (or Flatten + Linear); "
                "try target='weights'",
    "heads": "heads need BERT-style self-attention (query/key/value + output projection)",
}


# ---------------------------------------------------------------- unstructured (weights)

def prunable_weights(module) -> dict[str, "torch.Tensor"]:
    """Weights of the Linear and Conv layers, by module path: what `target='weights'` prunes."""
    import torch

    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    return {path: sub.weight for path, sub in module.named_modules()
            if isinstance(sub, kinds) and isinstance(getattr(sub, "weight", None), torch.Tensor)
            and sub.weight.is_floating_point()}


def _prune_weights(module, amount: float, scope: str) -> str:
    import torch

    weights = prunable_weights(module)
    if not weights:
        raise MError("this model has no Linear or Conv weights to prune", field="target")
    total = sum(w.numel() for w in weights.values())
    if scope == "local":
        for w in weights.values():
            _zero_smallest(w.view(-1), w.detach().abs().view(-1), round(amount * w.numel()))
    else:
        scores = torch.cat([w.detach().abs().view(-1) for w in weights.values()])
        flat_views = [w.view(-1) for w in weights.values()]
        k = round(amount * total)
        if k:
            # argsort is stable, so ties are broken by position and exactly k weights go to zero
            chosen = torch.argsort(scores, stable=True)[:k]
            offset = 0
            for view in flat_views:
                n = view.numel()
                local = chosen[(chosen >= offset) & (chosen < offset + n)] - offset
                view[local] = 0
                offset += n
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    return (f"{scope} unstructured pruning of {len(weights)} layers: "
            f"{zeros:,}/{total:,} weights are zero ({zeros / total:.1%})")


def _zero_smallest(view, scores, k: int) -> None:
    import torch

    if k:
        view[torch.argsort(scores, stable=True)[:k]] = 0


# ---------------------------------------------------------------- structured groups

@dataclass
class Group:
    """A set of prunable units (neurons, channels or heads) and how to remove some of them.

    `producers` are (path, dim, block) slices whose units are rows (dim 0) or columns (dim 1)
    of a weight in blocks of `block` entries per unit; `consumers` read the units as input.
    """

    kind: str
    units: int
    producers: list[tuple[str, int]]          # (module path, rows per unit)
    consumers: list[tuple[str, int]]          # (module path, input columns per unit)
    followers: list[str] = field(default_factory=list)  # BatchNorms between producer and consumer
    attributes: Callable[[int], dict] | None = None       # attribute updates for `units` kept
    owner: str = ""                                       # module whose attributes change

    def scores(self, root, strategy: str):
        """Importance of each unit: larger means keep."""
        import torch

        incoming = torch.zeros(self.units)
        for path, rows in self.producers:
            weight = get_submodule(root, path).weight.detach()
            per_unit = weight.reshape(self.units, -1).float()
            incoming += per_unit.abs().sum(1) if strategy == "l1" else per_unit.pow(2).sum(1)
        if strategy == "l1":
            return incoming
        if strategy == "l2":
            return incoming.sqrt()
        outgoing = torch.zeros(self.units)
        for path, cols in self.consumers:
            weight = get_submodule(root, path).weight.detach().float()
            per_unit = weight.transpose(0, 1).reshape(self.units, -1)
            outgoing += per_unit.pow(2).sum(1)
        return incoming.sqrt() * outgoing.sqrt()


def find_groups(module) -> list[Group]:
    """Every structured-pruning group in the model: layer stacks, transformer blocks, attention."""
    groups: list[Group] = []
    seen: set[str] = set()
    for path, sub in module.named_modules():
        for group in _sequential_groups(path, sub) + _transformer_groups(path, sub):
            if group.producers[0][0] not in seen:  # a nested stack is seen from its parent too
                seen.add(group.producers[0][0])
                groups.append(group)
    return groups


_ELEMENTWISE = ("ReLU", "ReLU6", "GELU", "SiLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "SELU",
                "Softplus", "Mish", "Hardswish", "Hardtanh", "Dropout", "Dropout1d", "Dropout2d",
                "AlphaDropout", "Identity", "Activation")
_SPATIAL = ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
            "AdaptiveMaxPool2d", "SamePad", "SameAvgPool")
_FLATTENING = ("Flatten", "GlobalPool")
# containers whose forward runs their children in order (M's layer stacks are LayerLists)
_IN_ORDER = ("Sequential", "LayerList", "LazyLayerList")


def _in_order_leaves(path: str, sub) -> list[tuple[str, object]]:
    """The layers an in-order container runs, nested in-order containers expanded."""
    leaves = []
    for name, child in sub.named_children():
        child_path = f"{path}.{name}" if path else name
        if type(child).__name__ in _IN_ORDER:
            leaves.extend(_in_order_leaves(child_path, child))
        else:
            leaves.append((child_path, child))
    return leaves


def _sequential_groups(path: str, sub) -> list[Group]:
    """Linear→…→Linear and Conv→…→Conv (or Conv→…→Flatten→Linear) chains in a layer stack."""
    import torch

    if type(sub).__name__ not in _IN_ORDER:
        return []
    children = _in_order_leaves(path, sub)
    groups = []
    for i, (name, child) in enumerate(children):
        if isinstance(child, torch.nn.Linear):
            nxt = _next_consumer(children, i + 1, allow_bn=False, allow_spatial=False)
            if nxt and isinstance(nxt[0], torch.nn.Linear) and nxt[1] is None:
                groups.append(Group("neurons", child.out_features, [(name, 1)],
                                    [(nxt[2], 1)]))
        elif isinstance(child, torch.nn.Conv2d) and child.groups == 1:
            nxt = _next_consumer(children, i + 1, allow_bn=True, allow_spatial=True)
            if not nxt:
                continue
            consumer, flattened, consumer_name, bns = nxt
            if isinstance(consumer, torch.nn.Conv2d) and consumer.groups == 1 and not flattened:
                block = 1
            elif isinstance(consumer, torch.nn.Linear) and flattened \
                    and consumer.in_features % child.out_channels == 0:
                block = consumer.in_features // child.out_channels
            else:
                continue
            groups.append(Group("channels", child.out_channels, [(name, 1)],
                                [(consumer_name, block)], followers=bns))
    return groups


def _next_consumer(children, start: int, allow_bn: bool, allow_spatial: bool):
    """The next Linear/Conv after `start` reached only through shape-preserving-per-unit layers."""
    import torch

    flattened = False
    bns = []
    for name, child in children[start:]:
        kind = type(child).__name__
        if isinstance(child, (torch.nn.Linear, torch.nn.Conv2d)):
            return child, (True if flattened else None), name, bns
        if kind in _ELEMENTWISE:
            continue
        if allow_bn and isinstance(child, torch.nn.BatchNorm2d) and not flattened:
            bns.append(name)
            continue
        if allow_spatial and kind in _SPATIAL and not flattened:
            continue
        if allow_spatial and kind in _FLATTENING and not flattened:
            flattened = True
            continue
        return None
    return None


def _transformer_groups(path: str, sub) -> list[Group]:
    """BERT-style blocks: feed-forward neurons (intermediate.dense → output.dense) and heads."""
    import torch

    prefix = f"{path}." if path else ""
    groups = []
    inter = getattr(getattr(sub, "intermediate", None), "dense", None)
    out = getattr(getattr(sub, "output", None), "dense", None)
    if isinstance(inter, torch.nn.Linear) and isinstance(out, torch.nn.Linear) \
            and inter.out_features == out.in_features:
        groups.append(Group("neurons", inter.out_features, [(prefix + "intermediate.dense", 1)],
                            [(prefix + "output.dense", 1)]))
    attention = getattr(sub, "self", None)
    if isinstance(out, torch.nn.Linear) and all(
            isinstance(getattr(attention, n, None), torch.nn.Linear) for n in ("query", "key", "value")) \
            and hasattr(attention, "num_attention_heads") and hasattr(attention, "attention_head_size"):
        heads, size = attention.num_attention_heads, attention.attention_head_size
        groups.append(Group(
            "heads", heads,
            [(prefix + f"self.{n}", size) for n in ("query", "key", "value")],
            [(prefix + "output.dense", size)],
            attributes=lambda kept, size=size: {"num_attention_heads": kept,
                                                "all_head_size": kept * size},
            owner=prefix + "self"))
    return groups


def _prune_groups(root, model, groups: list[Group], strategy: str, amount: float,
                  scope: str) -> str:
    import torch

    scores = [g.scores(root, strategy) for g in groups]
    if scope == "local":
        keep_counts = [max(1, g.units - round(amount * g.units)) for g in groups]
    else:
        # scores of different layers live on different scales: rank units by their score
        # relative to their own layer's mean, then remove the globally least important ones
        relative = torch.cat([s / s.mean().clamp_min(1e-12) for s in scores])
        owner = torch.cat([torch.full((g.units,), i) for i, g in enumerate(groups)])
        removed = torch.argsort(relative, stable=True)[:round(amount * len(relative))]
        keep_counts = [g.units - int((owner[removed] == i).sum()) for i, g in enumerate(groups)]
        keep_counts = [max(1, k) for k in keep_counts]
    record = {"transform": "prune_structured", "modules": {}, "attributes": {}}
    before = after = 0
    for group, score, keep in zip(groups, scores, keep_counts):
        kept = torch.sort(torch.argsort(score, descending=True, stable=True)[:keep]).values
        _remove_units(root, group, kept, record)
        before += group.units
        after += keep
    record_transform(model, record)
    return (f"{scope} {strategy} pruning removed {before - after:,}/{before:,} "
            f"{groups[0].kind} ({(before - after) / before:.1%}) in {len(groups)} groups")


def _remove_units(root, group: Group, kept, record: dict) -> None:
    for path, rows in group.producers:
        module = shrink(get_submodule(root, path), out_index=_expand(kept, rows))
        set_submodule(root, path, module)
        record["modules"][path] = shape_of(module)
    for path in group.followers:
        module = shrink(get_submodule(root, path), out_index=kept)
        set_submodule(root, path, module)
        record["modules"][path] = shape_of(module)
    for path, cols in group.consumers:
        module = shrink(get_submodule(root, path), in_index=_expand(kept, cols))
        set_submodule(root, path, module)
        record["modules"][path] = shape_of(module)
    if group.attributes:
        updates = group.attributes(len(kept))
        owner = get_submodule(root, group.owner)
        for name, value in updates.items():
            setattr(owner, name, value)
        record["attributes"][group.owner] = updates


def _expand(kept, block: int):
    """Unit indices → the row/column indices of units that span `block` consecutive entries."""
    import torch

    if block == 1:
        return kept
    return (kept[:, None] * block + torch.arange(block)[None, :]).reshape(-1)


# ---------------------------------------------------------------- shrinking modules

def shape_of(module) -> dict:
    """The sizes a shrunk module was rebuilt with, for the serialization record."""
    import torch

    if isinstance(module, torch.nn.Linear):
        return {"type": "Linear", "in_features": module.in_features,
                "out_features": module.out_features}
    if isinstance(module, torch.nn.Conv2d):
        return {"type": "Conv2d", "in_channels": module.in_channels,
                "out_channels": module.out_channels}
    return {"type": type(module).__name__, "num_features": module.num_features}


def shrink(module, out_index=None, in_index=None):
    """A copy of a Linear / Conv2d / BatchNorm2d keeping only the given output/input indices."""
    import torch

    if isinstance(module, torch.nn.BatchNorm2d):
        new = torch.nn.BatchNorm2d(len(out_index), eps=module.eps, momentum=module.momentum,
                                   affine=module.affine,
                                   track_running_stats=module.track_running_stats)
        new = new.to(device=module.running_mean.device if module.running_mean is not None
                     else module.weight.device)
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = getattr(module, name)
            if value is not None:
                getattr(new, name).data.copy_(value.detach()[out_index])
        if module.num_batches_tracked is not None:
            new.num_batches_tracked.copy_(module.num_batches_tracked)
        return new.train(module.training)
    weight = module.weight.detach()
    if out_index is not None:
        weight = weight[out_index]
    if in_index is not None:
        weight = weight[:, in_index]
    bias = module.bias.detach() if module.bias is not None else None
    if bias is not None and out_index is not None:
        bias = bias[out_index]
    if isinstance(module, torch.nn.Linear):
        new = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                              device=weight.device, dtype=weight.dtype)
    elif isinstance(module, torch.nn.Conv2d):
        new = torch.nn.Conv2d(weight.shape[1], weight.shape[0], module.kernel_size,
                              stride=module.stride, padding=module.padding,
                              dilation=module.dilation, bias=bias is not None,
                              padding_mode=module.padding_mode, device=weight.device,
                              dtype=weight.dtype)
    else:
        raise MError(f"cannot shrink a {type(module).__name__}", field="target")
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias)
    return new.train(module.training)
