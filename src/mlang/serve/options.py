"""What configures one served model; importable without FastAPI (so `import mlang` stays light).

The defaults here are the only ones: `Server`, `serve`, the M builtin and `m serve`'s flags read them.
"""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang.diagnostics import MError

OPTIONS_ENV = "M_SERVE_OPTIONS"
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
    token: str | None = None
    public_metrics_and_docs: bool = False  # under a token, /metrics, /docs, /openapi.json need none
    max_body_bytes: int = 8 * 1024 * 1024
    max_json_depth: int = 32               # arrays and objects nested in one another
    max_number_digits: int = 100           # digits in a row in one JSON number
    read_timeout_s: float = 30.0           # to send a request's headers, and then its body
    max_inputs: int = 1024
    device: str = "auto"
    backend: str = "eager"
    num_threads: int | None = None
    trust_code: bool | str | None = None   # run a model file's own code (docs/security.md)

    def __post_init__(self):
        for name, highest in HIGHEST.items():
            if not 1 <= getattr(self, name) <= highest:
                raise MError(f"must be between 1 and {highest}", field=name)
