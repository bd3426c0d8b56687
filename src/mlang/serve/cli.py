"""`m serve REF`: serve a saved model over HTTP (mounted on the `m` command by mlang.cli).

Mount the command function: `app.command("serve")(mlang.serve.cli.serve_command)`; `app` here
is the same command as a standalone Typer app.
"""
from __future__ import annotations

from typing import Optional

import typer

from mlang.lang.diagnostics import MError
from mlang.models.trust import TRUST_CODE_HELP, TRUST_SHA256_HELP, trust_option
from mlang.serve.options import ServeOptions as DEFAULT  # its class attributes are the defaults


def serve_command(
    ref: str = typer.Argument(..., help="model to serve: a registry reference name[:version] or a model file"),
    port: int = typer.Option(8000, help="TCP port (0 picks a free one)"),
    host: str = typer.Option("127.0.0.1", help="interface to listen on (0.0.0.0 for all)"),
    workers: int = typer.Option(1, help="worker processes, each with its own copy of the model"),
    max_batch_size: int = typer.Option(DEFAULT.max_batch_size, help="most examples one model call takes"),
    model_batch_size: Optional[int] = typer.Option(
        DEFAULT.model_batch_size, help="examples per model call within a batch; texts are grouped by length, "
                                       "so smaller calls pad less (default: --max-batch-size)"),
    max_latency_ms: float = typer.Option(DEFAULT.max_latency_ms,
                                         help="how long a request may wait for others to batch with"),
    no_batching: bool = typer.Option(not DEFAULT.batching, "--no-batching", help="run every request on its own"),
    max_queue: int = typer.Option(DEFAULT.max_queue, help="requests that may wait for the model; beyond it "
                                                          "503 with Retry-After"),
    request_timeout_s: float = typer.Option(DEFAULT.request_timeout_s, "--request-timeout-s", "--timeout",
                                            help="seconds from a request's arrival to its answer (504 after; "
                                                 "a request the model has not reached is dropped)"),
    drain_s: float = typer.Option(DEFAULT.drain_s, help="on SIGTERM, seconds /readyz answers 503 while requests "
                                                        "are still served, before the port closes"),
    num_threads: Optional[int] = typer.Option(DEFAULT.num_threads,
                                              help="torch threads per worker (default: the cores / --workers)"),
    token: Optional[str] = typer.Option(DEFAULT.token, envvar="M_SERVE_TOKEN",
                                        help="require 'Authorization: Bearer TOKEN' on every endpoint but /healthz"),
    public_metrics_and_docs: bool = typer.Option(
        DEFAULT.public_metrics_and_docs, "--public-metrics-and-docs",
        help="under --token, leave /metrics, /docs and /openapi.json open to all"),
    backend: str = typer.Option(DEFAULT.backend, help="plan (the model's execution plan, eager without one) | eager | compile | onnx | onnx-int8 | auto"),
    device: str = typer.Option(DEFAULT.device, help="cpu | cuda | cuda:N | auto"),
    max_body_bytes: int = typer.Option(DEFAULT.max_body_bytes, help="largest request body accepted (413 above)"),
    max_json_depth: int = typer.Option(DEFAULT.max_json_depth,
                                       help="deepest nesting of JSON arrays and objects accepted (422 above)"),
    max_number_digits: int = typer.Option(DEFAULT.max_number_digits,
                                          help="most digits in a row in a JSON number (422 above)"),
    read_timeout_s: float = typer.Option(DEFAULT.read_timeout_s,
                                         help="seconds a client has to send a request's headers, then its body"),
    max_inputs: int = typer.Option(DEFAULT.max_inputs, help="most examples in one request (413 above)"),
    trust_code: bool = typer.Option(False, "--trust-code", help=TRUST_CODE_HELP),
    trust_code_sha256: Optional[str] = typer.Option(None, "--trust-code-sha256", help=TRUST_SHA256_HELP),
) -> None:
    """Serve a model: POST /v1/models/NAME/predict, /healthz, /readyz, /metrics, docs at /docs."""
    from mlang.serve.server import serve

    try:
        serve(ref, port=port, host=host, workers=workers, max_batch_size=max_batch_size,
              model_batch_size=model_batch_size, max_latency_ms=max_latency_ms, batching=not no_batching,
              max_queue=max_queue, request_timeout_s=request_timeout_s, drain_s=drain_s, num_threads=num_threads,
              token=token, public_metrics_and_docs=public_metrics_and_docs, backend=backend, device=device,
              max_body_bytes=max_body_bytes, max_json_depth=max_json_depth, max_number_digits=max_number_digits,
              read_timeout_s=read_timeout_s, max_inputs=max_inputs,
              trust_code=trust_option(trust_code, trust_code_sha256))
    except MError as error:
        typer.echo(error.format(), err=True)
        raise typer.Exit(1) from None


app = typer.Typer(help="Serve a model over HTTP with dynamic batching.", add_completion=False)
app.command()(serve_command)
