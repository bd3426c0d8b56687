"""The Engine: run a model on data, on a device, with a chosen backend (the paper's §3.2).

    engine = Engine(device="GPU:0")          # falls back to the CPU, with one warning, without a GPU
    engine.load_model(model)                 # an M model, a torch module, a file or "name:version"
    engine.prepare_data(data)                # Dataset, tensor, numpy array, list of texts / images
    engine.set_batch_size(32); engine.set_num_threads(4); engine.enable_profiling("profile.json")
    output = engine.run()                    # one tensor, rows in the order of the data
    engine.save_model("model.bin")           # self-contained; Engine().load_model("model.bin")
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlang.engine.backends import AUTO_CANDIDATES, BACKENDS, create_backend
from mlang.engine.data import PreparedData, prepare
from mlang.engine.device import resolve_device
from mlang.engine.runnable import Runnable
from mlang.lang.diagnostics import MError

# `plan`: what the model's execution plan says (eager without one); `auto`: measured here.
CHOICES = ("plan", *BACKENDS, "auto")
# Above this many batches, run() shows a progress bar.
PROGRESS_MIN_BATCHES = 8


@dataclass
class BackendChoice:
    """What backend='auto' measured: seconds per sample batch and error vs eager, per candidate."""

    chosen: str
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [f"{name} {secs * 1000:.1f} ms (err {self.errors.get(name, 0):.1e})"
                 for name, secs in self.seconds.items()]
        parts += [f"{name} rejected: {why}" for name, why in self.rejected.items()]
        return f"backend {self.chosen!r} chosen — " + "; ".join(parts)


class Engine:
    """Runs one model; every setting can be changed between runs."""

    def __init__(self, device: str = "auto", backend: str = "plan", *, batch_size: int = 32,
                 num_threads: int | None = None, tolerance: float = 1e-3, progress: bool | None = None):
        if backend not in CHOICES:
            raise MError(f"unknown backend {backend!r}", field="backend",
                         hint=f"use one of: {', '.join(CHOICES)}")
        self.device = resolve_device(device)
        self.backend_name = backend
        self.tolerance = tolerance
        self.progress = progress
        self.batch_size = 32
        self.set_batch_size(batch_size)
        self.num_threads = None
        if num_threads is not None:
            self.set_num_threads(num_threads)
        self.profile_path: Path | None = None
        self.runnable: Runnable | None = None
        self.data: PreparedData | None = None
        self.choice: BackendChoice | None = None
        self._backend = None

    # -- settings ---------------------------------------------------------------------------
    def load_model(self, model, name: str | None = None, *, trust_code=None) -> "Engine":
        """An M model, a torch module, an M model file (`model.bin`) or a registry ref `name:3`.

        A model file whose model carries code loads only with `trust_code` (`mlang.models.trust`)."""
        if isinstance(model, (str, Path)):
            from mlang.engine.artifact import load_model_ref

            name = name or re.split(r"[:@]", Path(str(model)).stem)[0]  # sentiment@prod → sentiment
            model = load_model_ref(model, trust_code=trust_code)
        self.runnable = model if isinstance(model, Runnable) else Runnable(model, name)
        self._backend = None
        return self

    def prepare_data(self, data) -> "Engine":
        self.data = prepare(data)
        return self

    def set_batch_size(self, batch_size: int) -> "Engine":
        if not isinstance(batch_size, int) or batch_size < 1:
            raise MError(f"batch size must be a positive integer, got {batch_size!r}", field="batch_size")
        self.batch_size = batch_size
        return self

    def set_num_threads(self, num_threads: int) -> "Engine":
        import torch

        if not isinstance(num_threads, int) or num_threads < 1:
            raise MError(f"number of threads must be a positive integer, got {num_threads!r}",
                         field="num_threads")
        self.num_threads = num_threads
        torch.set_num_threads(num_threads)
        self._backend = None  # ONNX Runtime sessions fix their thread count when created
        return self

    def enable_profiling(self, path: str | Path = "profile.json") -> "Engine":
        """The next runs write a Chrome trace (open it in https://ui.perfetto.dev) to `path`."""
        self.profile_path = Path(path)
        return self

    def disable_profiling(self) -> "Engine":
        self.profile_path = None
        return self

    # -- running ----------------------------------------------------------------------------
    @property
    def backend(self):
        """The backend in use, created (and for 'auto', chosen by measurement) on first need."""
        if self.runnable is None:
            raise MError("no model loaded", field="engine", hint="call engine.load_model(model) first")
        if self._backend is None:
            name, precision = self.backend_name, "fp32"
            if name == "plan":
                name, precision = self.planned()
            if name == "auto":
                self.choice = self._choose_backend()
                name = self.choice.chosen
                print(f"engine: {self.choice}", file=sys.stderr)
            self._backend = create_backend(name, self.runnable, self.device, self.num_threads,
                                           precision=precision)
        return self._backend

    def planned(self) -> tuple[str, str]:
        """(backend, precision) of the loaded model's execution plan (`optimize(goal=…)` chose
        it), or eager fp32 for a model without one.  A 16-bit plan made for a GPU runs in fp32
        when the engine's device is a CPU (bf16/fp16 arithmetic is slow there)."""
        from mlang.optimize.plan import execution_plan

        plan = execution_plan(self.runnable.model)
        if plan is None:
            return "eager", "fp32"
        precision = plan.precision
        if precision in ("fp16", "bf16") and self.device.type != "cuda":
            precision = "fp32"
        return plan.backend, precision

    def run(self, data=None):
        """Run the model on `data` (or the prepared data); returns the outputs concatenated."""
        import torch

        prepared = prepare(data) if data is not None else self.data
        if prepared is None:
            raise MError("no data to run on", field="engine",
                         hint="call engine.prepare_data(data) first, or pass data to run(data)")
        backend = self.backend
        if len(prepared) == 0:
            return torch.empty(0)
        if self.profile_path is None:
            return self._run_batches(backend, prepared)
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device.type == "cuda" else [])
        with profile(activities=activities, record_shapes=True) as profiler:
            outputs = self._run_batches(backend, prepared)
        self.profile_path.parent.mkdir(parents=True, exist_ok=True)
        profiler.export_chrome_trace(str(self.profile_path))
        return outputs

    def predict(self, inputs: list):
        """Run on a list of raw examples directly (what the server calls per batch)."""
        return self.run(PreparedData(examples=list(inputs)))

    def _run_batches(self, backend, prepared: PreparedData):
        import torch
        from rich.console import Console
        from rich.progress import Progress

        from mlang.train.progress import wanted

        total = (len(prepared) + self.batch_size - 1) // self.batch_size
        # Like training's bar: on a terminal's stderr only, so piped output stays the program's.
        show = self.progress if self.progress is not None else total >= PROGRESS_MIN_BATCHES and wanted(None)
        pieces, order = [], []
        bar = Progress(transient=True, disable=not show, console=Console(stderr=True))
        with torch.inference_mode(), bar:
            task = bar.add_task(f"running {self.runnable.name} ({backend.name})", total=total)
            for index, (rows, features) in enumerate(prepared.batches(self.runnable, self.batch_size)):
                with torch.profiler.record_function(f"engine.batch[{index}]"):
                    pieces.append(backend(features))
                order.extend(rows)
                bar.advance(task)
        outputs = torch.cat(pieces)
        if order != list(range(len(order))):
            restored = torch.empty_like(outputs)
            restored[torch.tensor(order)] = outputs
            outputs = restored
        return outputs

    def _choose_backend(self) -> BackendChoice:
        """Time each candidate on a sample batch; fastest within `tolerance` of eager wins."""
        if self.data is not None and len(self.data):
            _, sample = next(self.data.batches(self.runnable, self.batch_size))
        else:
            sample = self.runnable.example_inputs(batch_size=min(self.batch_size, 8))
        choice = BackendChoice(chosen="eager")
        reference = None
        for name in AUTO_CANDIDATES:
            try:
                backend = create_backend(name, self.runnable, self.device, self.num_threads)
                output = backend(sample)  # warm-up, and the output to compare
            except MError as error:
                choice.rejected[name] = str(error).splitlines()[0]
                continue
            if reference is None:
                reference = output
            error = relative_error(output, reference)
            if not error <= self.tolerance:
                choice.rejected[name] = f"error {error:.1e} above tolerance {self.tolerance:g}"
                continue
            choice.seconds[name] = _median_seconds(lambda: backend(sample))
            choice.errors[name] = error
        choice.chosen = min(choice.seconds, key=choice.seconds.get)
        return choice

    def save_model(self, path: str | Path = "model.bin") -> Path:
        """A self-contained file (safetensors + config) that `load_model(path)` reads back."""
        from mlang.engine.artifact import save_artifact

        if self.runnable is None:
            raise MError("no model loaded", field="engine", hint="call engine.load_model(model) first")
        return save_artifact(self.runnable.model, path)


def relative_error(output, reference) -> float:
    """max |output − reference| / max |reference| (0 when both are zero)."""
    if output.shape != reference.shape:
        return float("inf")
    scale = float(reference.abs().max()) or 1.0
    return float((output - reference).abs().max()) / scale


def _median_seconds(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
