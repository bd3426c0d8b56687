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
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from mlang.lang.diagnostics import MError
from mlang.registry.store import AliasMove, FileRecord, Store, VersionRecord

SCHEMA_VERSION = 1
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


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class SQLiteStore(Store):
    """Metadata in `path` (created on first use)."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 10.0,
                 lock_timeout_s: float = 300.0):
        self.path = Path(path)
        self.location = str(self.path)
        self.busy_timeout_s = busy_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self._ready = False

    # ----- connections and transactions ---------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MError(f"cannot create the model repository {self.path.parent}: "
                         f"{error.strerror}", field="repository",
                         hint="set M_HOME to a writable folder") from None
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False)  # closed by whichever thread collects it
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")  # a returned "name:N" survives a power cut
        return conn

    def _connection(self) -> sqlite3.Connection:
        """This thread's open connection to the database (opened on first use)."""
        pid = os.getpid()
        if getattr(_per_thread, "pid", None) != pid:
            _inherited.extend(getattr(_per_thread, "connections", {}).values())
            _per_thread.pid, _per_thread.connections = pid, OrderedDict()
        connections: OrderedDict = _per_thread.connections
        key = (str(self.path), self.busy_timeout_s)
        conn = connections.get(key)
        if conn is None:
            conn = connections[key] = self._connect()
            if len(connections) > _OPEN_PER_THREAD:
                connections.popitem(last=False)[1].close()
        connections.move_to_end(key)
        return conn

    def _forget_connection(self) -> None:
        """Close this thread's connection after an error that may have left it unusable."""
        connections = getattr(_per_thread, "connections", {})
        conn = connections.pop((str(self.path), self.busy_timeout_s), None)
        if conn is not None:
            conn.close()

    def _retrying(self, operation: Callable[[], object]) -> object:
        """Run `operation`, retrying while SQLite says the database is busy or locked."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                return operation()
            except sqlite3.DatabaseError as error:
                if not (isinstance(error, sqlite3.OperationalError) and _is_busy(error)):
                    self._forget_connection()
                    raise MError(f"the model repository {self.location} cannot be used: {error}",
                                 field="repository", hint="check that the file is M's registry "
                                 "database and that its folder is writable") from error
                if time.monotonic() >= deadline:
                    raise MError(f"the model repository {self.location} stayed locked for "
                                 f"{self.lock_timeout_s:.0f} s", field="repository",
                                 hint="another process holds its write lock; try again") from error
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)

    def _in_transaction(self, body: Callable[[sqlite3.Connection], object], begin: str) -> object:
        conn = self._connection()
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
                self._forget_connection()
            raise

    def _transaction(self, body: Callable[[sqlite3.Connection], object], *,
                     write: bool) -> object:
        self._ensure_schema()
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        return self._retrying(lambda: self._in_transaction(body, begin))

    def _ensure_schema(self) -> None:
        if self._ready:
            return

        def create(conn):
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise MError(f"the model repository {self.location} was written by a newer M "
                             f"(schema {found}, this M reads {SCHEMA_VERSION})",
                             field="repository", hint="upgrade M")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

        def wal_mode():
            conn = self._connection()
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")

        self._retrying(wal_mode)
        self._retrying(lambda: self._in_transaction(create, "BEGIN IMMEDIATE"))
        self._ready = True

    # ----- rows <-> records ----------------------------------------------------------------

    @staticmethod
    def _record(conn: sqlite3.Connection, row: sqlite3.Row,
                files: list[FileRecord] | None = None) -> VersionRecord:
        if files is None:
            files = [FileRecord(f["path"], f["sha256"], f["size"]) for f in conn.execute(
                "SELECT path, sha256, size FROM version_files WHERE name = ? AND version = ? "
                "ORDER BY path", (row["name"], row["version"]))]
        return VersionRecord(
            name=row["name"], version=row["version"], created_at=row["created_at"],
            files=tuple(files),
            parent=row["parent"], dataset=json.loads(row["dataset"]) if row["dataset"] else None,
            params=json.loads(row["params"]), metrics=json.loads(row["metrics"]),
            tags=json.loads(row["tags"]), source_sha256=row["source_sha256"],
            frameworks=json.loads(row["frameworks"]), size=row["size"],
            parameter_count=row["parameter_count"], model_class=row["model_class"])

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
            conn.execute(
                "INSERT INTO versions (name, version, created_at, parent, dataset, params, "
                "metrics, tags, source_sha256, frameworks, size, parameter_count, model_class) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.name, version, created, record.parent,
                 json.dumps(record.dataset) if record.dataset is not None else None,
                 json.dumps(record.params), json.dumps(record.metrics), json.dumps(record.tags),
                 record.source_sha256, json.dumps(record.frameworks), record.size,
                 record.parameter_count, record.model_class))
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
        return self._transaction(body, write=True)

    def get_version(self, name: str, version: int) -> VersionRecord | None:
        def body(conn):
            row = conn.execute("SELECT * FROM versions WHERE name = ? AND version = ?",
                               (name, version)).fetchone()
            return self._record(conn, row) if row else None
        return self._transaction(body, write=False)

    def versions(self, name: str) -> list[VersionRecord]:
        def body(conn):
            files: dict[int, list[FileRecord]] = {}
            for f in conn.execute("SELECT version, path, sha256, size FROM version_files "
                                  "WHERE name = ? ORDER BY version, path", (name,)):
                files.setdefault(f["version"], []).append(FileRecord(f["path"], f["sha256"], f["size"]))
            rows = conn.execute("SELECT * FROM versions WHERE name = ? ORDER BY version", (name,))
            return [self._record(conn, row, files.get(row["version"], [])) for row in rows]
        return self._transaction(body, write=False)

    def names(self) -> list[str]:
        return self._transaction(lambda conn: [row["name"] for row in conn.execute(
            "SELECT DISTINCT name FROM versions ORDER BY name")], write=False)

    def aliases(self, name: str) -> dict[str, int]:
        return self._transaction(lambda conn: {row["alias"]: row["version"] for row in conn.execute(
            "SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias", (name,))},
            write=False)

    def set_alias(self, name: str, alias: str, version: int) -> AliasMove:
        def body(conn):
            if conn.execute("SELECT 1 FROM versions WHERE name = ? AND version = ?",
                            (name, version)).fetchone() is None:
                known = [row["version"] for row in conn.execute(
                    "SELECT version FROM versions WHERE name = ? ORDER BY version", (name,))]
                raise MError(f"{name}:{version} does not exist", field="version",
                             hint=_listing(name, known))
            return self._move_alias(conn, name, alias, version)
        return self._transaction(body, write=True)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        query = "SELECT * FROM alias_history WHERE name = ?"
        args: tuple = (name,)
        if alias is not None:
            query += " AND alias = ?"
            args += (alias,)
        return self._transaction(lambda conn: [
            AliasMove(row["name"], row["alias"], row["old_version"], row["new_version"],
                      row["moved_at"])
            for row in conn.execute(query + " ORDER BY id", args)], write=False)

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
        return self._transaction(body, write=True)

    def sweep(self, fn: Callable[[set[str]], None]) -> None:
        def body(conn):
            fn({row["sha256"] for row in conn.execute("SELECT DISTINCT sha256 FROM version_files")})
        self._transaction(body, write=True)


def _listing(name: str, versions: list[int]) -> str:
    if not versions:
        return f"{name} has no versions"
    return f"{name} has version{'s' if len(versions) > 1 else ''} " + ", ".join(map(str, versions))
