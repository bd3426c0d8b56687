"""Prometheus metrics in the text exposition format (no extra dependency needed).

One process keeps its counts in memory.  Under `m serve --workers N` every worker also writes
its counts to a file of its own in a folder the workers share (`M_SERVE_METRICS_DIR`, made by
the parent process), after every change and before the response is sent, and a scrape of any
worker adds up every worker's file: each scrape shows all workers' counts, whichever worker
answers it.  The files of workers that died stay (counters never go back), but their queue is
not counted.
"""
from __future__ import annotations

import json
import os
import threading
from bisect import bisect_left
from pathlib import Path

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple):
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def state(self) -> dict:
        return {"counts": self.counts, "total": self.total, "count": self.count}

    def add(self, state: dict) -> None:
        self.counts = [a + b for a, b in zip(self.counts, state["counts"])]
        self.total += state["total"]
        self.count += state["count"]

    def render(self, labels: str) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        cumulative = 0
        for bound, count in zip((*self.buckets, "+Inf"), self.counts):
            cumulative += count
            lines.append(f'{self.name}_bucket{{{labels},le="{bound}"}} {cumulative}')
        lines += [f"{self.name}_sum{{{labels}}} {self.total:.6f}", f"{self.name}_count{{{labels}}} {self.count}"]
        return lines


class ServerMetrics:
    """Requests by status code, dropped requests, request latency, examples per executed batch,
    the queue; with `shared_dir`, the sum over every worker process writing there."""

    def __init__(self, model_name: str, shared_dir: str | Path | None = None):
        self.labels = f'model="{model_name}"'
        self.lock = threading.Lock()
        self.requests: dict[int, int] = {}
        self.dropped: dict[str, int] = {}
        self.latency = self._latency()
        self.batch_size = self._batch_size()
        self.examples = 0
        self.queue_depth = lambda: 0   # the server sets it to read its batcher's queue
        self.pid = os.getpid()
        self.shared_dir = Path(shared_dir) if shared_dir else None
        if self.shared_dir is not None:
            self._write()  # a worker that answered nothing yet still counts as one

    @staticmethod
    def _latency() -> Histogram:
        return Histogram("mlang_request_latency_seconds", "Prediction request latency (200s).", LATENCY_BUCKETS)

    @staticmethod
    def _batch_size() -> Histogram:
        return Histogram("mlang_batch_size", "Examples per executed model batch.", BATCH_BUCKETS)

    def record_request(self, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[status] = self.requests.get(status, 0) + 1
            if status == 200:
                self.latency.observe(seconds)
            self._write()

    def record_batch(self, size: int) -> None:
        with self.lock:
            self.batch_size.observe(size)
            self.examples += size
            self._write()

    def record_drop(self, reason: str) -> None:
        with self.lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1
            self._write()

    def _state(self) -> dict:
        return {"pid": self.pid, "requests": {str(k): v for k, v in self.requests.items()},
                "dropped": dict(self.dropped), "examples": self.examples, "queue": self.queue_depth(),
                "latency": self.latency.state(), "batch_size": self.batch_size.state()}

    def _write(self) -> None:
        if self.shared_dir is None:
            return
        path = self.shared_dir / f"worker-{self.pid}.json"
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(self._state()))
        os.replace(partial, path)  # a scrape never reads half a file

    def _totals(self) -> tuple[dict, int]:
        """Every worker's counts added up (this one's from memory), and the number of live workers."""
        states, workers = [self._state()], 1
        for path in self.shared_dir.glob("worker-*.json") if self.shared_dir is not None else ():
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # removed or replaced between listing and reading
            if state["pid"] == self.pid:
                continue
            alive = _alive(state["pid"])
            workers += alive
            if not alive:
                state["queue"] = 0
            states.append(state)
        total = {"requests": {}, "dropped": {}, "examples": 0, "queue": 0,
                 "latency": self._latency(), "batch_size": self._batch_size()}
        for state in states:
            for key in ("requests", "dropped"):
                for label, count in state[key].items():
                    total[key][label] = total[key].get(label, 0) + count
            total["examples"] += state["examples"]
            total["queue"] += state["queue"]
            total["latency"].add(state["latency"])
            total["batch_size"].add(state["batch_size"])
        return total, workers

    def render(self) -> str:
        with self.lock:
            total, workers = self._totals()
        labels = self.labels
        lines = ["# HELP mlang_requests_total Prediction requests by HTTP status.",
                 "# TYPE mlang_requests_total counter"]
        lines += [f'mlang_requests_total{{{labels},code="{code}"}} {count}'
                  for code, count in sorted(total["requests"].items(), key=lambda item: int(item[0]))]
        lines += ["# HELP mlang_dropped_total Requests dropped before the model computed them, by reason.",
                  "# TYPE mlang_dropped_total counter"]
        lines += [f'mlang_dropped_total{{{labels},reason="{reason}"}} {count}'
                  for reason, count in sorted(total["dropped"].items())]
        lines += ["# HELP mlang_examples_total Examples predicted.",
                  "# TYPE mlang_examples_total counter",
                  f"mlang_examples_total{{{labels}}} {total['examples']}",
                  "# HELP mlang_queue_depth Requests waiting for the model.",
                  "# TYPE mlang_queue_depth gauge",
                  f"mlang_queue_depth{{{labels}}} {total['queue']}",
                  "# HELP mlang_workers Worker processes whose counts this scrape adds up.",
                  "# TYPE mlang_workers gauge",
                  f"mlang_workers{{{labels}}} {workers}"]
        lines += total["latency"].render(labels) + total["batch_size"].render(labels)
        lines.append(f"# answered by worker process {self.pid}")
        return "\n".join(lines) + "\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
