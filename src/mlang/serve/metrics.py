"""Prometheus metrics in the text exposition format (no extra dependency needed)."""
from __future__ import annotations

import threading
from bisect import bisect_left

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

    def render(self, labels: str) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        cumulative = 0
        for bound, count in zip((*self.buckets, "+Inf"), self.counts):
            cumulative += count
            lines.append(f'{self.name}_bucket{{{labels},le="{bound}"}} {cumulative}')
        lines += [f"{self.name}_sum{{{labels}}} {self.total:.6f}", f"{self.name}_count{{{labels}}} {self.count}"]
        return lines


class ServerMetrics:
    """Requests by status code, request latency, examples per executed batch."""

    def __init__(self, model_name: str):
        self.labels = f'model="{model_name}"'
        self.lock = threading.Lock()
        self.requests: dict[int, int] = {}
        self.latency = Histogram("mlang_request_latency_seconds", "Prediction request latency.",
                                 LATENCY_BUCKETS)
        self.batch_size = Histogram("mlang_batch_size", "Examples per executed model batch.", BATCH_BUCKETS)
        self.examples = 0

    def record_request(self, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[status] = self.requests.get(status, 0) + 1
            if status == 200:
                self.latency.observe(seconds)

    def record_batch(self, size: int) -> None:
        with self.lock:
            self.batch_size.observe(size)
            self.examples += size

    def render(self) -> str:
        with self.lock:
            lines = ["# HELP mlang_requests_total Prediction requests by HTTP status.",
                     "# TYPE mlang_requests_total counter"]
            lines += [f'mlang_requests_total{{{self.labels},code="{code}"}} {count}'
                      for code, count in sorted(self.requests.items())]
            lines += ["# HELP mlang_examples_total Examples predicted.",
                      "# TYPE mlang_examples_total counter",
                      f"mlang_examples_total{{{self.labels}}} {self.examples}"]
            lines += self.latency.render(self.labels) + self.batch_size.render(self.labels)
        return "\n".join(lines) + "\n"
