"""Content-addressed artifact files: each file is stored once, named by the sha256 of its bytes.

`ArtifactStore` is the one interface the repository uses for artifact bytes (put / get / exists /
remove / list, plus the set-aside steps of garbage collection).  `LocalArtifactStore` keeps them
in a folder — `$M_HOME/artifacts` by default, or a shared `file://` path (`M_ARTIFACTS`);
`mlang.registry.s3.S3ArtifactStore` in an S3-compatible object store.  Whatever the store, every
byte read is checked by the repository against the sha256 the version recorded.

A local blob is written to a temporary file in its final directory, flushed to disk (fsync), renamed
into place (atomic on POSIX) and the directory fsynced, so a process killed at any moment leaves
either no blob or a complete one — never a partial file under a real name.
"""
from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterator

TEMP_PREFIX = ".tmp-"
# A blob garbage collection has set aside: renamed under the store's write lock, deleted only
# once the sweep has committed (see `Repository.gc`), put back if a version turns out to use it.
TRASH_PREFIX = ".trash-"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_sha256(text: object) -> bool:
    return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY_ERRNOS = {errno.EROFS}


def write_failure_hint(folder: Path, error_number: int | None = None) -> str:
    """Why nothing could be written under `folder`, as a hint: a read-only file system, a full
    disk (from the error, or from the free space now) or missing permission."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError:
        stats = None
    if error_number in _READ_ONLY_ERRNOS or (stats is not None and stats.f_flag & os.ST_RDONLY):
        return (f"the file system holding {probe} is mounted read-only: the repository can be "
                "read there but not changed; set M_HOME to a writable folder to save")
    free = stats.f_bavail * stats.f_frsize if stats is not None else None
    if error_number in _FULL_ERRNOS or (free is not None and free < (1 << 20)):
        shown = f" ({free:,} bytes free)" if free is not None else ""
        return f"the disk holding {probe} is full{shown}; free space and try again"
    if error_number in (errno.EACCES, errno.EPERM) or not os.access(probe, os.W_OK):
        return f"{probe} is not writable by this user; set M_HOME to a writable folder"
    return "check free disk space and that M_HOME is writable"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArtifactStore(ABC):
    """Artifact bytes, content-addressed by sha256.  `put` is atomic: a reader sees a blob whole
    or not at all.  Garbage collection never deletes a blob outright: under the metadata store's
    write lock it is set aside (`set_aside`), and only deleted (`purge`) after the sweep
    committed, or put back (`put_back`) if a version turns out to use it."""

    location: str

    @abstractmethod
    def put(self, data: bytes, created: list[str] | None = None) -> str:
        """Store `data` once and return its sha256 (appended to `created` if this call wrote it)."""

    @abstractmethod
    def get(self, sha256: str) -> bytes:
        """The stored bytes (FileNotFoundError when missing); the caller verifies them."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under `sha256`."""

    @abstractmethod
    def remove(self, sha256: str) -> None:
        """Delete the blob (nothing when it is missing)."""

    @abstractmethod
    def list(self) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every stored blob."""

    @abstractmethod
    def set_aside(self, sha256: str) -> None: ...

    @abstractmethod
    def put_back(self, sha256: str) -> None: ...

    @abstractmethod
    def purge(self, sha256: str) -> None: ...

    @abstractmethod
    def set_aside_blobs(self) -> Iterator[str]: ...

    def describe(self, sha256: str) -> str:
        """Where the blob lives, for messages."""
        return f"{self.location}/sha256/{sha256[:2]}/{sha256}"

    def read(self, sha256: str) -> bytes:
        return self.get(sha256)

    def blobs(self) -> Iterator[tuple[str, int]]:
        return self.list()

    def verify(self, sha256: str) -> bool:
        try:
            return sha256_of(self.get(sha256)) == sha256
        except FileNotFoundError:
            return False

    def stale_temp_files(self, older_than_s: float) -> Iterator[Path]:
        """Temporary files of killed saves (none where a put is a single atomic request)."""
        return iter(())

    def write_hint(self, error_number: int | None = None) -> str:
        return "check that the artifact store can be written (M_ARTIFACTS)"


class LocalArtifactStore(ArtifactStore):
    """Blobs under `root/sha256/<first two hex digits>/<sha256>` (a local or shared folder)."""

    def __init__(self, root: Path):
        self.location = str(root)
        self.root = Path(root) / "sha256"

    def describe(self, sha256: str) -> str:
        return str(self.path(sha256))

    def write_hint(self, error_number: int | None = None) -> str:
        return write_failure_hint(self.root, error_number)

    def get(self, sha256: str) -> bytes:
        return self.read(sha256)

    def list(self) -> Iterator[tuple[str, int]]:
        return self.blobs()

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes, created: list[str] | None = None) -> str:
        """Store `data` (once) and return its sha256.  An existing blob whose bytes no longer match
        its name is replaced, so saving again repairs a damaged copy.  The sha256 of a blob this
        call wrote is appended to `created` (so a failed save can take its files back)."""
        sha256 = sha256_of(data)
        target = self.path(sha256)
        if target.is_file() and self.verify(sha256):
            os.utime(target)  # fresh mtime: garbage collection's grace period counts from now
            return sha256
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            _fsync_directory(target.parent.parent)  # the new folder's entry survives a crash
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), 0o444)  # stored artifacts are never edited in place
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        if created is not None:
            created.append(sha256)
        _fsync_directory(target.parent)
        return sha256

    def trash_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / (TRASH_PREFIX + sha256)

    def read(self, sha256: str) -> bytes:
        """The blob's bytes (FileNotFoundError when it is missing); the caller verifies them.
        A blob a killed gc left set aside is read from there (the next gc puts it back)."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            try:
                return self.trash_path(sha256).read_bytes()
            except FileNotFoundError:
                pass
            raise

    def set_aside(self, sha256: str) -> None:
        """Rename the blob out of the way (undone by `put_back`, finished by `purge`)."""
        try:
            os.replace(self.path(sha256), self.trash_path(sha256))
        except FileNotFoundError:
            pass

    def put_back(self, sha256: str) -> None:
        if self.path(sha256).is_file():
            self.trash_path(sha256).unlink(missing_ok=True)
            return
        try:
            os.replace(self.trash_path(sha256), self.path(sha256))
        except FileNotFoundError:
            pass

    def purge(self, sha256: str) -> None:
        self.trash_path(sha256).unlink(missing_ok=True)

    def set_aside_blobs(self) -> Iterator[str]:
        """The sha256 of every blob a gc set aside and did not finish (it was killed)."""
        if not self.root.is_dir():
            return
        for entry in self.root.glob(f"*/{TRASH_PREFIX}*"):
            sha256 = entry.name[len(TRASH_PREFIX):]
            if is_sha256(sha256):
                yield sha256

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def blobs(self) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every stored blob."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir():
                for entry in sorted(sub.iterdir()):
                    if entry.is_file() and is_sha256(entry.name):
                        yield entry.name, entry.stat().st_size

    def stale_temp_files(self, older_than_s: float) -> Iterator[Path]:
        """Temporary files left by killed saves, last written more than `older_than_s` ago."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - older_than_s
        for entry in self.root.glob(f"*/{TEMP_PREFIX}*"):
            try:
                if entry.stat().st_mtime <= cutoff:
                    yield entry
            except FileNotFoundError:  # renamed into place by a save that just finished
                continue


BlobStore = LocalArtifactStore  # the name before the interface was extracted
