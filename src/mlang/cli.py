"""The `m` command (Typer): `m run`, `m check`, `m fmt`, `m repl`, `m lsp`, `m --version`, and the
later stages' commands mounted at the end: `m models …`, `m export`, `m serve`.
Exit codes: 0 success, 1 an error in the program (syntax, check or run time), 2 a usage error.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from mlang import __version__

EXAMPLES = """\b
Examples:
  m run examples/hello.m                 run a program
  m run train.m -- --epochs 3            program arguments after -- (the list `args` in M)
  m check train.m                        report every syntax and check error, run nothing
  m fmt train.m                          rewrite the file in canonical layout
  m fmt --check train.m                  exit 1 if the file is not formatted
  m run --nproc 2 train.m                data-parallel training in 2 processes
  m models ls                            the model repository
  m export sentiment:1 --format onnx     a verified ONNX graph for Java / C++ callers
  m serve sentiment@prod --port 8000     HTTP serving with dynamic batching
"""

# Shared by the `m` command and the holders its later stages' commands are built in.
TYPER_SETTINGS = {"add_completion": False, "rich_markup_mode": None, "pretty_exceptions_enable": False}


def _mount_export(holder: typer.Typer) -> None:
    from mlang.engine.cli import export_command

    holder.command("export")(export_command)


def _mount_serve(holder: typer.Typer) -> None:
    from mlang.serve.cli import serve_command

    holder.command("serve")(serve_command)


def _mount_models(holder: typer.Typer) -> None:
    from mlang.registry.cli import app as models_app

    holder.add_typer(models_app, name="models", help="The model repository: ls, show, diff, alias, "
                                                      "history, rm, gc, verify.")


# The later stages' commands, mounted on first use: their modules import Rich, pydantic and the
# stages themselves, which `m check`, `m fmt` and `m lsp` must not pay for at every start.
STAGE_COMMANDS = {"export": _mount_export, "serve": _mount_serve, "models": _mount_models}


def _stage_command(name: str):
    """The click command of one later stage, built by Typer exactly as if mounted on `m` itself."""
    holder = typer.Typer(**TYPER_SETTINGS)
    STAGE_COMMANDS[name](holder)
    return typer.main.get_group(holder).commands[name]


class _RootGroup(TyperGroup):
    """The `m` group: the front end's commands are built eagerly, the later stages' on first use.
    `m --help` and an unknown command name (for "did you mean") build them all."""

    def list_commands(self, ctx) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in STAGE_COMMANDS if name not in self.commands)]

    def get_command(self, ctx, name: str):
        if name not in self.commands and name in STAGE_COMMANDS:
            self.commands[name] = _stage_command(name)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args: list[str]):
        if args and args[0] not in self.commands and args[0] not in STAGE_COMMANDS:
            for name in self.list_commands(ctx):
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(name="m", cls=_RootGroup, no_args_is_help=True, epilog=EXAMPLES,
                  help="M: a language in which a pretrained model is the atomic unit of programming.",
                  **TYPER_SETTINGS)


def _version(value: bool):
    if value:
        typer.echo(f"m {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")):
    """M: a language in which a pretrained model is the atomic unit of programming."""


def _source_file(path: Path) -> Path:
    if not path.is_file():
        typer.echo(f"m: error: no such file: {path}", err=True)
        raise typer.Exit(2)
    return path


def _fail(err) -> None:
    from mlang.lang.runtime import format_error

    typer.echo(format_error(err), err=True)
    raise typer.Exit(1)


@app.command(context_settings={"allow_interspersed_args": False})
def run(file: Path = typer.Argument(..., help="The .m program to run."),
        args: Optional[List[str]] = typer.Argument(None, help="Program arguments (after --)."),
        nproc: int = typer.Option(1, "--nproc", help="Run in N data-parallel processes (torchrun).")):
    """Check and run an M program.  Example: m run train.m -- --epochs 3"""
    from mlang.lang import api
    from mlang.lang.diagnostics import MError

    _source_file(file)
    program_args = list(args or [])
    if program_args[:1] == ["--"]:
        program_args = program_args[1:]
    if nproc != 1:
        from mlang.train.distributed import run_program

        try:
            code = run_program(nproc, [str(file), "--", *program_args])
        except MError as err:
            _fail(err)
        raise typer.Exit(code)
    try:
        api.run_file(file, program_args)
    except MError as err:
        _fail(err)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(1)


@app.command()
def check(files: List[Path] = typer.Argument(..., help="The .m files to check.")):
    """Report every syntax and check error (file:line:col), running nothing.  Example: m check train.m"""
    from mlang.lang import api
    from mlang.lang.runtime import format_error
    from mlang.lang.diagnostics import MError

    failed = False
    for file in files:
        _source_file(file)
        diagnostics = api.check_file(file)
        errors = [d for d in diagnostics if d.severity == "error"]
        if diagnostics:
            typer.echo(format_error(MError("", diagnostics=diagnostics)), err=True)
        if errors:
            failed = True
            count = len(errors)
            typer.echo(f"{file}: {count} error{'s' if count > 1 else ''}", err=True)
    raise typer.Exit(1 if failed else 0)


@app.command()
def fmt(files: List[Path] = typer.Argument(..., help="The .m files to format."),
        check_only: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a file would change.")):
    """Rewrite M files in canonical layout (idempotent).  Example: m fmt --check src/*.m"""
    from mlang.lang.diagnostics import MError
    from mlang.lang.formatter import format_source

    unformatted = []
    for file in files:
        _source_file(file)
        source = file.read_text(encoding="utf-8")
        try:
            formatted = format_source(source, str(file))
        except MError as err:
            _fail(err)
        if formatted != source:
            unformatted.append(file)
            if not check_only:
                file.write_text(formatted, encoding="utf-8")
    for file in unformatted:
        typer.echo(f"{'would reformat' if check_only else 'reformatted'} {file}", err=True)
    raise typer.Exit(1 if check_only and unformatted else 0)


@app.command()
def repl():
    """Interactive M: one module scope across inputs, each input checked before it runs, values
    printed.  Ctrl-D ends.  Example: m repl"""
    from mlang.repl import main as run_repl

    raise typer.Exit(run_repl())


@app.command()
def lsp():
    """Run the M language server on stdin/stdout (for editors).  Example: m lsp"""
    from mlang.lsp.server import main as serve_lsp

    raise typer.Exit(serve_lsp())


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code (0 ok, 1 program error, 2 usage error)."""
    try:
        app(args=argv, prog_name="m", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
