"""`ModelOptimizer`: a goal, optional passes, the execution plan chosen, and the report.

`m.Optimizer()` (no algorithm named) is a `ModelOptimizer`.  `optimize(model, goal=…)` with no
passes measures the candidate plans (`mlang.optimize.plan`: eager and ONNX Runtime, fp32 and
int8, torch.compile where it pays, pruning with recovery when training data is given) and keeps
the best within the accuracy budget.  With passes (`add`, or an M optimize block): the model is
copied (the original stays as it was), each pass runs in the order added (`order="sequential"`)
or in the canonical order distill → prune → fuse → quantize (`order="auto"`), the before/after
figures are measured, and how to run the result (eager or ONNX Runtime) is chosen the same way.
The report is returned on the optimized model (`model.optimization_report`), printed, and recorded
with the plan in `model.transforms`, so the model repository stores both with the model.
"""
from __future__ import annotations

import copy

from mlang.lang.diagnostics import MError
from mlang.optimize.passes import OptimizationContext, Pass, choose, record_transform
from mlang.optimize.report import OptimizationReport, measure

GOALS = ("speed", "latency", "memory", "accuracy")
ORDERS = ("sequential", "auto")
DEVICES = ("auto", "cpu", "cuda")
_CANONICAL = {"distill": 0, "prune": 1, "fuse": 2, "quantize": 3}


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
                 budget: float | None = None, candidates=None, device: str = "auto",
                 measure_figures: bool = True, inplace: bool = False, show: bool = True,
                 repeats: int = 5):
        """Return an optimized copy of `model` that carries its execution plan.

        Without passes: the candidate plans for `goal` are built and measured on the data
        (`mlang.optimize.plan`) and the best within `budget` is kept.  With passes: they run in
        `order` (the user's plan), and only how to run the result is chosen by measurement.
        `calibration`: inputs for static quantization; `data`: training data (distillation, and
        the pruning candidate); `eval_data`: labelled data for the metric and the budget;
        `inputs`: examples to time (default: the evaluation data, else the model's
        `example_inputs`); `candidates`: names of the plans to measure.
        """
        import torch

        from mlang.optimize.plan import search

        goal = choose(goal, GOALS, "goal")
        order = choose(order, ORDERS, "order")
        device = choose(str(device).lower(), DEVICES, "device")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if not isinstance(model, torch.nn.Module):
            raise MError(f"cannot optimize a {type(model).__name__}", field="model",
                         hint="pass a model made by M (or any torch.nn.Module)")
        passes = list(self.passes)
        if order == "auto":
            passes.sort(key=lambda p: _CANONICAL.get(p.name, len(_CANONICAL)))
        if not passes:
            chosen, plan, plans = search(model, goal, device=device, data=data, eval_data=eval_data,
                                         inputs=inputs, metric=metric, budget=budget, names=candidates)
            optimized = chosen  # a new model: a plan may change the structure (int8, pruning)
            report = OptimizationReport(goal, [], _figures(plans[0]), _figures(_chosen(plans)),
                                        [f"no passes given: goal={goal!r} measured {len(plans)} candidate plans"],
                                        [c.row() for c in plans], plan.to_dict())
            return self._finish(optimized, report, plan, show)
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
        plan, rows = None, []
        if measure_figures:  # how to run the passes' result: measured like the candidate plans
            _, plan, plans = search(original, goal, device=device, eval_data=eval_data, inputs=inputs,
                                    metric=metric, budget=budget, given=optimized)
            rows = [c.row() for c in plans]
        report = OptimizationReport(goal, [p.describe() for p in passes], before, after,
                                    context.notes, rows, plan.to_dict() if plan else None)
        return self._finish(optimized, report, plan, show)

    def _finish(self, optimized, report, plan, show: bool):
        from mlang.optimize.plan import attach_plan

        if plan is not None:
            attach_plan(optimized, plan)
        attach_report(optimized, report)
        self.report = report
        if show:
            report.print()
        return optimized


def _chosen(plans):
    return next(c for c in plans if c.status == "chosen")


def _figures(candidate) -> dict:
    """A candidate's figures under the report's before/after keys."""
    return {k: v for k, v in candidate.figures.items() if k != "setup_s"}


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
