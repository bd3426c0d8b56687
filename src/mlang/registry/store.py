"""The metadata store behind the model repository: one small interface, one file per backend.

`Repository` talks only to `Store`; `SQLiteStore` is the local implementation and `PostgresStore`
(`M_REGISTRY=postgresql://…`) the shared one; another is passed as `Repository(store=...)`.

Artifact bytes never go through the store: they live in the content-addressed `ArtifactStore`,
and a version row names them by sha256.  The two places are kept consistent by two callbacks the
store runs while it holds its write lock: `add_version(check=...)` re-verifies that every blob
exists just before the row is committed, and `sweep(fn)` lets garbage collection delete blobs
while no version can be added.

Each version row carries `record_sha256`, a digest over the whole record — its name and number,
its metadata and every file's path, sha256 and size (`record_digest`) — computed by the store when
it assigns the number.  The repository recomputes it on every read, so a row pointed at another
model's weights (or any other edit of the metadata) is refused instead of loading silently.
A row the store cannot decode comes back with `damage = (field, reason)` rather than raising, so
listing shows the other versions and removal still works; the repository refuses to use it.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable

# The first item of the digested document: a new layout gets a new tag, and old digests stay valid.
RECORD_DIGEST_FORMAT = "m-registry-record/1"


@dataclass(frozen=True)
class FileRecord:
    """One artifact file of a version: its path inside the version, sha256 and size in bytes."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class VersionRecord:
    """Everything recorded about one saved version.  `version` and `created_at` are assigned by
    the store when the version is added."""

    name: str
    files: tuple[FileRecord, ...]
    version: int = 0
    created_at: str = ""
    parent: str | None = None              # "name:N" of the version this one was made from
    dataset: dict | None = None            # dataset fingerprint
    params: dict = field(default_factory=dict)      # hyperparameters
    metrics: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    source_sha256: str | None = None       # sha256 of the M source that declared the model
    frameworks: dict = field(default_factory=dict)  # package versions at save time
    size: int = 0                           # bytes of all artifact files
    parameter_count: int = 0
    model_class: str | None = None
    record_sha256: str | None = None       # record_digest(...) at save; None on rows from before
    damage: tuple[str, str] | None = field(default=None, compare=False)  # (field, reason)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def file(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)


def record_digest(record: VersionRecord) -> str:
    """sha256 over everything a version records except the digest itself, as canonical JSON.

    It binds a version's identity (name, number, creation time) and metadata to its files (path,
    sha256, size): pointing the row at other bytes, or at another version's files, changes it."""
    document = [
        RECORD_DIGEST_FORMAT, record.name, record.version, record.created_at,
        sorted([f.path, f.sha256, f.size] for f in record.files),
        record.parent, record.dataset, record.params, record.metrics, record.tags,
        record.source_sha256, record.frameworks, record.size, record.parameter_count,
        record.model_class,
    ]
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AliasMove:
    """One entry of the alias audit history; `new_version is None` when the alias was removed."""

    name: str
    alias: str
    old_version: int | None
    new_version: int | None
    moved_at: str


class Store(ABC):
    """Versions, aliases and their history for a model repository."""

    location: str

    def prepare_write(self) -> None:
        """Make ready for a write (create the schema, open the connection), or raise an MError
        saying why the store cannot be written.  A save calls it before writing its first
        file, so a read-only or full store refuses the save with nothing written."""

    @abstractmethod
    def add_version(self, record: VersionRecord, *, alias: str | None = None,
                    check: Callable[[], None] | None = None) -> VersionRecord:
        """Atomically assign the next version number of `record.name`, store the record with its
        `record_sha256 = record_digest(...)` (computed once the number and time are assigned) and
        move `alias` to it; `check` runs under the write lock just before committing."""

    @abstractmethod
    def get_version(self, name: str, version: int) -> VersionRecord | None:
        """The record of `name:version`, or None (a row that cannot be decoded has `damage`)."""

    @abstractmethod
    def versions(self, name: str) -> list[VersionRecord]:
        """Every version of `name`, oldest first (empty when there is none)."""

    @abstractmethod
    def names(self) -> list[str]:
        """The names that have at least one version, sorted."""

    @abstractmethod
    def aliases(self, name: str) -> dict[str, int]:
        """alias → version for `name`."""

    @abstractmethod
    def set_alias(self, name: str, alias: str, version: int) -> AliasMove:
        """Point `name@alias` at an existing version, recording the move in the history."""

    @abstractmethod
    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of `name`'s aliases (or of one alias), oldest first."""

    @abstractmethod
    def remove_version(self, name: str, version: int, *, force: bool = False) -> list[AliasMove]:
        """Delete `name:version`.  Raises `MError` when an alias points at it unless `force`,
        in which case those aliases are removed (and the removals recorded)."""

    @abstractmethod
    def sweep(self, fn: Callable[[set[str]], None], *, seal: bool = True) -> None:
        """Call `fn(sha256s referenced by any version)` while no version can be added, then
        (with `seal`) commit a write.  The write matters for a log-based store such as
        SQLite's: a version whose commit was cut short (its process killed between writing it
        to the log and publishing it) is invisible to `fn` but would be replayed on the next
        recovery; a commit after it overwrites it, so no version `fn` did not see can appear
        later.  `seal=False` is for when that write cannot be made (a full disk)."""
