"""`m models`: inspect and manage the model repository from the shell.

Every command prints a readable Rich table, or JSON with `--json` (for scripts).  A user error
(bad reference, alias in use, damaged file) prints M's diagnostic and exits 1.  `ls` lists what
it can and then reports each damaged version (and exits 1), rather than stopping at the first.
"""
from __future__ import annotations

import functools
import json
from typing import Annotated, Callable

import typer
from rich.console import Console
from rich.table import Table

from mlang.lang.diagnostics import MError
from mlang.registry.refs import parse_ref
from mlang.registry.repository import Repository

app = typer.Typer(name="models", no_args_is_help=True,
                  help="The model repository: list, show, diff, alias, remove, garbage-collect.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _reports_errors(command: Callable) -> Callable:
    """Print an MError as M diagnostics on stderr and exit 1, instead of a traceback."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except MError as error:
            typer.echo(error.format(), err=True)
            raise typer.Exit(1) from None
    return wrapper


def _report_damaged(damaged: list[MError]) -> None:
    """After a listing: each damaged version's diagnostic on stderr, then exit 1."""
    if not damaged:
        return
    for error in damaged:
        typer.echo(error.format(), err=True)
    raise typer.Exit(1)


def _print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _console() -> Console:
    return Console(highlight=False)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _when(timestamp: str) -> str:
    """`2026-11-23 07:01:09` from a stored ISO timestamp (UTC)."""
    return timestamp[:19].replace("T", " ")


def _metrics_text(metrics: dict) -> str:
    """The scalar metrics in one cell (a confusion matrix belongs in `show`, not in a list)."""
    return ", ".join(f"{k}={_value(v)}" for k, v in sorted(metrics.items())
                     if not isinstance(v, (dict, list))) or "—"


@app.command("ls")
@_reports_errors
def list_command(name: Annotated[str | None, typer.Argument(help="Show this model's versions.")] = None,
                 as_json: JsonFlag = False) -> None:
    """List the models, or the versions of NAME."""
    repository = Repository()
    damaged: list[MError] = []
    if name is None:
        models = repository.list_models(damaged=damaged)
        if as_json:
            _print_json([{"name": m.name, "versions": list(m.versions), "latest": m.latest,
                          "aliases": m.aliases, "updated_at": m.updated_at} for m in models])
            return _report_damaged(damaged)
        if not models:
            _console().print(f"no models in {repository.home}")
            return
        table = Table(title=f"models in {repository.home}")
        for column in ("name", "versions", "latest", "aliases", "updated"):
            table.add_column(column)
        for m in models:
            aliases = ", ".join(f"@{a}→{v}" for a, v in sorted(m.aliases.items())) or "—"
            table.add_row(m.name, str(len(m.versions)), f"{m.name}:{m.latest}", aliases,
                          _when(m.updated_at))
        _console().print(table)
        return _report_damaged(damaged)
    versions = repository.versions(name, damaged=damaged)
    aliases = repository.aliases(name)
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)
    if as_json:
        _print_json([{"ref": v.ref, "version": v.version, "created_at": v.created_at,
                      "aliases": sorted(by_version.get(v.version, [])),
                      "parameter_count": v.parameter_count, "size": v.size,
                      "metrics": v.metrics, "parent": v.parent, "tags": v.tags}
                     for v in versions])
        return _report_damaged(damaged)
    table = Table(title=f"versions of {name}")
    for column in ("version", "created", "aliases", "parameters", "size", "metrics", "parent"):
        table.add_column(column, justify="right" if column in ("parameters", "size") else "left")
    for v in versions:
        version_aliases = ", ".join(f"@{a}" for a in sorted(by_version.get(v.version, [])))
        table.add_row(v.ref, _when(v.created_at), version_aliases or "—",
                      f"{v.parameter_count:,}", _size(v.size), _metrics_text(v.metrics),
                      v.parent or "—")
    _console().print(table)
    _report_damaged(damaged)


@app.command("show")
@_reports_errors
def show_command(ref: Annotated[str, typer.Argument(help="name, name:N or name@alias")],
                 as_json: JsonFlag = False) -> None:
    """Show one version: metadata, lineage chain, metrics, hyperparameters and files."""
    info = Repository().describe(ref)
    if as_json:
        _print_json(info)
        return
    console = _console()
    overview = Table(title=info["ref"], show_header=False)
    overview.add_column("field", style="bold")
    overview.add_column("value")
    lineage = " ← ".join(step["ref"] + ("" if step["exists"] else " (removed)")
                         for step in info["lineage"])
    rows = [("model", info["model_class"]), ("created", info["created_at"]),
            ("aliases", ", ".join(f"@{a}" for a in info["aliases"]) or "—"),
            ("lineage", lineage), ("parameters", f"{info['parameter_count']:,}"),
            ("size", _size(info["size"])), ("dataset", _value(info["dataset"])),
            ("M source sha256", _value(info["source_sha256"])),
            ("record sha256", info["record_sha256"] or "— (saved before M bound metadata to files)"),
            ("tags", ", ".join(f"{k}={v}" for k, v in sorted(info["tags"].items())) or "—"),
            ("frameworks", ", ".join(f"{k} {v}" for k, v in info["frameworks"].items()))]
    for field, value in rows:
        overview.add_row(field, value)
    console.print(overview)
    for title, values in (("metrics", info["metrics"]), ("hyperparameters", info["params"])):
        if values:
            table = Table(title=title)
            table.add_column("name")
            table.add_column("value", justify="right")
            for key, value in sorted(values.items()):
                table.add_row(key, _value(value))
            console.print(table)
    files = Table(title="files")
    for column in ("path", "size", "sha256"):
        files.add_column(column, justify="right" if column == "size" else "left")
    for f in info["files"]:
        files.add_row(f["path"], _size(f["size"]), f["sha256"])
    console.print(files)


@app.command("diff")
@_reports_errors
def diff_command(ref_a: Annotated[str, typer.Argument(help="the first version")],
                 ref_b: Annotated[str, typer.Argument(help="the second version")],
                 as_json: JsonFlag = False) -> None:
    """Compare two versions: hyperparameters, metrics, parameter count, size and files."""
    diff = Repository().diff(ref_a, ref_b)
    if as_json:
        _print_json(diff)
        return
    console = _console()
    for section in ("model", "params", "metrics", "files"):
        rows = diff[section]
        if not rows:
            continue
        title = {"params": "hyperparameters"}.get(section, section)
        table = Table(title=f"{title}: {diff['a']} vs {diff['b']}")
        for column in ("", diff["a"], diff["b"], "changed"):
            table.add_column(column or "key")
        for row in rows:
            a, b = row["a"], row["b"]
            if section == "files":
                a, b = (a or "—")[:12], (b or "—")[:12]
            elif row["key"] == "size":
                a, b = _size(a), _size(b)
            style = "yellow" if row["changed"] else None
            table.add_row(row["key"], _value(a), _value(b), "yes" if row["changed"] else "",
                          style=style)
        console.print(table)


@app.command("alias")
@_reports_errors
def alias_command(target: Annotated[str, typer.Argument(help="NAME@ALIAS to move")],
                  version: Annotated[str, typer.Argument(help="a version number or reference")],
                  as_json: JsonFlag = False) -> None:
    """Point NAME@ALIAS at VERSION (the move is kept in the alias history)."""
    parsed = parse_ref(target)
    if parsed.alias is None:
        raise MError(f"{target!r} names no alias", field="alias",
                     hint="write NAME@ALIAS, for example `m models alias sentiment@prod 3`")
    move = Repository().set_alias(parsed.name, parsed.alias, version)
    if as_json:
        _print_json(move.__dict__)
        return
    before = f"{move.name}:{move.old_version}" if move.old_version is not None else "(new)"
    _console().print(f"{move.name}@{move.alias}: {before} → {move.name}:{move.new_version}")


@app.command("history")
@_reports_errors
def history_command(name: Annotated[str, typer.Argument(help="the model")],
                    alias: Annotated[str | None, typer.Option(help="only this alias")] = None,
                    as_json: JsonFlag = False) -> None:
    """The audit history of NAME's aliases: which version each alias pointed at, and when."""
    moves = Repository().alias_history(name, alias)
    if as_json:
        _print_json([m.__dict__ for m in moves])
        return
    table = Table(title=f"alias history of {name}")
    for column in ("when", "alias", "from", "to"):
        table.add_column(column)
    for m in moves:
        table.add_row(_when(m.moved_at), f"@{m.alias}", _value(m.old_version),
                      _value(m.new_version) if m.new_version is not None else "(removed)")
    _console().print(table)


@app.command("rm")
@_reports_errors
def remove_command(ref: Annotated[str, typer.Argument(help="name:N or name@alias")],
                   force: Annotated[bool, typer.Option("--force", help="also remove aliases that point at it")] = False,
                   as_json: JsonFlag = False) -> None:
    """Remove a version (refused while an alias points at it, unless --force)."""
    repository = Repository()
    removed = repository.resolve(ref, check=False).ref  # a damaged version can be removed
    moves = repository.remove(ref, force=force)
    if as_json:
        _print_json({"removed": removed, "aliases_removed": [m.alias for m in moves]})
        return
    extra = f" and alias {', '.join('@' + m.alias for m in moves)}" if moves else ""
    _console().print(f"removed {removed}{extra}; run `m models gc` to free its files")


@app.command("gc")
@_reports_errors
def gc_command(dry_run: Annotated[bool, typer.Option("--dry-run", help="only report")] = False,
               grace: Annotated[float, typer.Option(help="keep temporary files younger than this many seconds")] = 3600.0,
               as_json: JsonFlag = False) -> None:
    """Delete artifact files that no version references."""
    report = Repository().gc(dry_run=dry_run, temp_grace_s=grace)
    if as_json:
        _print_json(report.__dict__)
        return
    verb = "would remove" if dry_run else "removed"
    _console().print(f"{verb} {report.removed_blobs} unreferenced file(s) "
                     f"({_size(report.freed_bytes)}) and {report.removed_temp_files} temporary "
                     f"file(s); kept {report.kept_blobs}")


@app.command("verify")
@_reports_errors
def verify_command(ref: Annotated[str, typer.Argument(help="name, name:N or name@alias")],
                   as_json: JsonFlag = False) -> None:
    """Re-hash every file of a version against its recorded sha256."""
    repository = Repository()
    record = repository.resolve(ref)
    files = repository.verify(record.ref)
    if as_json:
        _print_json({"ref": record.ref, "ok": True, "files": [f.path for f in files]})
        return
    _console().print(f"{record.ref}: all {len(files)} files match their sha256")
