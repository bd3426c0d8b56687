"""The `m` command (Typer): `m run`, `m check`, `m fmt`, `m repl`, `m lsp`, `m --version`, and the
later stages' commands mounted at the end: `m models …`, `m export`, `m serve`.
Exit codes: 0 success, 1 an error in the program (syntax, check or run time), 2 a usage error.

Start-up time matters for the front end's commands (editors run `m check` on every save), and
Typer 0.29 converts every parameter with pydantic: importing Typer and pydantic costs more than
checking a small file.  So the plain invocations `m check FILE…`, `m fmt [--check] FILE…`,
`m run FILE [ARGS…]`, `m lsp` and `m --version` call the command's function directly, and every
other invocation (`--help`, other options, usage errors) goes through the Typer app
(`mlang.cli:app`), built on first use.
"""
from __future__ import annotations

import functools
import gc
import sys
from pathlib import Path
from typing import Callable, List, Optional

from mlang import __version__

EXAMPLES = """\b
Examples:
  m run examples/hello.m                 run a program
  m run train.m -- --epochs 3            program arguments after -- (the list `args` in M)
  m check train.m                        report every syntax and check error, run nothing
  m fmt train.m                          rewrite the file in canonical layout
  m fmt --check train.m                  exit 1 if the file is not formatted
  m run --nproc 2 train.m                data-parallel training in 2 processes
  m run --nnodes 2 --node-rank 0 --rdzv-endpoint node0:29400 train.m   one of 2 nodes
  m models ls                            the model repository
  m export sentiment:1 --format onnx     a verified ONNX graph for Java / C++ callers
  m serve sentiment@prod --port 8000     HTTP serving with dynamic batching
"""


# ------------------------------------------------------------------ what the commands do

def _echo_err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _missing(path: Path) -> bool:
    """Report a file argument that names no file (a usage error: the caller exits 2)."""
    if path.is_file():
        return False
    _echo_err(f"m: error: no such file: {path}")
    return True


def _report(err) -> int:
    """Print an MError as M diagnostics; the exit code of a program error."""
    from mlang.lang.runtime import format_error

    _echo_err(format_error(err))
    return 1


def run_program(file: Path, program_args: list[str], nproc: int = 1, nnodes: int = 1,
                node_rank: int = 0, rdzv_endpoint: Optional[str] = None, max_restarts: int = 0) -> int:
    """`m run`: check and run `file` (in `nproc` data-parallel processes, on each of `nnodes`
    nodes meeting at `rdzv_endpoint`); the exit code."""
    from mlang.lang import api
    from mlang.lang.diagnostics import MError

    if _missing(file):
        return 2
    if program_args[:1] == ["--"]:
        program_args = program_args[1:]
    multi_node = dict(nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint,
                      max_restarts=max_restarts)
    if nproc != 1 or multi_node != dict(nnodes=1, node_rank=0, rdzv_endpoint=None, max_restarts=0):
        from mlang.train.distributed import run_program as run_distributed

        try:
            return run_distributed(nproc, [str(file), "--", *program_args], **multi_node)
        except MError as err:
            return _report(err)
    try:
        api.run_file(file, program_args)
    except MError as err:
        return _report(err)
    except KeyboardInterrupt:
        _echo_err("interrupted")
        return 1
    return 0


def check_files(files: list[Path]) -> int:
    """`m check`: print every diagnostic of each file, running nothing; 1 if any file has errors."""
    from mlang.lang import api
    from mlang.lang.diagnostics import MError
    from mlang.lang.runtime import format_error

    failed = False
    for file in files:
        if _missing(file):
            return 2
        diagnostics = api.check_file(file)
        errors = [d for d in diagnostics if d.severity == "error"]
        if diagnostics:
            _echo_err(format_error(MError("", diagnostics=diagnostics)))
        if errors:
            failed = True
            count = len(errors)
            _echo_err(f"{file}: {count} error{'s' if count > 1 else ''}")
    return 1 if failed else 0


def format_files(files: list[Path], check_only: bool = False) -> int:
    """`m fmt`: rewrite each file in canonical layout (`check_only`: exit 1 if one would change).

    A file that cannot be formatted (it does not parse, is not UTF-8, or the formatter could not
    lay it out as the same program) is reported and left unchanged; the other files are still
    formatted, and the exit code is 1."""
    from mlang.lang.diagnostics import MError
    from mlang.lang.formatter import format_source
    from mlang.lang.lexer import decode

    if any(_missing(file) for file in files):
        return 2
    unformatted, failed = [], False
    for file in files:
        try:
            data = file.read_bytes()
            source = decode(data, str(file))
            formatted = format_source(source, str(file))
        except OSError as err:
            _echo_err(f"m: error: cannot read {file}: {err.strerror or err}")
            failed = True
            continue
        except MError as err:
            _report(err)
            failed = True
            continue
        if formatted != source:
            if not check_only:
                try:
                    _replace_text(file, formatted)
                except OSError as err:
                    _echo_err(f"m: error: cannot write {file}: {err.strerror or err}")
                    failed = True
                    continue
            unformatted.append(file)
    for file in unformatted:
        _echo_err(f"{'would reformat' if check_only else 'reformatted'} {file}")
    return 1 if failed or (check_only and unformatted) else 0


def _replace_text(file: Path, text: str) -> None:
    """Write `file` whole or not at all: a temporary file beside it, then a rename over it (over
    the file a symbolic link names, not the link)."""
    import os
    import tempfile

    file = file.resolve()
    fd, temporary = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, file.stat().st_mode & 0o7777)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def serve_language_server() -> int:
    """`m lsp`: the language server on stdin/stdout until the editor ends it."""
    from mlang.lsp.server import main as serve_lsp

    return serve_lsp()


def print_version() -> int:
    print(f"m {__version__}")
    return 0


# ------------------------------------------------------------------ plain invocations, run directly

def _is_file_argument(arg: str) -> bool:
    return bool(arg) and not arg.startswith("-")


def _direct_command(args: list[str]) -> Callable[[], int] | None:
    """The command for a plain invocation, which Typer would turn into exactly this call:
    `check FILE…`, `fmt [--check] FILE…`, `run FILE [ARGS…]`, `lsp`, `--version`.  None for
    anything else."""
    if args in (["lsp"], ["--version"]):
        return serve_language_server if args == ["lsp"] else print_version
    name, rest = (args[0], args[1:]) if args else ("", [])
    if name == "run" and rest and _is_file_argument(rest[0]):
        # Typer hands `run` everything after FILE as the program's arguments, options included.
        return functools.partial(run_program, Path(rest[0]), rest[1:])
    files = [Path(arg) for arg in rest if _is_file_argument(arg)]
    flags = {arg for arg in rest if not _is_file_argument(arg)}
    if not files:
        return None
    if name == "check" and not flags:
        return functools.partial(check_files, files)
    if name == "fmt" and flags <= {"--check"}:
        return functools.partial(format_files, files, check_only=bool(flags))
    return None


def _run_direct(command: Callable[[], int]) -> int:
    try:
        return command()
    except KeyboardInterrupt:
        _echo_err("\nAborted!")  # what Typer prints
        return 1


def _before_exit(args: list[str]) -> None:
    """Called when this process ends as main returns.  `m check` and `m fmt` ran no code of the
    user's, so no finalizer of theirs waits on the interpreter's exit-time garbage collections:
    freezing the heap spares those collections a scan of every parsed module (0.3-0.6 s after
    checking 10,000 lines, more than the check itself)."""
    if args[:1] in (["check"], ["fmt"]):
        gc.freeze()


def _freeze_after_the_program() -> None:
    """`m run`'s last exit handler (registered before the program runs, so it runs after the
    program's own).  The program's modules — its Python files and M modules, anything not
    installed with the interpreter or a package — leave `sys.modules` and one collection frees
    them, as the interpreter's teardown would but with builtins still there (their unclosed
    files flushed, their finalizers run); the libraries left are frozen, sparing the exit-time
    collections a scan of torch's and transformers' module graphs (0.9 s)."""
    import os
    import sysconfig

    from mlang.lang import runtime

    installed = tuple(os.path.join(Path(p).resolve(), "") for p in {sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                                    *sysconfig.get_paths().values()})
    programs = runtime.forget_modules()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (file and name.split(".")[0] != "mlang"
                and not str(Path(file).resolve()).startswith(installed)):
            programs.append(sys.modules.pop(name))
    for module in programs:  # as the interpreter clears a module: by reference counts, in order,
        namespace = vars(module)  # so a buffered file is flushed before its buffer goes
        for names in ([k for k in namespace if k.startswith("_") and k != "__builtins__"],
                      [k for k in namespace if not k.startswith("_")]):
            for key in names:
                namespace[key] = None
    gc.collect()
    gc.freeze()


# ------------------------------------------------------------------ the Typer app

# Shared by the `m` command and the holders its later stages' commands are built in.
TYPER_SETTINGS = {"add_completion": False, "rich_markup_mode": None, "pretty_exceptions_enable": False}


def _mount_export(holder) -> None:
    from mlang.engine.cli import export_command

    holder.command("export")(export_command)


def _mount_serve(holder) -> None:
    from mlang.serve.cli import serve_command

    holder.command("serve")(serve_command)


def _mount_models(holder) -> None:
    from mlang.registry.cli import app as models_app

    holder.add_typer(models_app, name="models", help="The model repository: ls, show, diff, alias, "
                                                      "history, rm, gc, verify.")


# The later stages' commands, mounted on first use: their modules import Rich and the stages
# themselves, which the front end's commands (`m repl`, `m run --nproc 2`, …) need not pay for.
STAGE_COMMANDS = {"export": _mount_export, "serve": _mount_serve, "models": _mount_models}


def _stage_command(name: str):
    """The click command of one later stage, built by Typer exactly as if mounted on `m` itself."""
    import typer

    holder = typer.Typer(**TYPER_SETTINGS)
    STAGE_COMMANDS[name](holder)
    return typer.main.get_group(holder).commands[name]


def _root_group_class():
    from typer.core import TyperGroup

    class RootGroup(TyperGroup):
        """The `m` group: the front end's commands are built eagerly, the later stages' on first
        use; `m --help` and an unknown command name (for "did you mean") build them all."""

        def list_commands(self, ctx) -> list[str]:
            later = [name for name in STAGE_COMMANDS if name not in self.commands]
            return [*super().list_commands(ctx), *later]

        def get_command(self, ctx, name: str):
            if name not in self.commands and name in STAGE_COMMANDS:
                self.commands[name] = _stage_command(name)
            return super().get_command(ctx, name)

        def resolve_command(self, ctx, args: list[str]):
            if args and args[0] not in self.commands and args[0] not in STAGE_COMMANDS:
                for name in self.list_commands(ctx):
                    self.get_command(ctx, name)
            return super().resolve_command(ctx, args)

    return RootGroup


def _add_front_end_commands(app) -> None:
    import typer

    def _version(value: bool):
        if value:
            raise typer.Exit(print_version())

    @app.callback()
    def _root(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                     help="Print the version and exit.")):
        """M: a language in which a pretrained model is the atomic unit of programming."""

    @app.command(context_settings={"allow_interspersed_args": False})
    def run(file: Path = typer.Argument(..., help="The .m program to run."),
            args: Optional[List[str]] = typer.Argument(None, help="Program arguments (after --)."),
            nproc: int = typer.Option(1, "--nproc", help="Run in N data-parallel processes (torchrun)."),
            nnodes: int = typer.Option(1, "--nnodes", help="Nodes taking part (each runs --nproc processes)."),
            node_rank: int = typer.Option(0, "--node-rank", help="This node's number, 0 to nnodes-1."),
            rdzv_endpoint: Optional[str] = typer.Option(
                None, "--rdzv-endpoint", help="HOST:PORT where the nodes meet (c10d rendezvous)."),
            max_restarts: int = typer.Option(
                0, "--max-restarts", help="Elastic restarts of the group after a process fails.")):
        """Check and run an M program.  Example: m run train.m -- --epochs 3"""
        raise typer.Exit(run_program(file, list(args or []), nproc, nnodes, node_rank,
                                     rdzv_endpoint, max_restarts))

    @app.command()
    def check(files: List[Path] = typer.Argument(..., help="The .m files to check.")):
        """Report every syntax and check error (file:line:col), running nothing.  Example: m check train.m"""
        raise typer.Exit(check_files(files))

    @app.command()
    def fmt(files: List[Path] = typer.Argument(..., help="The .m files to format."),
            check_only: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a file would change.")):
        """Rewrite M files in canonical layout (idempotent).  Example: m fmt --check src/*.m"""
        raise typer.Exit(format_files(files, check_only))

    @app.command()
    def repl():
        """Interactive M: one module scope across inputs, each input checked before it runs, values
        printed.  Ctrl-D ends.  Example: m repl"""
        from mlang.repl import main as run_repl

        raise typer.Exit(run_repl())

    @app.command()
    def lsp():
        """Run the M language server on stdin/stdout (for editors).  Example: m lsp"""
        raise typer.Exit(serve_language_server())


@functools.cache
def build_app():
    """The `m` command as a Typer app (`mlang.cli:app`)."""
    import typer

    app = typer.Typer(name="m", cls=_root_group_class(), no_args_is_help=True, epilog=EXAMPLES,
                      help="M: a language in which a pretrained model is the atomic unit of programming.",
                      **TYPER_SETTINGS)
    _add_front_end_commands(app)
    return app


def __getattr__(name: str):
    if name == "app":
        return build_app()
    raise AttributeError(f"module 'mlang.cli' has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code (0 ok, 1 program error, 2 usage error)."""
    args = sys.argv[1:] if argv is None else list(argv)
    direct = _direct_command(args)
    if argv is None and args[:1] == ["run"]:  # the process's own `m run`
        import atexit

        atexit.register(_freeze_after_the_program)
    try:
        if direct is not None:
            code = _run_direct(direct)
        else:
            build_app()(args=args, prog_name="m", standalone_mode=True)
            code = 0
    except SystemExit as exit_:  # from Typer, or from the program or language server itself
        code = exit_.code
        code = code if isinstance(code, int) else (0 if code is None else 2)
    if argv is None:  # the process's own command line: it exits with this code
        _before_exit(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
