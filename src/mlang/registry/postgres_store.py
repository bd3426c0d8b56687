"""`Store` on a PostgreSQL server, through SQLAlchemy Core (driver: psycopg 3).

`M_REGISTRY=postgresql://user@host/database`.  The tables are SQLite's schema 2 (JSON columns as
text, so a damaged row is reported the same way); the schema is created by the first write, never
by a read, and a database without it reads as an empty repository.

Concurrency.  A version number is taken with `INSERT … ON CONFLICT (name) DO UPDATE SET
last_version = models.last_version + 1 RETURNING last_version` on the model's row: the row lock
it takes serializes savers of one name (in READ COMMITTED the second saver sees the first's
committed number), and the number is used in the same transaction, so two machines can never
both take `name:5`; savers of different names do not wait for each other.  Every write holds the
transaction-level advisory lock `pg_advisory_xact_lock_shared(M_LOCK)`; `sweep` (garbage
collection) holds it exclusively, so no version can be added while `gc` decides what is unused
— the same guarantee SQLite's single write lock gives.  Serialization failures and deadlocks are
retried with jittered backoff.  A PostgreSQL commit is durable once acknowledged (no log replay
can bring back a commit cut short), so `seal` needs no write.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import replace
from typing import Callable

from mlang.lang.diagnostics import MError
from mlang.registry.sqlite_store import SCHEMA_VERSION, SQLiteStore, _listing, now
from mlang.registry.store import AliasMove, Store, VersionRecord, record_digest

# Advisory lock keys (arbitrary 63-bit constants): the write lock and schema creation.
M_LOCK = 0x6D2D726567697374
SCHEMA_LOCK = 0x6D2D736368656D61

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS m_schema (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS models (
        name TEXT PRIMARY KEY,
        last_version BIGINT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS versions (
        name TEXT NOT NULL REFERENCES models(name),
        version BIGINT NOT NULL,
        created_at TEXT NOT NULL,
        parent TEXT,
        dataset TEXT,
        params TEXT NOT NULL,
        metrics TEXT NOT NULL,
        tags TEXT NOT NULL,
        source_sha256 TEXT,
        frameworks TEXT NOT NULL,
        size BIGINT NOT NULL,
        parameter_count BIGINT NOT NULL,
        model_class TEXT,
        record_sha256 TEXT,
        PRIMARY KEY (name, version))""",
    """CREATE TABLE IF NOT EXISTS version_files (
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size BIGINT NOT NULL,
        PRIMARY KEY (name, version, path),
        FOREIGN KEY (name, version) REFERENCES versions(name, version) ON DELETE CASCADE)""",
    "CREATE INDEX IF NOT EXISTS version_files_by_sha256 ON version_files(sha256)",
    """CREATE TABLE IF NOT EXISTS aliases (
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (name, alias),
        FOREIGN KEY (name, version) REFERENCES versions(name, version))""",
    """CREATE TABLE IF NOT EXISTS alias_history (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        alias TEXT NOT NULL,
        old_version BIGINT,
        new_version BIGINT,
        moved_at TEXT NOT NULL)""",
]

# SQLSTATEs worth retrying the whole transaction for: serialization failure, deadlock.
_RETRY_STATES = {"40001", "40P01"}


def engine_url(url: str) -> str:
    """SQLAlchemy's URL for M's `postgresql://…`: psycopg 3 unless a driver is named."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def _shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<M_REGISTRY>"


class PostgresStore(Store):
    """Metadata in the PostgreSQL database at `url` (`postgresql://user[:password]@host[:port]/db`)."""

    def __init__(self, url: str, *, lock_timeout_s: float = 300.0):
        self.url = engine_url(url)
        self.location = _shown_url(self.url)
        self.lock_timeout_s = lock_timeout_s
        self._engine = None
        self._engine_pid = None
        self._ready = False
        self._guard = threading.Lock()

    # ----- connections and transactions ------------------------------------------------------

    def _engine_now(self):
        with self._guard:
            if self._engine is None or self._engine_pid != os.getpid():
                try:
                    from sqlalchemy import create_engine
                except ImportError:
                    raise MError("M_REGISTRY names a PostgreSQL database, but SQLAlchemy is not "
                                 "installed", field="M_REGISTRY",
                                 hint="pip install sqlalchemy 'psycopg[binary]'") from None
                try:
                    self._engine = create_engine(self.url, pool_pre_ping=True, pool_size=2,
                                                 max_overflow=4)
                except Exception as error:  # a bad URL, a missing driver
                    raise MError(f"M_REGISTRY {self.location} cannot be used: {error}",
                                 field="M_REGISTRY", hint="write M_REGISTRY=postgresql://user@host"
                                 "/database and pip install 'psycopg[binary]'") from None
                self._engine_pid = os.getpid()
            return self._engine

    def close(self) -> None:
        if self._engine is not None and self._engine_pid == os.getpid():
            self._engine.dispose()
        self._engine = None

    def _error(self, error: Exception) -> MError:
        from sqlalchemy.exc import OperationalError

        if isinstance(error, OperationalError):
            return MError(f"cannot reach the model registry {self.location}: "
                          f"{str(error.orig).strip().splitlines()[0] if error.orig else error}",
                          field="M_REGISTRY", hint="check that the PostgreSQL server is running "
                          "and that M_REGISTRY names it (postgresql://user@host:port/database)")
        return MError(f"the model registry {self.location} cannot be used: {error}",
                      field="M_REGISTRY", hint="check that the database is M's registry")

    def _transaction(self, body: Callable, *, write: bool) -> object:
        """`body(conn)` in one transaction, retried on serialization failures and deadlocks."""
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.01
        while True:
            try:
                with self._engine_now().begin() as conn:
                    if write:
                        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": M_LOCK})
                    return body(conn)
            except DBAPIError as error:
                state = getattr(error.orig, "sqlstate", None)
                if state in _RETRY_STATES and time.monotonic() < deadline:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._error(error) from None
            except SQLAlchemyError as error:
                raise self._error(error) from None

    def _has_schema(self, conn) -> bool:
        from sqlalchemy import text

        if conn.execute(text("SELECT to_regclass('m_schema')")).scalar() is None:
            return False
        found = conn.execute(text("SELECT version FROM m_schema WHERE id = 1")).scalar()
        if found is not None and found > SCHEMA_VERSION:
            raise MError(f"the model registry {self.location} was written by a newer M (schema "
                         f"{found}, this M reads {SCHEMA_VERSION})", field="M_REGISTRY",
                         hint="upgrade M")
        return found is not None

    def _ensure_schema(self) -> None:
        from sqlalchemy import text

        if self._ready:
            return

        def create(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
            if self._has_schema(conn):
                return
            for statement in SCHEMA:
                conn.execute(text(statement))
            conn.execute(text("INSERT INTO m_schema (id, version) VALUES (1, :v) "
                              "ON CONFLICT (id) DO NOTHING"), {"v": SCHEMA_VERSION})
        self._transaction(create, write=False)
        self._ready = True

    def _write(self, body: Callable) -> object:
        self._ensure_schema()
        return self._transaction(body, write=True)

    def _read(self, body: Callable, empty) -> object:
        def checked(conn):
            if not self._has_schema(conn):
                return empty
            return body(conn)
        return self._transaction(checked, write=False)

    # ----- rows <-> records ------------------------------------------------------------------

    @staticmethod
    def _rows(conn, query: str, **args) -> list[dict]:
        from sqlalchemy import text

        return [dict(row._mapping) for row in conn.execute(text(query), args)]

    def _records(self, conn, where: str, **args) -> list[VersionRecord]:
        files: dict[tuple, list[dict]] = {}
        for f in self._rows(conn, "SELECT name, version, path, sha256, size FROM version_files "
                            f"WHERE {where} ORDER BY version, path", **args):
            files.setdefault((f["name"], f["version"]), []).append(f)
        return [SQLiteStore._record(None, row, files.get((row["name"], row["version"]), []))
                for row in self._rows(conn, f"SELECT * FROM versions WHERE {where} "
                                      "ORDER BY version", **args)]

    def _move_alias(self, conn, name: str, alias: str, version: int | None) -> AliasMove:
        from sqlalchemy import text

        old = conn.execute(text("SELECT version FROM aliases WHERE name = :n AND alias = :a "
                                "FOR UPDATE"), {"n": name, "a": alias}).scalar()
        if version is None:
            conn.execute(text("DELETE FROM aliases WHERE name = :n AND alias = :a"),
                         {"n": name, "a": alias})
        else:
            conn.execute(text("INSERT INTO aliases (name, alias, version) VALUES (:n, :a, :v) "
                              "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version"),
                         {"n": name, "a": alias, "v": version})
        move = AliasMove(name, alias, old, version, now())
        conn.execute(text("INSERT INTO alias_history (name, alias, old_version, new_version, "
                          "moved_at) VALUES (:n, :a, :o, :v, :t)"),
                     {"n": name, "a": alias, "o": old, "v": version, "t": move.moved_at})
        return move

    # ----- Store -----------------------------------------------------------------------------

    def prepare_write(self) -> None:
        self._ensure_schema()

    def add_version(self, record: VersionRecord, *, alias: str | None = None,
                    check: Callable[[], None] | None = None) -> VersionRecord:
        from sqlalchemy import text

        def body(conn):
            created = now()
            version = conn.execute(text(
                "INSERT INTO models (name, last_version, created_at) VALUES (:n, 1, :t) "
                "ON CONFLICT (name) DO UPDATE SET last_version = models.last_version + 1 "
                "RETURNING last_version"), {"n": record.name, "t": created}).scalar_one()
            digest = record_digest(replace(record, version=version, created_at=created))
            conn.execute(text(
                "INSERT INTO versions (name, version, created_at, parent, dataset, params, "
                "metrics, tags, source_sha256, frameworks, size, parameter_count, model_class, "
                "record_sha256) VALUES (:name, :version, :created, :parent, :dataset, :params, "
                ":metrics, :tags, :source, :frameworks, :size, :count, :cls, :digest)"),
                dict(name=record.name, version=version, created=created, parent=record.parent,
                     dataset=json.dumps(record.dataset) if record.dataset is not None else None,
                     params=json.dumps(record.params), metrics=json.dumps(record.metrics),
                     tags=json.dumps(record.tags), source=record.source_sha256,
                     frameworks=json.dumps(record.frameworks), size=record.size,
                     count=record.parameter_count, cls=record.model_class, digest=digest))
            if record.files:
                conn.execute(text("INSERT INTO version_files (name, version, path, sha256, size) "
                                  "VALUES (:n, :v, :p, :s, :z)"),
                             [dict(n=record.name, v=version, p=f.path, s=f.sha256, z=f.size)
                              for f in record.files])
            if alias is not None:
                self._move_alias(conn, record.name, alias, version)
            if check is not None:
                check()
            return self._records(conn, "name = :n AND version = :v", n=record.name, v=version)[0]
        return self._write(body)

    def get_version(self, name: str, version: int) -> VersionRecord | None:
        def body(conn):
            found = self._records(conn, "name = :n AND version = :v", n=name, v=version)
            return found[0] if found else None
        return self._read(body, None)

    def versions(self, name: str) -> list[VersionRecord]:
        return self._read(lambda conn: self._records(conn, "name = :n", n=name), [])

    def names(self) -> list[str]:
        return self._read(lambda conn: [r["name"] for r in self._rows(
            conn, "SELECT DISTINCT name FROM versions ORDER BY name")], [])

    def aliases(self, name: str) -> dict[str, int]:
        return self._read(lambda conn: {r["alias"]: r["version"] for r in self._rows(
            conn, "SELECT alias, version FROM aliases WHERE name = :n ORDER BY alias", n=name)}, {})

    def set_alias(self, name: str, alias: str, version: int) -> AliasMove:
        def body(conn):
            if not self._rows(conn, "SELECT 1 FROM versions WHERE name = :n AND version = :v "
                              "FOR SHARE", n=name, v=version):
                known = [r["version"] for r in self._rows(
                    conn, "SELECT version FROM versions WHERE name = :n ORDER BY version", n=name)]
                raise MError(f"{name}:{version} does not exist", field="version",
                             hint=_listing(name, known))
            return self._move_alias(conn, name, alias, version)
        return self._write(body)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        query = "SELECT * FROM alias_history WHERE name = :n"
        if alias is not None:
            query += " AND alias = :a"
        return self._read(lambda conn: [
            AliasMove(r["name"], r["alias"], r["old_version"], r["new_version"], r["moved_at"])
            for r in self._rows(conn, query + " ORDER BY id", n=name, a=alias)], [])

    def remove_version(self, name: str, version: int, *, force: bool = False) -> list[AliasMove]:
        from sqlalchemy import text

        def body(conn):
            pointing = [r["alias"] for r in self._rows(
                conn, "SELECT alias FROM aliases WHERE name = :n AND version = :v ORDER BY alias "
                "FOR UPDATE", n=name, v=version)]
            if pointing and not force:
                raise MError(f"{name}:{version} is in use by alias "
                             + ", ".join(f"{name}@{a}" for a in pointing), field="reference",
                             hint="move the alias first (`m models alias`) or pass --force")
            moves = [self._move_alias(conn, name, alias, None) for alias in pointing]
            conn.execute(text("DELETE FROM versions WHERE name = :n AND version = :v"),
                         {"n": name, "v": version})
            return moves
        return self._write(body)

    def sweep(self, fn: Callable[[set[str]], None], *, seal: bool = True) -> None:
        from sqlalchemy import text

        def body(conn):
            # Exclusive: waits for every write in flight (each holds the lock shared) and keeps
            # new ones out until this transaction ends.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": M_LOCK})
            fn({r["sha256"] for r in self._rows(conn, "SELECT DISTINCT sha256 FROM version_files")})
        self._ensure_schema()
        self._transaction(body, write=False)
