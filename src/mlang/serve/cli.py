"""`m serve REF`: serve a saved model over HTTP (mounted on the `m` command by mlang.cli).

Mount the command function: `app.command("serve")(mlang.serve.cli.serve_command)`; `app` here
is the same command as a standalone Typer app.
"""
from __future__ import annotations

from typing import Optional

import typer

from mlang.lang.diagnostics import MError


def serve_command(
    ref: str = typer.Argument(..., help="model to serve: a registry reference name[:version] or a model file"),
    port: int = typer.Option(8000, help="TCP port (0 picks a free one)"),
    host: str = typer.Option("127.0.0.1", help="interface to listen on (0.0.0.0 for all)"),
    workers: int = typer.Option(1, help="worker processes, each with its own copy of the model"),
    max_batch_size: int = typer.Option(32, help="most examples one model call takes"),
    model_batch_size: Optional[int] = typer.Option(
        None, help="examples per model call within a batch; texts are grouped by length, so smaller "
                   "calls pad less (default: --max-batch-size)"),
    max_latency_ms: float = typer.Option(5.0, help="how long a request may wait for others to batch with"),
    no_batching: bool = typer.Option(False, "--no-batching", help="run every request on its own"),
    token: Optional[str] = typer.Option(None, envvar="M_SERVE_TOKEN",
                                        help="require 'Authorization: Bearer TOKEN' on predictions"),
    backend: str = typer.Option("eager", help="eager | compile | onnx | onnx-int8 | auto"),
    device: str = typer.Option("auto", help="cpu | cuda | cuda:N | auto"),
    max_body_bytes: int = typer.Option(8 * 1024 * 1024, help="largest request body accepted (413 above)"),
) -> None:
    """Serve a model: POST /v1/models/NAME/predict, /healthz, /metrics, docs at /docs."""
    from mlang.serve.server import serve

    try:
        serve(ref, port=port, host=host, workers=workers, max_batch_size=max_batch_size,
              model_batch_size=model_batch_size,
              max_latency_ms=max_latency_ms, batching=not no_batching, token=token, backend=backend,
              device=device, max_body_bytes=max_body_bytes)
    except MError as error:
        typer.echo(error.format(), err=True)
        raise typer.Exit(1) from None


app = typer.Typer(help="Serve a model over HTTP with dynamic batching.", add_completion=False)
app.command()(serve_command)
