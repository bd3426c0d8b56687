"""`m export REF --format onnx|torchscript|aoti|safetensors` (mounted on the `m` command by mlang.cli).

onnx, torchscript and aoti write the graph and, beside it, `FILE.json` (inputs, outputs, labels,
preprocessing) and `FILE.files/` (tokenizer): what a caller in C++, JavaScript or Java needs.

Mount the command function: `app.command("export")(mlang.engine.cli.export_command)`; `app` here
is the same command as a standalone Typer app (tests run it with typer's CliRunner).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mlang.lang.diagnostics import MError
from mlang.models.trust import TRUST_CODE_HELP, TRUST_SHA256_HELP, trust_option

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "aoti": ".pt2", "safetensors": ".safetensors"}


def export_command(
    ref: str = typer.Argument(..., help="model to export: a registry reference name[:version] or a model file"),
    format: str = typer.Option("onnx", "--format", "-f", help="onnx | torchscript | aoti (AOTInductor .pt2) | safetensors"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="file to write (default: NAME.SUFFIX)"),
    no_verify: bool = typer.Option(False, "--no-verify", help="skip comparing the export with torch"),
    precision: str = typer.Option("plan", "--precision", help="plan | fp32 | int8: the ONNX graph's weights "
                                  "(plan: int8 when the model's execution plan is onnx-int8)"),
    trust_code: bool = typer.Option(False, "--trust-code", help=TRUST_CODE_HELP),
    trust_code_sha256: Optional[str] = typer.Option(None, "--trust-code-sha256", help=TRUST_SHA256_HELP),
) -> None:
    """Export a model for other runtimes; ONNX, TorchScript and AOTInductor exports are checked
    against torch, and come with FILE.json (inputs, outputs, labels, preprocessing) beside them."""
    from mlang.engine.exporter import FORMATS, GRAPH_FORMATS, export

    try:
        if format not in FORMATS:
            raise MError(f"unknown export format {format!r}", field="--format",
                         hint=f"use one of: {', '.join(FORMATS)}")
        stem = Path(ref).stem if Path(ref).is_file() else ref.replace(":", "-")
        path = export(ref, output or Path(stem + SUFFIXES[format]), format=format, verify=not no_verify,
                      precision=precision, trust_code=trust_option(trust_code, trust_code_sha256))
    except MError as error:
        typer.echo(error.format(), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {path}" + ("" if no_verify or format == "safetensors" else " (verified against torch)"))
    if format in GRAPH_FORMATS:
        typer.echo(f"wrote {path}.json (inputs, outputs, labels, preprocessing)")


app = typer.Typer(help="Export a model to ONNX, TorchScript, AOTInductor or safetensors.", add_completion=False)
app.command()(export_command)
