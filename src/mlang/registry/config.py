"""Where a repository keeps metadata (`M_REGISTRY`) and artifact bytes (`M_ARTIFACTS`).

Unset, both live in `$M_HOME` (SQLite and a local folder: embedded, zero setup).  Machines that
share models set the same two values:

    M_REGISTRY=postgresql://user@db-host/models     (or a path / sqlite:///path to a SQLite file)
    M_ARTIFACTS=s3://bucket/prefix                  (or file:///shared/folder)
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlang.lang.diagnostics import MError

_POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def store_from_env(home: Path):
    from mlang.registry.sqlite_store import SQLiteStore

    value = os.environ.get("M_REGISTRY", "").strip()
    if not value:
        return SQLiteStore(home / "registry.db")
    if value.startswith(_POSTGRES):
        from mlang.registry.postgres_store import PostgresStore

        return PostgresStore(value)
    if value.startswith("sqlite:///"):
        return SQLiteStore(Path(unquote(value[len("sqlite://"):])))
    if "://" in value:
        raise MError(f"M_REGISTRY {value.split('://')[0]!r}:// is not a registry M knows",
                     field="M_REGISTRY", hint="use postgresql://user@host/database, "
                     "sqlite:///path/registry.db, or leave it unset for $M_HOME/registry.db")
    return SQLiteStore(Path(value).expanduser())


def artifact_store_from_env(home: Path):
    from mlang.registry.blobs import LocalArtifactStore

    value = os.environ.get("M_ARTIFACTS", "").strip()
    if not value:
        return LocalArtifactStore(home / "artifacts")
    if value.startswith("s3://"):
        from mlang.registry.s3 import S3ArtifactStore

        return S3ArtifactStore.from_url(value)
    if value.startswith("file://"):
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost") or not parsed.path:
            raise MError(f"M_ARTIFACTS {value!r} is not a local path", field="M_ARTIFACTS",
                         hint="write file:///absolute/shared/folder (three slashes)")
        return LocalArtifactStore(Path(unquote(parsed.path)))
    if "://" in value:
        raise MError(f"M_ARTIFACTS {value.split('://')[0]!r}:// is not an artifact store M knows",
                     field="M_ARTIFACTS", hint="use s3://bucket/prefix, file:///shared/folder, "
                     "or leave it unset for $M_HOME/artifacts")
    return LocalArtifactStore(Path(value).expanduser())
