"""The optimize stage of M's pipeline (see docs/architecture.md and docs/optimize.md).

Passes (`Pruning`, `Quantization`, `Fusion`, `Distillation`: configure → `apply(model)` →
`describe()`), the `ModelOptimizer` pipeline (`m.Optimizer()` with no algorithm named) and its
before/after `OptimizationReport`.  Names are imported on first use (`mlang.lang.exports`);
importing this package does not import torch.
"""
from mlang.lang.exports import lazy_exports

_EXPORTS = {
    "ModelOptimizer": "mlang.optimize.pipeline",
    "Pass": "mlang.optimize.passes",
    "Pruning": "mlang.optimize.pruning",
    "Quantization": "mlang.optimize.quantization",
    "Fusion": "mlang.optimize.fusion",
    "Distillation": "mlang.optimize.distillation",
    "OptimizationReport": "mlang.optimize.report",
    "optimization_report": "mlang.optimize.pipeline",
    "ExecutionPlan": "mlang.optimize.plan",
    "execution_plan": "mlang.optimize.plan",
    "measure": "mlang.optimize.report",
    "distill": "mlang.optimize.language",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

# Saved optimized models restore in any process that imports mlang (see transforms.py).
from mlang.models.serialize import register_transform  # noqa: E402

register_transform("prune_structured", "mlang.optimize.transforms:replay_prune")
register_transform("quantize", "mlang.optimize.transforms:replay_quantize")
register_transform("fuse", "mlang.optimize.transforms:replay_fuse")
register_transform("optimization_report", "mlang.optimize.transforms:replay_report")
register_transform("execution_plan", "mlang.optimize.plan:replay_plan")
