"""`ModelOptimizer`: a pipeline of passes with a goal, and its before/after report.

`m.Optimizer()` (no algorithm named) is a `ModelOptimizer`.  `add` passes, then `optimize(model)`:
the model is copied (the original stays as it was, for comparison), each pass runs in the order
added (`order="sequential"`) or in the canonical order distill → prune → fuse → quantize
(`order="auto"`), the before/after figures are measured, and the report is returned on the
optimized model (`model.optimization_report`), printed, and recorded in `model.transforms`, so
the model repository stores it with the model.
"""
from __future__ import annotations

import copy

from mlang.lang.diagnostics import MError
from mlang.optimize.passes import OptimizationContext, Pass, choose, record_transform
from mlang.optimize.report import OptimizationReport, measure

GOALS = ("speed", "memory", "accuracy")
ORDERS = ("sequential", "auto")
_CANONICAL = {"distill": 0, "prune": 1, "fuse": 2, "quantize": 3}


def default_passes(goal: str) -> list[Pass]:
    """The pipeline a goal picks when no passes are given."""
    from mlang.optimize.fusion import Fusion
    from mlang.optimize.quantization import Quantization

    if goal == "speed":  # int8 matrix products; embedding tables stay float (lookups are cheap)
        return [Fusion(), Quantization(bits=8, embeddings=False)]
    if goal == "memory":  # int8 everywhere, embedding tables included
        return [Fusion(), Quantization(bits=8, embeddings=True)]
    return [Fusion(), Quantization(bits=16)]  # accuracy: exact fusion, float16 storage


class ModelOptimizer:
    """`ModelOptimizer().add(Pruning(...)).add(Quantization(...)).optimize(model, goal="speed")`."""

    def __init__(self, passes: list[Pass] | None = None):
        self.passes: list[Pass] = []
        self.report: OptimizationReport | None = None
        for p in passes or []:
            self.add(p)

    def add(self, optimization_pass: Pass) -> "ModelOptimizer":
        if not isinstance(optimization_pass, Pass):
            raise MError(f"cannot add a {type(optimization_pass).__name__} to an optimizer",
                         field="pass", hint="add Pruning(...), Quantization(...), Fusion() or "
                                            "Distillation(...)")
        self.passes.append(optimization_pass)
        return self

    def optimize(self, model, order: str = "sequential", goal: str = "speed", *,
                 calibration=None, data=None, eval_data=None, metric="accuracy", inputs=None,
                 measure_figures: bool = True, inplace: bool = False, show: bool = True,
                 repeats: int = 5):
        """Run the passes on a copy of `model` and return the optimized model.

        `calibration`: inputs for static quantization; `data`: training data for distillation;
        `eval_data`: labelled data for the before/after metric; `inputs`: examples to time
        (default: the model's `example_inputs`).
        """
        import torch

        goal = choose(goal, GOALS, "goal")
        order = choose(order, ORDERS, "order")
        if not isinstance(model, torch.nn.Module):
            raise MError(f"cannot optimize a {type(model).__name__}", field="model",
                         hint="pass a model made by M (or any torch.nn.Module)")
        passes = list(self.passes)
        notes = []
        if not passes:
            passes = default_passes(goal)
            notes.append(f"no passes given: goal={goal!r} chose " +
                         " → ".join(repr(p) for p in passes))
        if order == "auto":
            passes.sort(key=lambda p: _CANONICAL.get(p.name, len(_CANONICAL)))
        before = measure(model, inputs, eval_data, metric, repeats=repeats) \
            if measure_figures else {}
        optimized = model if inplace else copy.deepcopy(model)
        # the original teaches recovery distillation, so it must survive an in-place run
        original = copy.deepcopy(model) if inplace and any(
            p.name == "distill" and p.student is None for p in passes) else model
        context = OptimizationContext(goal=goal, calibration=calibration, data=data,
                                      original=original)
        optimized.eval()
        for optimization_pass in passes:
            optimized = optimization_pass.apply(optimized, context)
            optimized.eval()
        after = measure(optimized, inputs, eval_data, metric, repeats=repeats) \
            if measure_figures else {}
        report = OptimizationReport(goal, [p.describe() for p in passes], before, after,
                                    notes + context.notes)
        attach_report(optimized, report)
        self.report = report
        if show:
            report.print()
        return optimized


def attach_report(model, report: OptimizationReport) -> None:
    """Keep the report on the model and in its transforms (what the repository saves)."""
    transforms = getattr(model, "transforms", None)
    if transforms is not None:  # one report per model: the latest run's
        transforms[:] = [t for t in transforms if t.get("transform") != "optimization_report"]
    record_transform(model, {"transform": "optimization_report", "report": report.to_dict()})
    model.optimization_report = report


def optimization_report(model) -> OptimizationReport | None:
    """The report stored with a (possibly saved and reloaded) model, or None."""
    report = getattr(model, "optimization_report", None)
    if isinstance(report, OptimizationReport):
        return report
    for record in reversed(getattr(model, "transforms", None) or []):
        if record.get("transform") == "optimization_report":
            return OptimizationReport.from_dict(record["report"])
    return None
