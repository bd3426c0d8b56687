"""What configures one served model; importable without FastAPI (so `import mlang` stays light)."""
from __future__ import annotations

from dataclasses import dataclass

OPTIONS_ENV = "M_SERVE_OPTIONS"


@dataclass
class ServeOptions:
    """Everything that configures one served model (also passed to worker processes as JSON)."""

    name: str | None = None
    max_batch_size: int = 32
    model_batch_size: int | None = None   # examples per model call inside a batch (None: max_batch_size)
    max_latency_ms: float = 5.0
    batching: bool = True
    token: str | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    max_inputs: int = 1024
    device: str = "auto"
    backend: str = "eager"
    num_threads: int | None = None
