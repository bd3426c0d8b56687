"""The optimize stage of M's pipeline (see docs/architecture.md and docs/optimize.md).

Passes (`Pruning`, `Quantization`, `Fusion`, `Distillation`: configure → `apply(model)` →
`describe()`), the `ModelOptimizer` pipeline (`m.Optimizer()` with no algorithm named) and its
before/after `OptimizationReport`.  Importing this package does not import torch.
"""
from mlang.optimize.distillation import Distillation
from mlang.optimize.fusion import Fusion
from mlang.optimize.language import distill
from mlang.optimize.passes import Pass
from mlang.optimize.pipeline import ModelOptimizer, default_passes, optimization_report
from mlang.optimize.pruning import Pruning
from mlang.optimize.quantization import Quantization
from mlang.optimize.report import OptimizationReport, measure

__all__ = ["ModelOptimizer", "Pass", "Pruning", "Quantization", "Fusion", "Distillation",
           "OptimizationReport", "optimization_report", "default_passes", "measure", "distill"]

# Saved optimized models restore in any process that imports mlang (see transforms.py).  Last,
# after the public names exist: importing the models stage may import `mlang.api`, which imports
# this package's names while it is still initializing.
from mlang.models.serialize import register_transform  # noqa: E402

register_transform("prune_structured", "mlang.optimize.transforms:replay_prune")
register_transform("quantize", "mlang.optimize.transforms:replay_quantize")
register_transform("fuse", "mlang.optimize.transforms:replay_fuse")
register_transform("optimization_report", "mlang.optimize.transforms:replay_report")
