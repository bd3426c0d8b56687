"""Measuring a model before and after optimization: the report the optimizer returns.

Figures: `parameters` (weight values: float parameters and int8 weights, not scales or
BatchNorm statistics), `nonzero` (of those), `size_bytes` (the state dict serialized as
safetensors: what the repository stores), latency at batch 1 and at batch 32 (median of timed
runs after a warm-up), throughput at batch 32 (examples per second) and, when evaluation data
is given, a metric (accuracy for classifiers, unless another function is given).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from mlang.lang.diagnostics import MError

_NOT_WEIGHTS = ("running_mean", "running_var", "num_batches_tracked", "weight_scale", "_scale",
                "activation_qparams")


def weight_tensors(module) -> dict:
    """State-dict entries that hold weight values (float or int8), by name."""
    import torch

    return {name: t for name, t in module.state_dict().items()
            if (t.is_floating_point() or t.dtype == torch.int8)
            and not name.endswith(_NOT_WEIGHTS)}


def serialized_size(module) -> int:
    """Bytes of the state dict written as safetensors (shared tensors written once)."""
    from safetensors.torch import save

    seen, tensors = set(), {}
    for name, tensor in module.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape), tensor.dtype) if tensor.numel() else None
        if key is not None and key in seen:
            continue
        seen.add(key)
        tensors[name] = tensor.detach().contiguous()
    return len(save(tensors))


def time_call(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_of(model, inputs, batch_size: int):
    """A batch of `batch_size` inputs: from a callable, a list of raw examples (repeated to
    fill the batch), a tensor, or the model's own `example_inputs`."""
    import torch

    if callable(inputs):
        return inputs(batch_size)
    if inputs is None:
        example = getattr(model, "example_inputs", None)
        if example is None:
            raise MError("cannot time this model without example inputs", field="inputs",
                         hint="pass inputs=<a list of examples or a tensor batch>")
        return example(batch_size)
    if isinstance(inputs, torch.Tensor):
        repeats = -(-batch_size // len(inputs))
        return inputs.repeat(repeats, *([1] * (inputs.dim() - 1)))[:batch_size]
    items = list(inputs)
    return (items * (-(-batch_size // len(items))))[:batch_size]


def measure(model, inputs=None, eval_data=None, metric: str | Callable = "accuracy",
            batch_sizes: tuple[int, int] = (1, 32), repeats: int = 5,
            threads: int | None = None) -> dict:
    """The figures of one model (see the module docstring)."""
    import torch

    from mlang.optimize.data import run_model

    weights = weight_tensors(model)
    figures: dict[str, Any] = {
        "parameters": int(sum(t.numel() for t in weights.values())),
        "nonzero": int(sum(int(torch.count_nonzero(t)) for t in weights.values())),
        "size_bytes": serialized_size(model),
    }
    was_training = model.training
    model.eval()
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for size in batch_sizes:
                batch = batch_of(model, inputs, size)
                seconds = time_call(lambda: run_model(model, batch), repeats)
                figures[f"latency_ms_batch{size}"] = seconds * 1000
            largest = max(batch_sizes)
            figures["throughput"] = largest / (figures[f"latency_ms_batch{largest}"] / 1000)
            if eval_data is not None:
                name, value = evaluate(model, eval_data, metric)
                figures["metric"] = name
                figures["metric_value"] = value
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training)
    return figures


def evaluate(model, data, metric: str | Callable = "accuracy", run: Callable | None = None
             ) -> tuple[str, float]:
    """(metric name, value) of `model` on labelled data; `run(inputs)` computes the outputs
    instead of the model itself (an execution plan's backend)."""
    import torch

    from mlang.optimize.data import iterate_batches, run_model

    if callable(metric):
        return getattr(metric, "__name__", "metric"), float(metric(model, data))
    if metric not in ("accuracy", "mse"):
        raise MError(f"unknown metric {metric!r}", field="metric",
                     hint="use 'accuracy' or 'mse', or pass a function (model, data) -> float")
    correct = total = 0
    squared = 0.0
    for inputs, targets in iterate_batches(model, data):
        if targets is None:
            raise MError("the evaluation data has no labels", field="eval_data",
                         hint="give a dataset with a target column, or (inputs, label) pairs")
        output = (run(inputs) if run is not None else run_model(model, inputs)).float()
        targets = torch.as_tensor(targets)
        if metric == "accuracy":
            correct += int((output.argmax(-1) == targets.long()).sum())
        else:
            squared += float(((output.reshape(targets.shape) - targets.float()) ** 2).sum())
        total += len(targets)
    if not total:
        raise MError("the evaluation data is empty", field="eval_data")
    return metric, (correct / total if metric == "accuracy" else squared / total)


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.2f} GB"


@dataclass
class OptimizationReport:
    """Before/after figures of one optimization run, and what each pass did."""

    goal: str
    passes: list[str]
    before: dict
    after: dict
    notes: list[str] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)  # every plan measured (mlang.optimize.plan)
    plan: dict | None = None  # the chosen execution plan

    def ratio(self, key: str) -> float | None:
        if key in self.before and key in self.after and self.before[key]:
            return self.after[key] / self.before[key]
        return None

    def to_dict(self) -> dict:
        ratios = {k: self.ratio(k) for k in self.before if isinstance(self.before[k], (int, float))}
        return {"goal": self.goal, "passes": self.passes, "before": self.before,
                "after": self.after, "ratios": {k: v for k, v in ratios.items() if v is not None},
                "notes": self.notes, "candidates": self.candidates, "plan": self.plan}

    @classmethod
    def from_dict(cls, data: dict) -> "OptimizationReport":
        return cls(data["goal"], data["passes"], data["before"], data["after"],
                   data.get("notes", []), data.get("candidates", []), data.get("plan"))

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(figure, before, after, after/before) rows for printing."""
        labels = [("parameters", "parameters", "{:,.0f}"), ("nonzero", "non-zero parameters", "{:,.0f}"),
                  ("size_bytes", "serialized size", None),
                  ("latency_ms_batch1", "latency batch 1 (ms)", "{:.2f}"),
                  ("latency_ms_batch32", "latency batch 32 (ms)", "{:.1f}"),
                  ("throughput", "throughput (examples/s)", "{:.1f}")]
        rows = []
        for key, label, fmt in labels:
            if key not in self.before:
                continue
            show = human_bytes if fmt is None else fmt.format
            ratio = self.ratio(key)
            rows.append((label, show(self.before[key]), show(self.after[key]),
                         f"{ratio:.3f}×" if ratio is not None else "-"))
        if "metric_value" in self.before:
            drop = self.after["metric_value"] - self.before["metric_value"]
            rows.append((self.before["metric"], f"{self.before['metric_value']:.4f}",
                         f"{self.after['metric_value']:.4f}", f"{drop:+.4f}"))
        return rows

    def table(self) -> str:
        """The report as a plain-text table."""
        rows = [("figure", "before", "after", "ratio")] + self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"optimization for {self.goal}"]
        for i, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[0]) if j == 0 else cell.rjust(widths[j])
                                   for j, cell in enumerate(row)))
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.extend(self.footer())
        return "\n".join(lines)

    CANDIDATE_COLUMNS = ("candidate plan", "examples/s", "size", "agreement", "min cos", "metric", "")

    def candidate_rows(self) -> list[tuple[str, ...]]:
        """One row per candidate plan: speed, size, error against fp32, and its status and why."""
        rows = []
        for c in self.candidates:
            def figure(key, fmt):
                return fmt.format(c[key]) if isinstance(c.get(key), (int, float)) else "-"
            status = c["status"] + (f": {c['reason']}" if c.get("reason") else "")
            rows.append((c["name"], figure("throughput", "{:.1f}"),
                         human_bytes(c["size_bytes"]) if "size_bytes" in c else "-",
                         figure("label_agreement", "{:.3f}"), figure("min_cosine", "{:.4f}"),
                         figure("metric_value", "{:.4f}"), status))
        return rows

    def plan_line(self) -> str:
        return (f"plan: {self.plan['candidate']} — backend {self.plan['backend']!r}, "
                f"{self.plan['precision']} on {self.plan['device']} (the Engine and m serve run it)")

    def footer(self, candidates: bool = True) -> list[str]:
        lines = [f"  {i}. {line}" for i, line in enumerate(self.passes, 1)]
        lines += [f"  note: {note}" for note in self.notes]
        if not candidates:
            return lines
        if self.candidates:
            rows = [self.CANDIDATE_COLUMNS] + self.candidate_rows()
            widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
            lines.append("  candidate plans (measured on the given data, interleaved rounds):")
            for row in rows:
                lines.append("    " + "  ".join(cell.ljust(widths[0]) if j == 0 else cell.rjust(widths[j])
                                                for j, cell in enumerate(row[:-1])) + "  " + row[-1])
        if self.plan:
            lines.append("  " + self.plan_line())
        return lines

    def print(self) -> None:
        """Print as a Rich table (plain text when Rich cannot render)."""
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            print(self.table())
            return
        table = Table(title=f"optimization for {self.goal}")
        for column in ("figure", "before", "after", "ratio"):
            table.add_column(column, justify="left" if column == "figure" else "right")
        for row in self.rows():
            table.add_row(*row)
        console = Console()
        console.print(table)
        for line in self.footer(candidates=False):
            console.print(line, markup=False, highlight=False)
        if self.candidates:
            plans = Table(title="candidate plans (measured on the given data, interleaved rounds)")
            for column in self.CANDIDATE_COLUMNS[:-1] + ("status",):
                plans.add_column(column, justify="left" if column in ("candidate plan", "status") else "right")
            for row in self.candidate_rows():
                plans.add_row(*row)
            # piped output (a log) has no width to fit: give the reasons room rather than wrap them
            (console if console.is_terminal else Console(width=160)).print(plans)
        if self.plan:
            console.print(self.plan_line(), markup=False, highlight=False)

    def __str__(self) -> str:
        return self.table()
