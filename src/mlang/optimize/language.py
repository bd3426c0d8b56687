"""The optimization language: `optimize(model, goal=…) { prune(…); quantize(…); fuse() }`.

`optimize` takes a trailing block; every statement in it is a call of `prune`, `quantize`,
`fuse` or `distill`, each of which returns a pass.  The block's values become the pipeline, run
in the order written.  With an empty block (or none), the goal's candidate execution plans are
measured and the best within the budget is kept (`mlang.optimize.plan`).
"""
from __future__ import annotations

from mlang.lang.diagnostics import MError
from mlang.optimize.builtins import NOT_A_PASS, NOT_A_PASS_HINT
from mlang.optimize.distillation import Distillation
from mlang.optimize.fusion import Fusion
from mlang.optimize.passes import Pass
from mlang.optimize.pipeline import ModelOptimizer
from mlang.optimize.pruning import Pruning
from mlang.optimize.quantization import Quantization


def optimize(model, goal: str = "speed", calibration=None, data=None, eval_data=None,
             order: str = "sequential", inputs=None, metric="accuracy", budget=None,
             candidates=None, device: str = "auto", _block=None):
    """Run the passes the block lists, or (no block) measure the goal's candidate execution
    plans and keep the best within the accuracy budget; return the model, carrying its plan."""
    passes = []
    for value in (_block() if _block is not None else []):
        if value is None:
            continue
        if not isinstance(value, Pass):
            raise MError(f"{NOT_A_PASS}, but one statement gave a {type(value).__name__}",
                         hint=NOT_A_PASS_HINT)
        passes.append(value)
    return ModelOptimizer(passes).optimize(model, order=order, goal=goal,
                                           calibration=calibration, data=data,
                                           eval_data=eval_data, inputs=inputs, metric=metric,
                                           budget=budget, candidates=candidates, device=device)


def prune(strategy: str = "magnitude", percentage: float = 0.2, scope: str = "global",
          target: str = "weights") -> Pruning:
    return Pruning(strategy=strategy, percentage=percentage, scope=scope, target=target)


def quantize(bits: int = 8, scope: str = "global", method: str = "linear",
             per_channel: bool = True, embeddings: bool = True, dtype: str = "float16",
             layers=None, skip=None) -> Quantization:
    return Quantization(bits=bits, scope=scope, method=method, per_channel=per_channel,
                        embeddings=embeddings, dtype=dtype, layers=layers, skip=skip)


def fuse(batchnorm: bool = True, activations: bool = True) -> Fusion:
    return Fusion(batchnorm=batchnorm, activations=activations)


def distill(teacher=None, student=None, data=None, temperature: float = 2.0, epochs: int = 1,
            alpha: float = 0.7, lr: float = 1e-3, batch_size: int = 16):
    """In an optimize block: the distillation pass.  Given a teacher: train and return the student."""
    step = Distillation(student=student, data=data, temperature=temperature, epochs=epochs,
                        alpha=alpha, lr=lr, batch_size=batch_size)
    if teacher is None:
        return step
    return step.apply(teacher)
