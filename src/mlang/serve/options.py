"""What configures one served model; importable without FastAPI (so `import mlang` stays light).

The defaults here are the only ones: `Server`, `serve`, the M builtin and `m serve`'s flags read them.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from mlang.lang.diagnostics import MError

OPTIONS_ENV = "M_SERVE_OPTIONS"
METRICS_DIR_ENV = "M_SERVE_METRICS_DIR"  # set by `m serve --workers N`: where workers share counts
# The highest limits that can be set: Python parses JSON one recursion per nesting level (under
# its recursion limit of 1000), and converts at most 4300 digits to an int.
HIGHEST = {"max_json_depth": 500, "max_number_digits": 4300}


@dataclass
class ServeOptions:
    """Everything that configures one served model (also passed to worker processes as JSON)."""

    name: str | None = None
    max_batch_size: int = 32
    model_batch_size: int | None = None   # examples per model call inside a batch (None: max_batch_size)
    max_latency_ms: float = 5.0
    batching: bool = True
    max_queue: int = 256                   # requests waiting for the model; beyond it 503 + Retry-After
    request_timeout_s: float = 30.0        # from a request's arrival to its answer; beyond it 504
    drain_s: float = 0.0                   # on shutdown, /readyz answers 503 this long before the port closes
    token: str | None = None
    public_metrics_and_docs: bool = False  # under a token, /metrics, /docs, /openapi.json need none
    max_body_bytes: int = 8 * 1024 * 1024
    max_json_depth: int = 32               # arrays and objects nested in one another
    max_number_digits: int = 100           # digits in a row in one JSON number
    read_timeout_s: float = 30.0           # to send a request's headers, and then its body
    max_inputs: int = 1024
    device: str = "auto"
    backend: str = "plan"                 # the model's execution plan (optimize(goal=…)); eager without one
    num_threads: int | None = None         # torch threads per worker (None: the cores / the workers)
    trust_code: bool | str | None = None   # run a model file's own code (docs/security.md)

    def __post_init__(self):
        for name, highest in HIGHEST.items():
            if not 1 <= getattr(self, name) <= highest:
                raise MError(f"must be between 1 and {highest}", field=name)
        _positive_int("max_queue", self.max_queue,
                      "the number of requests that may wait for the model, e.g. 256")
        _positive_int("max_batch_size", self.max_batch_size, "e.g. 32")
        _positive_int("max_inputs", self.max_inputs, "e.g. 1024")
        if self.model_batch_size is not None:
            _positive_int("model_batch_size", self.model_batch_size, "e.g. 8, or leave it unset")
        if self.num_threads is not None:
            _positive_int("num_threads", self.num_threads,
                          "leave it unset to divide the machine's cores among the workers")
        _positive_number("request_timeout_s", self.request_timeout_s,
                         "seconds from a request's arrival to its answer, e.g. 30")
        _positive_number("read_timeout_s", self.read_timeout_s, "e.g. 30")
        _positive_number("max_latency_ms", self.max_latency_ms, "e.g. 5", zero=True)
        _positive_number("drain_s", self.drain_s, "e.g. 5 (seconds), or 0 to close at once", zero=True)


def _positive_int(field: str, value, hint: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MError(f"{field} must be a positive integer, got {value!r}", field=field, hint=hint)


def _positive_number(field: str, value, hint: str, zero: bool = False) -> None:
    good = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
            and (value >= 0 if zero else value > 0))
    if not good:
        kind = "a number ≥ 0" if zero else "a positive number"
        raise MError(f"{field} must be {kind}, got {value!r}", field=field, hint=hint)


def available_cores() -> int:
    """The CPU cores this process may use: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:  # cgroup v2: "max 100000" (no quota) or "200000 100000" (2 cores' worth)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def threads_per_worker(num_threads: int | None, workers: int = 1) -> int:
    """The torch threads each of `workers` processes runs the model with: `num_threads` when
    given (with a warning if the workers then ask for more threads than there are cores), else
    the cores divided among the workers, so that workers × threads ≤ cores."""
    _positive_int("workers", workers, "e.g. 2, each worker process loads its own copy of the model")
    cores = available_cores()
    if num_threads is None:
        if workers > cores:
            warnings.warn(f"{workers} workers on {cores} cores: each runs 1 thread, and they share the "
                          f"cores (use --workers {cores} or fewer)", stacklevel=3)
        return max(1, cores // workers)
    _positive_int("num_threads", num_threads, "leave it unset to divide the machine's cores among the workers")
    if workers * num_threads > cores:
        warnings.warn(f"{workers} workers × {num_threads} threads = {workers * num_threads} threads on "
                      f"{cores} cores: they will slow each other down (leave --num-threads unset for "
                      f"{max(1, cores // workers)} per worker)", stacklevel=3)
    return num_threads
