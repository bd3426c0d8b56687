"""`Store` on a local SQLite file in WAL mode.

Every write is one `BEGIN IMMEDIATE` transaction, so the next version number is read and used
under the same write lock and two processes can never both take `name:5`.  A connection waits
`busy_timeout` for the lock; if SQLite still reports the database busy or locked, the whole
transaction is retried with jittered backoff until `lock_timeout` — no "database is locked"
escapes to a caller while other processes are merely saving.  Each
thread keeps its own connections (a few, most recently used first), so a repository object is
safe to share between threads; a connection opened before a `fork` is never used or closed in
the child.  Keeping the connection open matters: closing the last connection to a WAL database
checkpoints it, which costs several fsyncs on every operation.

Reads never write.  They run on a connection opened read-only (`mode=ro`), and a database
without the schema reads as an empty repository, so `m models ls`, `load` and `m serve` work
where the repository is on a read-only file system or a full disk.  Where SQLite cannot even
create its shared-memory file there (`-shm`: a read-only folder, or no space for it), and no
write-ahead log holds changes, the read opens the file as immutable instead.  Only a write
creates or upgrades the schema; a write that fails is rolled back and reported as an MError
that names the repository and says why (read-only, full, not writable).
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from mlang.lang.diagnostics import MError
from mlang.registry.blobs import is_sha256, write_failure_hint
from mlang.registry.store import AliasMove, FileRecord, Store, VersionRecord, record_digest

# 1: the first layout; 2: versions.record_sha256 (rows written before stay NULL until the
# upgrade binds them, see `_upgrade`) and `counters`.
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL,          -- never reused, even after versions are removed
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL REFERENCES models(name),
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    parent TEXT,
    dataset TEXT,
    params TEXT NOT NULL,
    metrics TEXT NOT NULL,
    tags TEXT NOT NULL,
    source_sha256 TEXT,
    frameworks TEXT NOT NULL,
    size INTEGER NOT NULL,
    parameter_count INTEGER NOT NULL,
    model_class TEXT,
    record_sha256 TEXT,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS version_files (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (name, version, path),
    FOREIGN KEY (name, version) REFERENCES versions(name, version) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS version_files_by_sha256 ON version_files(sha256);
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES versions(name, version)
);
CREATE TABLE IF NOT EXISTS counters (      -- `sweeps`: each sweep commits a write
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alias_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    old_version INTEGER,
    new_version INTEGER,
    moved_at TEXT NOT NULL
);
"""


_per_thread = threading.local()
_OPEN_PER_THREAD = 8
# Connections inherited through fork: SQLite must not touch them in the child, so they are kept
# referenced (never garbage-collected, hence never closed) instead.
_inherited: list[sqlite3.Connection] = []

# SQLite's answers when it cannot create or size a file beside the database: the folder is
# read-only, or the disk is full.
_CANNOT_WRITE = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR",
                 "SQLITE_PERM")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _cannot_write(error: sqlite3.Error) -> bool:
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(_CANNOT_WRITE)


class SQLiteStore(Store):
    """Metadata in `path` (created by the first write; reads of a missing file see no models)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 10.0,
                 lock_timeout_s: float = 300.0):
        self.path = Path(path)
        self.location = str(self.path)
        self.busy_timeout_s = busy_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self._ready = False

    # ----- connections and transactions ---------------------------------------------------

    def _connect(self, mode: str) -> sqlite3.Connection:
        if mode == "rw":
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise MError(f"cannot create the model repository {self.path.parent}: "
                             f"{error.strerror}", field="repository",
                             hint=write_failure_hint(self.path.parent, error.errno)) from None
            target, uri = str(self.path), False
        else:
            query = "mode=ro" + ("&immutable=1" if mode == "immutable" else "")
            target, uri = f"{self.path.absolute().as_uri()}?{query}", True
        conn = sqlite3.connect(target, timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False,  # closed by whichever thread collects it
                               uri=uri)
        conn.row_factory = sqlite3.Row
        if mode == "rw":
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # a returned "name:N" survives a power cut
        return conn

    def _connection(self, mode: str = "rw") -> sqlite3.Connection:
        """This thread's open connection to the database (opened on first use): `rw` for
        writes, `ro` for reads."""
        pid = os.getpid()
        if getattr(_per_thread, "pid", None) != pid:
            _inherited.extend(getattr(_per_thread, "connections", {}).values())
            _per_thread.pid, _per_thread.connections = pid, OrderedDict()
        connections: OrderedDict = _per_thread.connections
        key = (str(self.path), self.busy_timeout_s, mode)
        conn = connections.get(key)
        if conn is None:
            conn = connections[key] = self._connect(mode)
            if len(connections) > _OPEN_PER_THREAD:
                connections.popitem(last=False)[1].close()
        connections.move_to_end(key)
        return conn

    def _forget_connection(self, mode: str = "rw") -> None:
        """Close this thread's connection after an error that may have left it unusable."""
        if getattr(_per_thread, "pid", None) != os.getpid():
            return  # inherited through fork: never touched in the child
        connections = getattr(_per_thread, "connections", {})
        conn = connections.pop((str(self.path), self.busy_timeout_s, mode), None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close this thread's connections to the database (the next operation reopens one).
        For a process that must let go of the file, e.g. before its file system is remounted;
        other threads' connections close when those threads end."""
        for mode in ("rw", "ro"):
            self._forget_connection(mode)

    def _retrying(self, operation: Callable[[], object], mode: str = "rw") -> object:
        """Run `operation`, retrying while SQLite says the database is busy or locked."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                return operation()
            except sqlite3.DatabaseError as error:
                if not (isinstance(error, sqlite3.OperationalError) and _is_busy(error)):
                    self._forget_connection(mode)
                    raise self._error(error, write=mode == "rw") from error
                if time.monotonic() >= deadline:
                    raise MError(f"the model repository {self.location} stayed locked for "
                                 f"{self.lock_timeout_s:.0f} s", field="repository",
                                 hint="another process holds its write lock; try again") from error
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)

    def _error(self, error: sqlite3.DatabaseError, *, write: bool) -> MError:
        """The MError for a database error that retrying cannot cure."""
        if write and _cannot_write(error):
            why = str(error)
            if (getattr(error, "sqlite_errorname", "") or "").startswith("SQLITE_IOERR_SHM"):
                why += f" (SQLite cannot create or grow its shared-memory file {self.path.name}-shm)"
            return MError(f"cannot write to the model repository {self.path.parent} "
                          f"({self.path.name}): {why}; nothing was changed",
                          field="repository", hint=write_failure_hint(self.path.parent))
        return MError(f"the model repository {self.location} cannot be used: {error}",
                      field="repository", hint="check that the file is M's registry database "
                      "and that its folder is readable")

    def _in_transaction(self, conn: sqlite3.Connection,
                        body: Callable[[sqlite3.Connection], object], begin: str) -> object:
        conn.execute(begin)
        try:
            result = body(conn)
            conn.execute("COMMIT")
            return result
        except BaseException:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop(conn)
            raise

    def _drop(self, conn: sqlite3.Connection) -> None:
        """Close a connection that may be unusable; the next operation opens a fresh one."""
        connections = getattr(_per_thread, "connections", {})
        for key, kept in list(connections.items()):
            if kept is conn:
                del connections[key]
        conn.close()

    def _write(self, body: Callable[[sqlite3.Connection], object]) -> object:
        """`body(conn)` in one `BEGIN IMMEDIATE` transaction, creating the schema first."""
        self._ensure_schema()
        return self._retrying(
            lambda: self._in_transaction(self._connection("rw"), body, "BEGIN IMMEDIATE"))

    def _read(self, body: Callable[[sqlite3.Connection], object], empty) -> object:
        """`body(conn)` in one read transaction on a read-only connection; `empty` when there
        is no database (or no schema) yet.  Nothing is created or written."""
        def attempt():
            if not self._database_exists():
                return empty
            try:
                return self._read_on(self._connection("ro"), body, empty)
            except sqlite3.OperationalError as error:
                if _is_busy(error) or not _cannot_write(error):
                    raise
                self._forget_connection("ro")
                return self._read_immutable(body, empty, error)
        return self._retrying(attempt, "ro")

    def _read_on(self, conn: sqlite3.Connection, body, empty) -> object:
        def checked(conn):
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found == 0:
                return empty
            self._check_not_newer(found)
            return body(conn)
        return self._in_transaction(conn, checked, "BEGIN")

    def _read_immutable(self, body, empty, cause: sqlite3.Error) -> object:
        """Read where SQLite cannot create its `-shm` file (read-only folder, full disk).  Safe
        only while no write-ahead log holds changes the main file lacks, so that is checked."""
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            pending = wal.stat().st_size
        except FileNotFoundError:
            pending = 0
        except OSError as error:
            raise MError(f"the model repository {self.location} cannot be read: {cause}; "
                         f"{wal}: {error.strerror}", field="repository") from None
        if pending:
            raise MError(f"the model repository {self.location} cannot be read here: SQLite "
                         f"cannot open its shared-memory file ({cause}) and the write-ahead log "
                         f"{wal} holds changes", field="repository",
                         hint=write_failure_hint(self.path.parent) + "; once any M command has "
                         "opened the repository where it can write, reads work read-only again")
        conn = self._connect("immutable")  # not kept: the file may change once it is writable
        try:
            return self._read_on(conn, body, empty)
        finally:
            conn.close()

    def _database_exists(self) -> bool:
        try:
            os.stat(self.path)
        except FileNotFoundError:
            return False
        except NotADirectoryError:
            raise MError(f"the model repository {self.path.parent} cannot be opened: a part of "
                         "that path is a file, not a folder", field="repository",
                         hint="set M_HOME to a folder") from None
        return True

    def _check_not_newer(self, found: int) -> None:
        if found > SCHEMA_VERSION:
            raise MError(f"the model repository {self.location} was written by a newer M "
                         f"(schema {found}, this M reads {SCHEMA_VERSION})",
                         field="repository", hint="upgrade M")

    def _ensure_schema(self) -> None:
        """Create or upgrade the schema (a write, so only before writing)."""
        if self._ready:
            return

        def upgrade(conn):
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_not_newer(found)
            if found == SCHEMA_VERSION:
                return
            if found == 0:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            else:
                self._upgrade(conn, found)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        def prepare():
            conn = self._connection("rw")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return conn.execute("PRAGMA user_version").fetchone()[0]

        if self._retrying(prepare) != SCHEMA_VERSION:
            self._retrying(lambda: self._in_transaction(self._connection("rw"), upgrade,
                                                        "BEGIN IMMEDIATE"))
        self._ready = True

    def _upgrade(self, conn: sqlite3.Connection, found: int) -> None:
        """Schema 1 → 2: add `record_sha256` and bind the rows already there to their files as
        they are now (trust on first write: a later change to them is then detected)."""
        if found < 2:
            conn.execute("ALTER TABLE versions ADD COLUMN record_sha256 TEXT")
            for statement in SCHEMA.split(";"):   # the tables schema 2 added (`counters`)
                if statement.strip():
                    conn.execute(statement)
            for row in conn.execute("SELECT * FROM versions").fetchall():
                record = self._record(conn, row)
                if record.damage is None:
                    conn.execute("UPDATE versions SET record_sha256 = ? WHERE name = ? AND "
                                 "version = ?", (record_digest(record), record.name,
                                                 record.version))

    # ----- rows <-> records ----------------------------------------------------------------

    @staticmethod
    def _record(conn: sqlite3.Connection, row: sqlite3.Row,
                files: list[sqlite3.Row] | None = None) -> VersionRecord:
        """The record of one row.  A value that cannot be decoded (a damaged or hand-edited
        row) is left at its default and named in `damage` instead of raising."""
        if files is None:
            files = conn.execute(
                "SELECT path, sha256, size FROM version_files WHERE name = ? AND version = ? "
                "ORDER BY path", (row["name"], row["version"])).fetchall()
        damage: list[tuple[str, str]] = []
        values: dict = {}
        for column, kind in _COLUMNS.items():
            raw = row[column] if column in row.keys() else None
            try:
                values[column] = _decode(raw, kind)
            except (ValueError, TypeError) as error:
                damage.append((column, f"{_shown(raw)} is not {_KIND_TEXT[kind]} ({error})"
                               if str(error) else f"{_shown(raw)} is not {_KIND_TEXT[kind]}"))
                values[column] = _DEFAULTS[kind]()
        records = []
        for f in files:
            if not (isinstance(f["path"], str) and f["path"] and is_sha256(f["sha256"])
                    and type(f["size"]) is int and f["size"] >= 0):
                damage.append(("files", f"the file row {_shown(f['path'])} has sha256 "
                               f"{_shown(f['sha256'])} and size {_shown(f['size'])}"))
                continue
            records.append(FileRecord(f["path"], f["sha256"], f["size"]))
        return VersionRecord(name=row["name"], version=row["version"], files=tuple(records),
                             damage=damage[0] if damage else None, **values)

    @staticmethod
    def _move_alias(conn: sqlite3.Connection, name: str, alias: str,
                    version: int | None) -> AliasMove:
        row = conn.execute("SELECT version FROM aliases WHERE name = ? AND alias = ?",
                           (name, alias)).fetchone()
        old = row["version"] if row else None
        if version is None:
            conn.execute("DELETE FROM aliases WHERE name = ? AND alias = ?", (name, alias))
        else:
            conn.execute("INSERT INTO aliases (name, alias, version) VALUES (?, ?, ?) "
                         "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                         (name, alias, version))
        move = AliasMove(name, alias, old, version, now())
        conn.execute("INSERT INTO alias_history (name, alias, old_version, new_version, moved_at) "
                     "VALUES (?, ?, ?, ?, ?)", (name, alias, old, version, move.moved_at))
        return move

    # ----- Store ------------------------------------------------------------------------------

    def prepare_write(self) -> None:
        self._ensure_schema()
        self._retrying(lambda: self._connection("rw").execute("PRAGMA schema_version"))

    def add_version(self, record: VersionRecord, *, alias: str | None = None,
                    check: Callable[[], None] | None = None) -> VersionRecord:
        def body(conn):
            created = now()
            row = conn.execute("SELECT last_version FROM models WHERE name = ?",
                               (record.name,)).fetchone()
            version = (row["last_version"] if row else 0) + 1
            if row:
                conn.execute("UPDATE models SET last_version = ? WHERE name = ?",
                             (version, record.name))
            else:
                conn.execute("INSERT INTO models (name, last_version, created_at) VALUES (?, ?, ?)",
                             (record.name, version, created))
            digest = record_digest(replace(record, version=version, created_at=created))
            conn.execute(
                "INSERT INTO versions (name, version, created_at, parent, dataset, params, "
                "metrics, tags, source_sha256, frameworks, size, parameter_count, model_class, "
                "record_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.name, version, created, record.parent,
                 json.dumps(record.dataset) if record.dataset is not None else None,
                 json.dumps(record.params), json.dumps(record.metrics), json.dumps(record.tags),
                 record.source_sha256, json.dumps(record.frameworks), record.size,
                 record.parameter_count, record.model_class, digest))
            conn.executemany(
                "INSERT INTO version_files (name, version, path, sha256, size) VALUES (?, ?, ?, ?, ?)",
                [(record.name, version, f.path, f.sha256, f.size) for f in record.files])
            if alias is not None:
                self._move_alias(conn, record.name, alias, version)
            if check is not None:
                check()
            return self._record(conn, conn.execute(
                "SELECT * FROM versions WHERE name = ? AND version = ?",
                (record.name, version)).fetchone())
        return self._write(body)

    def get_version(self, name: str, version: int) -> VersionRecord | None:
        def body(conn):
            row = conn.execute("SELECT * FROM versions WHERE name = ? AND version = ?",
                               (name, version)).fetchone()
            return self._record(conn, row) if row else None
        return self._read(body, None)

    def versions(self, name: str) -> list[VersionRecord]:
        def body(conn):
            files: dict[int, list[sqlite3.Row]] = {}
            for f in conn.execute("SELECT version, path, sha256, size FROM version_files "
                                  "WHERE name = ? ORDER BY version, path", (name,)):
                files.setdefault(f["version"], []).append(f)
            rows = conn.execute("SELECT * FROM versions WHERE name = ? ORDER BY version", (name,))
            return [self._record(conn, row, files.get(row["version"], [])) for row in rows]
        return self._read(body, [])

    def names(self) -> list[str]:
        return self._read(lambda conn: [row["name"] for row in conn.execute(
            "SELECT DISTINCT name FROM versions ORDER BY name")], [])

    def aliases(self, name: str) -> dict[str, int]:
        return self._read(lambda conn: {row["alias"]: row["version"] for row in conn.execute(
            "SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias", (name,))}, {})

    def set_alias(self, name: str, alias: str, version: int) -> AliasMove:
        def body(conn):
            if conn.execute("SELECT 1 FROM versions WHERE name = ? AND version = ?",
                            (name, version)).fetchone() is None:
                known = [row["version"] for row in conn.execute(
                    "SELECT version FROM versions WHERE name = ? ORDER BY version", (name,))]
                raise MError(f"{name}:{version} does not exist", field="version",
                             hint=_listing(name, known))
            return self._move_alias(conn, name, alias, version)
        return self._write(body)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        query = "SELECT * FROM alias_history WHERE name = ?"
        args: tuple = (name,)
        if alias is not None:
            query += " AND alias = ?"
            args += (alias,)
        return self._read(lambda conn: [
            AliasMove(row["name"], row["alias"], row["old_version"], row["new_version"],
                      row["moved_at"])
            for row in conn.execute(query + " ORDER BY id", args)], [])

    def remove_version(self, name: str, version: int, *, force: bool = False) -> list[AliasMove]:
        def body(conn):
            pointing = [row["alias"] for row in conn.execute(
                "SELECT alias FROM aliases WHERE name = ? AND version = ? ORDER BY alias",
                (name, version))]
            if pointing and not force:
                raise MError(f"{name}:{version} is in use by alias "
                             + ", ".join(f"{name}@{a}" for a in pointing), field="reference",
                             hint="move the alias first (`m models alias`) or pass --force")
            moves = [self._move_alias(conn, name, alias, None) for alias in pointing]
            conn.execute("DELETE FROM versions WHERE name = ? AND version = ?", (name, version))
            return moves
        return self._write(body)

    def sweep(self, fn: Callable[[set[str]], None], *, seal: bool = True) -> None:
        def body(conn):
            fn({row["sha256"] for row in conn.execute("SELECT DISTINCT sha256 FROM version_files")})
            if not seal:
                return
            # A write, so the commit overwrites any commit cut short in the write-ahead log
            # (a process killed between writing it and publishing it), which SQLite would
            # otherwise replay on its next recovery: a version gc did not see must never appear.
            conn.execute("INSERT INTO counters (name, value) VALUES ('sweeps', 1) "
                         "ON CONFLICT (name) DO UPDATE SET value = value + 1")
        self._write(body)


# Each metadata column and what it must hold.
_COLUMNS = {"created_at": "text", "parent": "text?", "dataset": "json-object?",
            "params": "json-object", "metrics": "json-object", "tags": "json-object",
            "source_sha256": "text?", "frameworks": "json-object", "size": "count",
            "parameter_count": "count", "model_class": "text?", "record_sha256": "text?"}
_KIND_TEXT = {"text": "text", "text?": "text or NULL", "json-object": "a JSON object",
              "json-object?": "a JSON object or NULL", "count": "a whole number ≥ 0"}
_DEFAULTS = {"text": str, "text?": type(None), "json-object": dict, "json-object?": type(None),
             "count": int}  # called: each damaged record gets its own empty value


def _decode(raw, kind: str):
    if raw is None and kind.endswith("?"):
        return None
    if kind.startswith("text"):
        if not isinstance(raw, str):
            raise TypeError("")
        return raw
    if kind == "count":
        if type(raw) is not int or raw < 0:
            raise TypeError("")
        return raw
    if not isinstance(raw, str):
        raise TypeError("")
    value = json.loads(raw)  # ValueError (JSONDecodeError) when damaged
    if not isinstance(value, dict):
        raise TypeError("")
    return value


def _shown(raw) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _listing(name: str, versions: list[int]) -> str:
    if not versions:
        return f"{name} has no versions"
    return f"{name} has version{'s' if len(versions) > 1 else ''} " + ", ".join(map(str, versions))
