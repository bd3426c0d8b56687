"""The metadata store behind the model repository: one small interface, one file per backend.

`Repository` talks only to `Store`; `SQLiteStore` is the local implementation.  A server-backed
store (PostgreSQL) implements the same methods and is passed as `Repository(store=...)`.

Artifact bytes never go through the store: they live in the content-addressed blob directory,
and a version row names them by sha256.  The two places are kept consistent by two callbacks the
store runs while it holds its write lock: `add_version(check=...)` re-verifies that every blob
exists just before the row is committed, and `sweep(fn)` lets garbage collection delete blobs
while no version can be added.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable


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

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def file(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)


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

    @abstractmethod
    def add_version(self, record: VersionRecord, *, alias: str | None = None,
                    check: Callable[[], None] | None = None) -> VersionRecord:
        """Atomically assign the next version number of `record.name`, store the record (and move
        `alias` to it); `check` runs under the write lock just before committing."""

    @abstractmethod
    def get_version(self, name: str, version: int) -> VersionRecord | None:
        """The record of `name:version`, or None."""

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
    def sweep(self, fn: Callable[[set[str]], None]) -> None:
        """Call `fn(sha256s referenced by any version)` while no version can be added."""
