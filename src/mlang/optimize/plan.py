"""The execution plan a model carries, and the search that chooses it.

A plan says how a model runs: which engine backend (`eager`, `compile`, `onnx`, `onnx-int8`), in
which precision (`fp32`, `int8`, `fp16`, `bf16`) and on which device kind.  `optimize(model,
goal=…)` builds candidate plans, measures each on the given data for a few batches, and keeps the
best for the goal among those within the accuracy budget; the plan is recorded in
`model.transforms` (so `save`/`load`, the registry and model files carry it) and the Engine and
`m serve` run it unless a `backend=` is given.

**int8 is one concept**: int8 weights with one scale per output channel and int8 activations
quantized per batch at run time (`Quantization(bits=8)`).  The plan chooses its realisation —
PyTorch's FBGEMM kernels (`eager`) or ONNX Runtime's integer kernels (`onnx-int8`) — by
measurement; both run the same int8 weights.

**The budget**: with `eval_data`, a candidate may lose at most `budget` of the metric (default
0.01: one point of accuracy; for `mse` the same fraction of the fp32 error).  Without it, against
fp32 eager on the measured batches: label agreement ≥ 0.99 for classifiers, and minimum cosine
≥ 0.98 between output rows (max relative error ≤ 0.02 for one-number outputs).

The engine's backends belong to a later stage; the engine registers the function that builds
one (`register_runner`), so this module imports nothing from it.
"""
from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from mlang.lang.diagnostics import MError

PRECISIONS = ("fp32", "int8", "fp16", "bf16")
DEFAULT_BUDGET = 0.01          # metric points (fractions) a candidate may lose with eval_data
MIN_AGREEMENT = 0.99           # label agreement with fp32, without eval_data
MIN_COSINE = 0.98              # min cosine of output rows with fp32, without eval_data
MAX_RELATIVE_ERROR = 0.02      # one-number outputs: max |Δ| / max |fp32|
MEASURE_BATCHES = 3            # batches of the given data timed per candidate
MEASURE_ROUNDS = 3             # interleaved timing rounds (medians)
BATCH_SIZE = 32
# torch.compile is measured only where it pays: its cold compile takes tens of seconds, and on
# CPUs it measured ≤ 1.08× eager (DESIGN §8); on a GPU it is a candidate.
COMPILE_ON_CPU_NOTE = ("not tried on a CPU (cold compile: tens of seconds; measured ≤ 1.08× eager); "
                       "candidates=[..., 'compile'] tries it")
PLAN_TRANSFORM = "execution_plan"

_RUNNER: list = []  # the engine's `(backend, model, device, precision, example) -> callable`


@dataclass
class ExecutionPlan:
    """How a model runs: an engine backend, a precision and a device kind."""

    backend: str = "eager"
    precision: str = "fp32"
    device: str = "cpu"
    goal: str | None = None
    candidate: str | None = None  # the name the optimization report lists it under

    def to_dict(self) -> dict:
        return {"backend": self.backend, "precision": self.precision, "device": self.device,
                "goal": self.goal, "candidate": self.candidate}

    @classmethod
    def from_dict(cls, data: dict) -> "ExecutionPlan":
        return cls(**{k: data[k] for k in ("backend", "precision", "device", "goal", "candidate")
                      if k in data})

    def __str__(self) -> str:
        return f"{self.backend} {self.precision} on {self.device}"


def execution_plan(model) -> ExecutionPlan | None:
    """The plan a model carries (set by `optimize`, kept by save/load), or None."""
    plan = getattr(model, "execution_plan", None)
    if isinstance(plan, ExecutionPlan):
        return plan
    for record in reversed(getattr(model, "transforms", None) or []):
        if record.get("transform") == PLAN_TRANSFORM:
            return ExecutionPlan.from_dict(record["plan"])
    return None


def attach_plan(model, plan: ExecutionPlan) -> None:
    """Record `plan` on the model and in its transforms (one plan per model: the latest)."""
    from mlang.optimize.passes import record_transform

    transforms = getattr(model, "transforms", None)
    if transforms is not None:
        transforms[:] = [t for t in transforms if t.get("transform") != PLAN_TRANSFORM]
    record_transform(model, {"transform": PLAN_TRANSFORM, "plan": plan.to_dict()})
    try:
        model.execution_plan = plan
    except AttributeError:
        pass


def replay_plan(model, record: dict):
    """Restoring a saved model: its plan comes back with it."""
    model.execution_plan = ExecutionPlan.from_dict(record["plan"])
    return model


def register_runner(factory) -> None:
    """The engine registers `factory(backend, model, device, precision, example)` → a callable
    that runs preprocessed features and returns the output tensor."""
    _RUNNER[:] = [factory]


def _runner():
    if not _RUNNER:
        from mlang.lang.registry import load_stages

        load_stages()  # the engine stage registers its runner when its builtins load
    if not _RUNNER:
        raise MError("no execution engine is installed to measure plans with", field="goal",
                     hint="mlang.engine registers it; is the package installed completely?")
    factory = _RUNNER[0]
    if isinstance(factory, str):
        from mlang.lang.registry import _import_target

        factory = _RUNNER[0] = _import_target(factory)
    return factory


# ------------------------------------------------------------------------------------ candidates

@dataclass
class Candidate:
    """One plan to measure: how to build its model, and how to run it."""

    name: str
    backend: str
    precision: str
    build: Callable[[], Any]  # → the model this plan runs (shared between realisations)
    figures: dict = field(default_factory=dict)
    status: str = "measured"  # measured | chosen | rejected | failed | skipped
    reason: str = ""
    model: Any = None
    run: Any = None

    def row(self) -> dict:
        return {"name": self.name, "backend": self.backend, "precision": self.precision,
                "status": self.status, "reason": self.reason, **self.figures}


def candidate_plans(model, goal: str, device: str, *, data=None, given=None, names=None
                    ) -> list[Candidate]:
    """The candidates for `goal` on `device` (`"cpu"` or `"cuda"`).

    `given` (the model an optimize block's passes made): the passes are the user's plan of
    transformations, and only their realisation is chosen; fp32 eager stays the reference.  `names` limits (or, for `compile` on a CPU, extends) the list.
    """
    from mlang.optimize.quantization import Quantization

    cache: dict[str, Any] = {}

    def once(key, make):
        def build():
            if key not in cache:
                cache[key] = make()
            return cache[key]
        return build

    def fp32():
        return copy.deepcopy(model).eval()

    def int8():
        quantized = Quantization(bits=8, embeddings=goal == "memory").apply(copy.deepcopy(model))
        return quantized.eval()

    fp32_build, int8_build = once("fp32", fp32), once("int8", int8)
    if given is not None:  # an optimize block's result: only its realisation is chosen
        int8_given = _has_int8(given)
        return [Candidate("fp32 eager (before your passes)", "eager", "fp32", fp32_build),
                Candidate("your passes, eager", "eager", "int8" if int8_given else "fp32", lambda: given),
                Candidate("your passes, ONNX Runtime" + (" int8" if int8_given else ""),
                          "onnx-int8" if int8_given else "onnx", "int8" if int8_given else "fp32",
                          lambda: given)]
    plans = [Candidate("fp32 eager", "eager", "fp32", fp32_build)]
    if device == "cuda":
        import torch

        plans.append(Candidate("fp16 eager", "eager", "fp16", fp32_build))
        if torch.cuda.is_bf16_supported():
            plans.append(Candidate("bf16 eager", "eager", "bf16", fp32_build))
        plans.append(Candidate("fp16 torch.compile", "compile", "fp16", fp32_build))
        plans.append(Candidate("fp32 ONNX Runtime (CUDA)", "onnx", "fp32", fp32_build))
    else:
        if goal != "accuracy":
            plans.append(Candidate("int8 eager (torch kernels)", "eager", "int8", int8_build))
        plans.append(Candidate("fp32 ONNX Runtime", "onnx", "fp32", fp32_build))
        if goal != "accuracy":
            plans.append(Candidate("int8 ONNX Runtime (per-channel)", "onnx-int8", "int8", int8_build))
        compile_plan = Candidate("fp32 torch.compile", "compile", "fp32", fp32_build)
        if names is not None and "compile" in names:
            plans.append(compile_plan)
        else:
            compile_plan.status, compile_plan.reason = "skipped", COMPILE_ON_CPU_NOTE
            plans.append(compile_plan)
        if data is not None and goal != "accuracy":
            plans.append(Candidate("pruned 20% FFN + recovery, int8 ONNX Runtime", "onnx-int8", "int8",
                                   once("pruned", lambda: _pruned_int8(model, data, goal))))
    if names is not None:
        wanted = set(names)
        unknown = wanted - {p.backend for p in plans} - {p.precision for p in plans} - {"prune"}
        if unknown:
            raise MError(f"unknown candidate {sorted(unknown)[0]!r}", field="candidates",
                         hint="name backends (eager, onnx, onnx-int8, compile), precisions "
                              "(fp32, int8, fp16, bf16) or 'prune'")
        for plan in plans:
            keep = (plan.backend in wanted or plan.precision in wanted
                    or ("prune" in wanted and plan.name.startswith("pruned")))
            if not keep and plan is not plans[0]:  # fp32 eager stays: the reference
                plan.status, plan.reason = "skipped", "not among the candidates asked for"
    return plans


def _has_int8(model) -> bool:
    from mlang.optimize.layers import Int8Conv2d, Int8Linear, Int8RNN

    return any(isinstance(m, (Int8Linear, Int8Conv2d, Int8RNN)) for m in model.modules())


def _pruned_int8(model, data, goal: str):
    """20 % of the feed-forward neurons removed, recovered by distillation from the original on
    `data` (one epoch), then int8: the pruning candidate when training data is given."""
    from mlang.optimize.distillation import Distillation
    from mlang.optimize.passes import OptimizationContext
    from mlang.optimize.pruning import Pruning
    from mlang.optimize.quantization import Quantization

    context = OptimizationContext(goal=goal, data=data, original=model)
    pruned = Pruning(strategy="l2", percentage=0.2, scope="global", target="neurons").apply(
        copy.deepcopy(model), context)
    pruned = Distillation(data=data, epochs=1, temperature=2.0, alpha=0.5, lr=5e-5).apply(pruned, context)
    return Quantization(bits=8, embeddings=goal == "memory").apply(pruned.eval(), context).eval()


# ------------------------------------------------------------------------------------ measuring

def feature_batches(model, data, batches: int = MEASURE_BATCHES, batch_size: int = BATCH_SIZE):
    """Up to `batches` preprocessed batches (`{name: tensor}`) of `data` to time candidates on."""
    from mlang.optimize.data import iterate_batches

    if callable(data) and not hasattr(data, "batches"):
        return [_features(model, data(batch_size))]
    out = []
    for inputs, _ in iterate_batches(model, data, batch_size=batch_size):
        out.append(_features(model, inputs))
        if len(out) >= batches:
            break
    if not out:
        raise MError("no data to measure the candidate plans on", field="data",
                     hint="pass eval_data=, data= or inputs= with at least one example")
    return out


def _features(model, inputs) -> dict:
    import torch

    if isinstance(inputs, dict):
        return dict(inputs)
    if isinstance(inputs, torch.Tensor):
        return {"x": inputs}
    if callable(getattr(model, "preprocess", None)):
        return dict(model.preprocess(list(inputs)))
    raise MError(f"cannot measure a plain module on {type(inputs).__name__} inputs", field="inputs",
                 hint="pass tensors, or a model made by M (it preprocesses raw examples)")


def rows_of(features: dict) -> int:
    return next(iter(features.values())).shape[0]


def _one_row(features: dict) -> dict:
    return {name: value[:1] for name, value in features.items()}


def compare(output, reference) -> dict:
    """Agreement figures of `output` with the fp32 `reference` (both [rows, ...])."""
    import torch

    output, reference = output.float().reshape(len(output), -1), reference.float().reshape(len(reference), -1)
    if output.shape != reference.shape:
        return {"max_relative_error": float("inf")}
    scale = float(reference.abs().max()) or 1.0
    figures = {"max_relative_error": float((output - reference).abs().max()) / scale}
    if reference.shape[1] > 1:
        figures["min_cosine"] = float(torch.nn.functional.cosine_similarity(output, reference, dim=1).min())
        figures["label_agreement"] = float((output.argmax(1) == reference.argmax(1)).float().mean())
    return figures


def within_budget(figures: dict, reference: dict, budget: float) -> str:
    """'' when a candidate's figures are within the budget, else why not."""
    if "metric_value" in figures and "metric_value" in reference:
        name, base, value = reference["metric"], reference["metric_value"], figures["metric_value"]
        loss = (value - base) / max(abs(base), 1e-12) if name == "mse" else base - value
        if loss > budget + 1e-12:
            unit = f"{100 * loss:.2f} points" if name != "mse" else f"{100 * loss:.1f} % more error"
            return f"{name} {value:.4f} vs fp32 {base:.4f}: loses {unit} (budget {budget:g})"
        return ""
    if "label_agreement" in figures and figures["label_agreement"] < MIN_AGREEMENT:
        return f"label agreement {figures['label_agreement']:.3f} with fp32 < {MIN_AGREEMENT}"
    if "min_cosine" in figures:
        if figures["min_cosine"] < MIN_COSINE:
            return f"min cosine {figures['min_cosine']:.3f} with fp32 < {MIN_COSINE}"
        return ""
    if figures.get("max_relative_error", 0.0) > MAX_RELATIVE_ERROR:
        return f"max relative error {figures['max_relative_error']:.3g} vs fp32 > {MAX_RELATIVE_ERROR}"
    return ""


def _score(goal: str, figures: dict) -> float:
    """Higher is better for `goal`."""
    if goal == "latency":
        return -figures.get("latency_ms_batch1", float("inf"))
    if goal == "memory":
        return -figures["size_bytes"] + figures.get("throughput", 0.0) * 1e-9  # ties: faster
    return figures.get("throughput", 0.0)


def evaluate_with(run, model, data, metric) -> tuple[str, float]:
    """The metric of `run` (features → outputs) on labelled `data`, batched as the model does."""
    from mlang.optimize.report import evaluate

    if callable(metric):  # a function of (model, data) sees the plan's torch model
        return evaluate(model, data, metric)
    return evaluate(model, data, metric, run=lambda inputs: run(_features(model, inputs)))


def search(model, goal: str, *, device: str = "cpu", data=None, eval_data=None, inputs=None,
           metric="accuracy", budget: float | None = None, given=None, names=None,
           num_threads: int | None = None) -> tuple[Any, ExecutionPlan, list[Candidate]]:
    """Build and measure the candidate plans; return (the chosen plan's model, the plan, all)."""
    import torch

    from mlang.optimize.report import serialized_size, weight_tensors

    budget = DEFAULT_BUDGET if budget is None else float(budget)
    if budget < 0:
        raise MError(f"budget={budget!r} is negative", field="budget",
                     hint="the metric a plan may lose, e.g. 0.01 for one point of accuracy")
    measure_on = inputs if inputs is not None else (eval_data if eval_data is not None else data)
    if measure_on is None:
        example = getattr(model, "example_inputs", None)
        if not callable(example):
            raise MError("cannot measure plans without data", field="data",
                         hint="pass eval_data=, data= or inputs= (examples the model takes)")
        measure_on = example
    batches = feature_batches(model, measure_on)
    runner = _runner()
    plans = candidate_plans(model, goal, device, data=data, given=given, names=names)
    torch_device = torch.device("cuda" if device == "cuda" else "cpu")
    live = []
    for plan in plans:
        if plan.status == "skipped":
            continue
        try:
            started = time.perf_counter()
            plan.model = plan.build()
            plan.run = runner(plan.backend, plan.model, torch_device, plan.precision, batches[0],
                              num_threads)
            with torch.inference_mode():
                plan.outputs = [plan.run(b) for b in batches]  # warm-up, and the outputs compared
            plan.figures["setup_s"] = time.perf_counter() - started
        except MError as error:
            plan.status, plan.reason = "failed", str(error).splitlines()[0].removeprefix("error: ")
            continue
        except Exception as error:  # noqa: BLE001 - exporters and kernels raise many types
            plan.status, plan.reason = "failed", f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            continue
        weights = weight_tensors(plan.model)
        plan.figures.update(parameters=int(sum(t.numel() for t in weights.values())),
                            nonzero=int(sum(int(torch.count_nonzero(t)) for t in weights.values())),
                            size_bytes=serialized_size(plan.model))
        live.append(plan)
    if not live or live[0] is not plans[0]:
        reason = plans[0].reason or "it did not run"
        raise MError(f"the model does not run in fp32 eager: {reason}", field="model")
    _time(live, batches, goal)
    reference = live[0]
    for plan in live:
        plan.figures.update(_agreement(plan, reference))
    order = sorted(live, key=lambda p: _score(goal, p.figures), reverse=True)
    if eval_data is not None:
        name, value = evaluate_with(reference.run, reference.model, eval_data, metric)
        reference.figures.update(metric=name, metric_value=value)
    chosen = None
    for plan in order:  # the best first; evaluation stops at the first within budget
        if given is not None and plan is reference:
            plan.reason = "the model before your passes (the reference)"
            continue
        if eval_data is not None and plan is not reference:
            name, value = evaluate_with(plan.run, plan.model, eval_data, metric)
            plan.figures.update(metric=name, metric_value=value)
        why = "" if plan is reference else within_budget(plan.figures, reference.figures, budget)
        if why:
            plan.status, plan.reason = "rejected", why
            continue
        chosen = plan
        break
    if chosen is None and given is not None:  # the user's passes stand, even outside the budget
        chosen = next((p for p in live if p.backend == "eager" and p is not reference), reference)
        chosen.reason = f"kept outside the budget, as your passes asked ({chosen.reason})"
    if eval_data is None:  # the agreement verdict is free: give it for every candidate
        for plan in order:
            why = within_budget(plan.figures, reference.figures, budget)
            if why and plan is not chosen and plan is not reference:
                plan.status, plan.reason = "rejected", why
    for plan in order:
        if plan.status == "measured" and plan is not chosen:
            plan.reason = plan.reason or f"{_goal_words(goal)} than the chosen plan"
    chosen.status = "chosen"
    plan = ExecutionPlan(backend=chosen.backend, precision=chosen.precision, device=device, goal=goal,
                         candidate=chosen.name)
    for candidate in plans:
        candidate.run = None  # sessions and compiled graphs are not kept on the report
    return chosen.model, plan, plans


def _goal_words(goal: str) -> str:
    return {"latency": "slower at batch 1", "memory": "larger"}.get(goal, "slower")


def _time(live: list[Candidate], batches: list[dict], goal: str) -> None:
    """Interleaved rounds over the candidates (machine load hits them alike); medians."""
    import torch

    rows = sum(rows_of(b) for b in batches)
    seconds = {id(p): [] for p in live}
    single = {id(p): [] for p in live}
    one = _one_row(batches[0])
    with torch.inference_mode():
        for _ in range(MEASURE_ROUNDS):
            for plan in live:
                start = time.perf_counter()
                for batch in batches:
                    plan.run(batch)
                seconds[id(plan)].append(time.perf_counter() - start)
                if goal == "latency":
                    for _ in range(3):
                        start = time.perf_counter()
                        plan.run(one)
                        single[id(plan)].append(time.perf_counter() - start)
    for plan in live:
        total = statistics.median(seconds[id(plan)])
        plan.figures["throughput"] = rows / total
        plan.figures[f"latency_ms_batch{rows_of(batches[0])}"] = 1000 * total / len(batches)
        if single[id(plan)]:
            plan.figures["latency_ms_batch1"] = 1000 * statistics.median(single[id(plan)])


def _agreement(plan: Candidate, reference: Candidate) -> dict:
    import torch

    return compare(torch.cat([o.reshape(len(o), -1) for o in plan.outputs]),
                   torch.cat([o.reshape(len(o), -1) for o in reference.outputs]))
