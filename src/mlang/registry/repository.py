"""The model repository: numbered versions, moving aliases, lineage, verified artifacts.

A saved version is a set of files — `config.json` (the architecture), `weights.safetensors`,
`files/...` (tokenizer and other files the model needs), `metrics.json`, `params.json` and, when
the model was declared in M, `source.m` — each stored once by sha256 (`ArtifactStore`), plus one row
of metadata in the `Store`.  Models become files and come back only through
`mlang.models.serialize` (`dump` / `restore`); nothing is ever unpickled.

Crash safety comes from the order of a save: every blob is written to a temporary file, fsynced
and renamed into place first; the version row is inserted last, in one transaction.  A process
killed at any moment leaves at most unreferenced blobs (which `gc` removes), never a visible
partial version.  Loading re-hashes every file and refuses bytes that changed, and recomputes
the version's `record_sha256` (its metadata bound to its files' hashes), so a row pointed at
other bytes is refused too.  A save that fails (read-only folder, full disk) takes back the files
it wrote and leaves the repository as it was.
"""
from __future__ import annotations

import difflib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlang.lang.diagnostics import MError
from mlang.registry.blobs import ArtifactStore, LocalArtifactStore, sha256_of
from mlang.registry.metadata import (dataset_fingerprint, framework_versions, metrics_dict,
                                     params_dict, tags_dict)
from mlang.registry.refs import ModelRef, check_alias, check_name, parse_ref, parse_version
from mlang.registry.sqlite_store import SQLiteStore
from mlang.registry.store import AliasMove, FileRecord, Store, VersionRecord, record_digest

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
METRICS_FILE = "metrics.json"
PARAMS_FILE = "params.json"
SOURCE_FILE = "source.m"
EXTRA_FILES_DIR = "files/"
# Where the repository records which version a loaded (or saved) model is, for lineage.
REF_ATTRIBUTE = "registry_ref"


class UnboundVersionWarning(UserWarning):
    """A version saved before M recorded `record_sha256`: its files are still verified by hash,
    but a change to its metadata row cannot be detected.  The first write by this M to the
    repository binds such versions as they are then."""


# (store location, ref) of the unbound versions already warned about in this process.
_warned_unbound: set[tuple[str, str]] = set()


def default_home() -> Path:
    """`$M_HOME`, else `~/.mlang`."""
    from mlang.models.url import m_home

    return m_home()


@dataclass(frozen=True)
class ModelSummary:
    """One line of `m models ls`: a name, its versions and aliases."""

    name: str
    versions: tuple[int, ...]
    aliases: dict
    updated_at: str

    @property
    def latest(self) -> int:
        return self.versions[-1]


@dataclass(frozen=True)
class GcReport:
    removed_blobs: int
    freed_bytes: int
    kept_blobs: int
    removed_temp_files: int
    dry_run: bool


class Repository:
    """A model repository rooted at `home` (default `$M_HOME` or `~/.mlang`).

    `store` defaults to `$M_REGISTRY` (a `postgresql://` URL: `PostgresStore`), else a
    `SQLiteStore` in `home/registry.db`; `artifacts` defaults to `$M_ARTIFACTS` (`s3://bucket/prefix`
    or a shared `file://` folder), else `home/artifacts`.  Pass a `Store` or an `ArtifactStore`
    to keep metadata or bytes elsewhere.
    """

    def __init__(self, home: str | Path | None = None, *, store: Store | None = None,
                 artifacts: ArtifactStore | None = None):
        from mlang.registry.config import artifact_store_from_env, store_from_env

        self.home = Path(home).expanduser() if home is not None else default_home()
        self.store = store if store is not None else store_from_env(self.home)
        self.blobs = artifacts if artifacts is not None else artifact_store_from_env(self.home)
        # What messages call the repository: its home, unless the metadata lives elsewhere.
        local = isinstance(self.store, SQLiteStore) and self.store.path == self.home / "registry.db"
        self.where = str(self.home) if local else self.store.location

    def __repr__(self) -> str:
        return f"Repository({str(self.home)!r})"

    # ----- saving ----------------------------------------------------------------------------

    def save(self, model, name: str, *, alias: str | None = None, tags: dict | None = None,
             metrics=None, params: dict | None = None, parent=None, dataset=None) -> str:
        """Save `model` as the next version of `name` and return its reference (`"name:N"`).

        `parent` (a reference or a loaded model) records lineage; a model that was loaded from
        or saved to this repository remembers its version, which becomes the parent when none is
        given.  `dataset` is fingerprinted (a Dataset, a file or folder path, or a dict).
        """
        from mlang.models.serialize import dump
        from mlang.models.trust import VERIFIED

        check_name(name)  # before the (possibly slow) dump
        artifact = dump(model)
        if parent is None:
            parent = self._remembered_parent(model)
        ref = self.save_artifact(
            artifact, name, alias=alias, tags=tags, metrics=metrics, params=params,
            parent=parent, dataset=dataset, parameter_count=_parameter_count(model, artifact),
            model_class=_model_class(model), source=_m_source(model), trust_code=VERIFIED)
        _remember_ref(model, ref)
        return ref

    def save_artifact(self, artifact, name: str, *, alias: str | None = None,
                      tags: dict | None = None, metrics=None, params: dict | None = None,
                      parent=None, dataset=None, parameter_count: int | None = None,
                      model_class: str | None = None, source: str | None = None,
                      trust_code=None) -> str:
        """Save an `Artifact(config, tensors, files)` as the next version of `name`.

        The repository vouches for the code of what it saved (`load` runs it), so an artifact that
        carries code is saved only as `trust_code` allows (`mlang.models.trust`); `save(model)`
        vouches for a model that already runs in this process."""
        from mlang.models.trust import check_trust

        check_name(name)
        check_trust(artifact.config, trust_code, artifact.origin)
        if alias is not None:
            check_alias(alias)
        # Everything that can be refused is checked before the first blob is written.
        metrics_json, params_json, tags_json = metrics_dict(metrics), params_dict(params), tags_dict(tags)
        parent_ref, fingerprint = self._parent_ref(parent), dataset_fingerprint(dataset)
        contents = _artifact_files(artifact, metrics_json, params_json, source)
        # A store that cannot be written (read-only folder, full disk) refuses before any file is
        # written; past this point its write lock can be taken to take the files back.
        self.store.prepare_write()
        created: list[str] = []  # the blobs this save wrote, taken back if it fails
        try:
            files = tuple(FileRecord(path, self.blobs.put(data, created), len(data))
                          for path, data in contents.items())
            record = VersionRecord(
                name=name, files=files, parent=parent_ref, dataset=fingerprint,
                params=params_json, metrics=metrics_json, tags=tags_json,
                source_sha256=sha256_of(source.encode()) if source else None,
                frameworks=framework_versions(), size=sum(f.size for f in files),
                parameter_count=(parameter_count if parameter_count is not None
                                 else sum(int(t.numel()) for t in artifact.tensors.values())),
                model_class=model_class)

            def blobs_still_present():
                # Runs under the store's write lock, which `gc` also holds while it deletes: a
                # blob that a concurrent gc removed before this save took the lock is written again.
                for entry in files:
                    if not self.blobs.exists(entry.sha256):
                        self.blobs.put(contents[entry.path], created)

            return self.store.add_version(record, alias=alias, check=blobs_still_present).ref
        except OSError as error:
            self._take_back(created)
            raise MError(f"cannot save {name!r} in the model repository {self.where}: "
                         f"{error.strerror or error}; nothing was saved", field="repository",
                         hint=self.blobs.write_hint(error.errno)) from None
        except Exception:
            self._take_back(created)
            raise

    def _take_back(self, created: list[str]) -> None:
        """Delete the blobs a failed save wrote, under the store's write lock and only those no
        version references (another save may have written the same bytes meanwhile).  When even
        the lock cannot be taken (a full disk, say) they stay for `gc`."""
        if not created:
            return
        def choose(referenced: set[str]) -> list[str]:
            return [sha256 for sha256 in created if sha256 not in referenced]
        try:
            self._collect(choose)
        except (MError, OSError):
            # No room even for the sealing write (a full disk): still under the write lock, so
            # no save can start using these bytes meanwhile; only a commit of the same bytes
            # cut short at this very moment could come back without them.
            try:
                self._collect(choose, seal=False)
            except (MError, OSError):
                return

    def _collect(self, choose, *, seal: bool = True) -> None:
        """Delete the blobs `choose(referenced sha256s)` names, safely against a save killed in
        the middle of its commit.

        Such a commit can be in SQLite's write-ahead log without being visible yet, and SQLite
        replays it on its next recovery — unless a later write transaction has overwritten it.
        So under the store's write lock the chosen blobs are only set aside (renamed); the sweep
        then commits a write (`Store.sweep`), after which no cut-short commit can reappear, and
        only then are they deleted.  If the sweep fails they are put back; if this process is
        killed meanwhile, the next gc puts back the set-aside blobs a version uses (and reads
        find them there until then)."""
        chosen: list[str] = []

        def sweep(referenced: set[str]) -> None:
            for sha256 in list(self.blobs.set_aside_blobs()):   # a killed gc's
                if sha256 in referenced:
                    self.blobs.put_back(sha256)
                else:
                    chosen.append(sha256)
            for sha256 in choose(referenced):
                self.blobs.set_aside(sha256)
                chosen.append(sha256)

        try:
            self.store.sweep(sweep, seal=seal)
        except BaseException:
            for sha256 in chosen:
                self.blobs.put_back(sha256)
            raise
        for sha256 in chosen:
            self.blobs.purge(sha256)

    def _remembered_parent(self, model) -> str | None:
        """The version `model` was loaded from or last saved as, if it is in this repository
        (a model loaded from another repository, or whose version was removed, has none here)."""
        remembered = getattr(model, REF_ATTRIBUTE, None)
        if not isinstance(remembered, str):
            return None
        try:
            return self.resolve(remembered).ref
        except MError:
            return None

    def _parent_ref(self, parent) -> str | None:
        if parent is None:
            return None
        if not isinstance(parent, (str, ModelRef)):
            parent = getattr(parent, REF_ATTRIBUTE, None)
            if parent is None:
                raise MError("parent must be a model reference such as 'base:2' or a model "
                             "loaded from the repository", field="parent")
        return self.resolve(parent).ref

    # ----- references ------------------------------------------------------------------------

    def resolve(self, ref, *, check: bool = True) -> VersionRecord:
        """The version `ref` names (`name`, `name:N`, `name@alias`), or an MError listing what
        exists.  A version whose metadata row is damaged, or no longer matches its
        `record_sha256`, is an MError naming it and the field, unless `check=False` (removal)."""
        record = self._lookup(ref)
        if check:
            self._check_record(record)
        return record

    def _lookup(self, ref) -> VersionRecord:
        try:
            parsed = parse_ref(ref)
        except MError as error:
            raise MError(error.args[0], field="reference",
                         hint=f"{error.diagnostics[0].hint}; {self._names_hint(None)}") from None
        aliases = self.store.aliases(parsed.name) if parsed.alias is not None else {}
        wanted = aliases.get(parsed.alias, parsed.version)
        if wanted is not None:  # the common case: one indexed lookup
            record = self.store.get_version(parsed.name, wanted)
            if record is not None:
                return record
        versions = self.store.versions(parsed.name)
        if not versions:
            raise MError(f"no model named {parsed.name!r} in the repository {self.where}",
                         field="reference", hint=self._names_hint(parsed.name))
        if parsed.alias is not None and parsed.alias not in aliases:
            raise MError(f"{parsed} does not exist", field="reference",
                         hint=_aliases_hint(parsed.name, aliases, versions))
        if wanted is None:
            return versions[-1]
        raise MError(f"{parsed.name}:{wanted} does not exist", field="reference",
                     hint=_versions_hint(parsed.name, versions))

    def _names_hint(self, missing: str | None) -> str:
        names = self.store.names()
        if not names:
            return "the repository is empty; save a model with save(model, \"name\")"
        close = difflib.get_close_matches(missing, names, n=1) if missing else []
        listing = "models: " + ", ".join(names)
        return f"did you mean {close[0]!r}? {listing}" if close else listing

    # ----- the metadata of a version is what was saved -----------------------------------------

    def problem(self, record: VersionRecord) -> MError | None:
        """Why `record` cannot be used — a damaged row, or metadata that no longer matches its
        `record_sha256` — as an MError naming the version and the field; None when it is sound."""
        fix = (f"the registry database was edited or damaged; remove the version with "
               f"`m models rm {record.ref} --force` (its files stay until `m models gc`) or "
               f"restore {self.store.location} from a backup")
        if record.damage is not None:
            field, reason = record.damage
            return MError(f"the metadata of {record.ref} is damaged: {field} {reason}",
                          field=field, hint=fix)
        if record.record_sha256 is None:
            return None
        actual = record_digest(record)
        if actual != record.record_sha256:
            return MError(f"the metadata of {record.ref} is not what was saved: it records "
                          f"record_sha256 {record.record_sha256}, but its name, number, "
                          f"metadata and file hashes give {actual} (a row pointed at other files, "
                          "such as another model's weights, or otherwise edited)",
                          field="record_sha256", hint="refusing to use it; " + fix)
        return None

    def _check_record(self, record: VersionRecord) -> None:
        problem = self.problem(record)
        if problem is not None:
            raise problem
        if record.record_sha256 is None:
            key = (self.store.location, record.ref)
            if key not in _warned_unbound:
                _warned_unbound.add(key)
                warnings.warn(f"{record.ref} in {self.home} was saved before M bound a version's "
                              "metadata to its files: its files are verified, but a change to its "
                              "metadata row cannot be detected (the next save, alias, rm or gc "
                              "with this M binds it)", UnboundVersionWarning, stacklevel=3)

    def _sound(self, records: list[VersionRecord], damaged: list | None) -> list[VersionRecord]:
        """`records` less the unusable ones, which are appended to `damaged` (raised if None)."""
        sound = []
        for record in records:
            problem = self.problem(record)
            if problem is None:
                sound.append(record)
            elif damaged is None:
                raise problem
            else:
                damaged.append(problem)
        return sound

    # ----- loading ---------------------------------------------------------------------------

    def load(self, ref):
        """A working model for `ref`, in inference mode (as Hugging Face's `from_pretrained`
        gives it: dropout off); every file is checked against its recorded sha256."""
        from mlang.models.serialize import restore
        from mlang.models.trust import VERIFIED

        record = self.resolve(ref)
        # Every file was just checked against its recorded sha256: the code in it is what the
        # local user saved, so it is trusted (docs/security.md).
        model = restore(self._read_artifact(record), trust_code=VERIFIED)
        model.eval()
        _remember_ref(model, record.ref)
        return model

    def load_artifact(self, ref):
        """The verified `Artifact` of `ref`, without building the model."""
        return self._read_artifact(self.resolve(ref))

    def read_file(self, ref, path: str) -> bytes:
        """The verified bytes of one artifact file of `ref` (e.g. `metrics.json`)."""
        record = self.resolve(ref)
        entry = record.file(path)
        if entry is None:
            raise MError(f"{record.ref} has no file {path!r}", field="path",
                         hint="files: " + ", ".join(f.path for f in record.files))
        return self._verified_bytes(record, entry)

    def verify(self, ref) -> list[FileRecord]:
        """Re-hash every file of `ref`; raises an MError on the first missing or changed one."""
        record = self.resolve(ref)
        for entry in record.files:
            self._verified_bytes(record, entry)
        return list(record.files)

    def _verified_bytes(self, record: VersionRecord, entry: FileRecord) -> bytes:
        location = self.blobs.describe(entry.sha256)
        try:
            data = self.blobs.read(entry.sha256)
        except FileNotFoundError:
            raise MError(f"artifact file {entry.path!r} of {record.ref} is missing ({location})",
                         field=entry.path, hint="the repository was damaged; restore the file "
                         "from a backup or remove the version with `m models rm`") from None
        actual = sha256_of(data)
        if actual != entry.sha256:
            raise MError(f"artifact file {entry.path!r} of {record.ref} was modified: expected "
                         f"sha256 {entry.sha256}, found sha256 {actual} ({location})",
                         field=entry.path, hint="refusing to load changed bytes; restore the "
                         "file from a backup or remove the version with `m models rm`")
        return data

    def _read_artifact(self, record: VersionRecord):
        from safetensors.torch import load as load_safetensors

        from mlang.models.serialize import Artifact

        config, tensors, files = None, {}, {}
        for entry in record.files:
            data = self._verified_bytes(record, entry)
            if entry.path == CONFIG_FILE:
                config = json.loads(data)
            elif entry.path == WEIGHTS_FILE:
                tensors = load_safetensors(data)
            elif entry.path.startswith(EXTRA_FILES_DIR):
                files[entry.path[len(EXTRA_FILES_DIR):]] = data
        if config is None:
            raise MError(f"{record.ref} has no {CONFIG_FILE}", field=CONFIG_FILE,
                         hint="the version was not saved by M")
        return Artifact(config=config, tensors=tensors, files=files)

    # ----- listing and inspecting ------------------------------------------------------------

    def list_models(self, *, damaged: list | None = None) -> list[ModelSummary]:
        """Every model with its version numbers (damaged ones included: they exist until
        removed).  A damaged version raises its MError, or is appended to `damaged` if given."""
        summaries = []
        for name in self.store.names():
            versions = self.store.versions(name)
            sound = self._sound(versions, damaged)
            if versions:
                latest = max((v.created_at for v in sound), default="")
                summaries.append(ModelSummary(name, tuple(v.version for v in versions),
                                              self.store.aliases(name), latest))
        return summaries

    def versions(self, name: str, *, damaged: list | None = None) -> list[VersionRecord]:
        """`name`'s usable versions, oldest first.  A damaged one raises its MError, or is left
        out and appended to `damaged` if given."""
        check_name(name)
        versions = self.store.versions(name)
        if not versions:
            raise MError(f"no model named {name!r} in the repository {self.where}",
                         field="reference", hint=self._names_hint(name))
        return self._sound(versions, damaged)

    def aliases(self, name: str) -> dict[str, int]:
        return self.store.aliases(check_name(name))

    def lineage(self, ref) -> list[tuple[str, VersionRecord | None]]:
        """`ref`, its parent, the parent's parent, …: (reference, record or None if removed)."""
        record = self.resolve(ref)
        chain = [(record.ref, record)]
        seen = {record.ref}
        while record is not None and record.parent and record.parent not in seen:
            seen.add(record.parent)
            try:
                parent = parse_ref(record.parent)
            except MError:  # a parent written by something other than M: shown, not followed
                chain.append((str(record.parent), None))
                break
            record = self.store.get_version(parent.name, parent.version)
            if record is not None and self.problem(record) is not None:
                record = None
            chain.append((str(parent), record))
        return chain

    def describe(self, ref) -> dict:
        """Everything about one version, as JSON: metadata, files, aliases, lineage."""
        record = self.resolve(ref)
        aliases = sorted(a for a, v in self.store.aliases(record.name).items()
                         if v == record.version)
        return {
            "ref": record.ref, "name": record.name, "version": record.version,
            "created_at": record.created_at, "model_class": record.model_class,
            "parameter_count": record.parameter_count, "size": record.size,
            "aliases": aliases, "parent": record.parent, "dataset": record.dataset,
            "params": record.params, "metrics": record.metrics, "tags": record.tags,
            "source_sha256": record.source_sha256, "frameworks": record.frameworks,
            "record_sha256": record.record_sha256,
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in record.files],
            "lineage": [{"ref": r, "exists": rec is not None,
                         "created_at": rec.created_at if rec else None,
                         "metrics": rec.metrics if rec else {}}
                        for r, rec in self.lineage(record.ref)],
        }

    def diff(self, ref_a, ref_b) -> dict:
        """What differs between two versions: hyperparameters, metrics, size, parameter count,
        files.  Each entry is `{"key", "a", "b", "changed"}`."""
        a, b = self.resolve(ref_a), self.resolve(ref_b)

        def rows(left: dict, right: dict) -> list[dict]:
            return [{"key": key, "a": left.get(key), "b": right.get(key),
                     "changed": left.get(key) != right.get(key)}
                    for key in sorted(set(left) | set(right))]

        files_a = {f.path: f.sha256 for f in a.files}
        files_b = {f.path: f.sha256 for f in b.files}
        return {
            "a": a.ref, "b": b.ref,
            "params": rows(a.params, b.params),
            "metrics": rows(a.metrics, b.metrics),
            "model": rows({"model_class": a.model_class, "parameter_count": a.parameter_count,
                           "size": a.size, "parent": a.parent, "dataset": a.dataset},
                          {"model_class": b.model_class, "parameter_count": b.parameter_count,
                           "size": b.size, "parent": b.parent, "dataset": b.dataset}),
            "files": rows(files_a, files_b),
        }

    # ----- aliases, removal, garbage collection -----------------------------------------------

    def set_alias(self, name: str, alias: str, version) -> AliasMove:
        """Point `name@alias` at `version` (a number or a reference such as `name:3`)."""
        check_name(name)
        check_alias(alias)
        number = self._version_number(name, version)
        return self.store.set_alias(name, alias, number)

    def _version_number(self, name: str, version) -> int:
        if isinstance(version, int) and not isinstance(version, bool):
            return parse_version(version, field="version")
        text = str(version).strip()
        if text.isdigit() or text.isnumeric():  # '²' and '٣' too: refused there, by name
            return parse_version(text, field="version")
        record = self.resolve(text if (":" in text or "@" in text) else f"{name}@{text}")
        if record.name != name:
            raise MError(f"{text} is a version of {record.name}, not of {name}", field="version")
        return record.version

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        check_name(name)
        return self.store.alias_history(name, check_alias(alias) if alias is not None else None)

    def remove(self, ref, *, force: bool = False) -> list[AliasMove]:
        """Remove one version (its blobs stay until `gc`).  Refuses while an alias points at it
        unless `force`, which removes those aliases too (recorded in the alias history)."""
        parsed = parse_ref(ref)
        if parsed.version is None and parsed.alias is None:
            versions = self.store.versions(check_name(parsed.name))
            if not versions:
                raise MError(f"no model named {parsed.name!r} in the repository {self.where}",
                             field="reference", hint=self._names_hint(parsed.name))
            raise MError(f"{parsed.name!r} names a model, not one version", field="reference",
                         hint="remove a version such as "
                         + ", ".join(v.ref for v in versions[-3:]))
        record = self.resolve(parsed, check=False)  # a damaged version can still be removed
        return self.store.remove_version(record.name, record.version, force=force)

    def gc(self, *, dry_run: bool = False, temp_grace_s: float = 3600.0) -> GcReport:
        """Delete blobs no version references, and temporary files of saves that were killed
        more than `temp_grace_s` ago (younger ones may belong to a save in progress)."""
        counts = {"removed": 0, "freed": 0, "kept": 0}

        def unreferenced(referenced: set[str]) -> list[str]:
            found = []
            for sha256, size in list(self.blobs.blobs()):
                if sha256 in referenced:
                    counts["kept"] += 1
                    continue
                counts["removed"] += 1
                counts["freed"] += size
                found.append(sha256)
            return found

        if dry_run:
            self.store.sweep(unreferenced)
        else:
            self._collect(unreferenced)
        stale = list(self.blobs.stale_temp_files(temp_grace_s))
        if not dry_run:
            for path in stale:
                path.unlink(missing_ok=True)
        return GcReport(counts["removed"], counts["freed"], counts["kept"], len(stale), dry_run)


# ----- helpers ---------------------------------------------------------------------------------

def _artifact_files(artifact, metrics: dict, params: dict, source: str | None) -> dict[str, bytes]:
    """The files of one version, path → bytes."""
    files = {CONFIG_FILE: json.dumps(artifact.config, indent=2, sort_keys=True).encode(),
             WEIGHTS_FILE: _safetensors_bytes(artifact.tensors)}
    for path, data in sorted(artifact.files.items()):
        files[EXTRA_FILES_DIR + _check_relative_path(path)] = bytes(data)
    files[METRICS_FILE] = json.dumps(metrics, indent=2, sort_keys=True).encode()
    files[PARAMS_FILE] = json.dumps(params, indent=2, sort_keys=True).encode()
    if source:
        files[SOURCE_FILE] = source.encode()
    return files


def _check_relative_path(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not path or path.startswith("/") or ".." in parts or "\\" in path:
        raise MError(f"artifact file name {path!r} must be a relative path without '..'",
                     field="files")
    return path


def _safetensors_bytes(tensors: dict) -> bytes:
    """The state dict as safetensors.  Tensors that share memory (tied weights) or view part of
    a larger buffer are copied, since safetensors stores each tensor on its own."""
    import torch
    from safetensors.torch import save as save_safetensors

    seen_storages: set[int] = set()
    own = {}
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise MError(f"state entry {name!r} is a {type(tensor).__name__}, not a tensor",
                         field="tensors", hint="only tensors can be stored as safetensors")
        tensor = tensor.detach().cpu().contiguous()
        storage = tensor.untyped_storage()
        whole = storage.nbytes() == tensor.numel() * tensor.element_size()
        if storage.data_ptr() in seen_storages or not whole:
            tensor = tensor.clone()
        seen_storages.add(tensor.untyped_storage().data_ptr())
        own[name] = tensor
    try:
        return save_safetensors(own, metadata={"format": "pt"})
    except (TypeError, ValueError, RuntimeError) as error:
        raise MError(f"the model's tensors cannot be written as safetensors: {error}",
                     field="tensors") from None


def _parameter_count(model, artifact) -> int:
    """Trainable parameters plus the weights an optimization pass turned into buffers (int8
    weights and their float biases), so a quantized version counts like its original."""
    named = getattr(model, "named_parameters", None)
    if not callable(named):
        return sum(int(t.numel()) for t in artifact.tensors.values())
    parameter_names = {name for name, _ in named(remove_duplicate=False)}
    count = sum(int(p.numel()) for p in model.parameters())
    for name, tensor in artifact.tensors.items():
        if name in parameter_names:
            continue
        if str(tensor.dtype) == "torch.int8" or name.rsplit(".", 1)[-1] in ("weight", "bias"):
            count += int(tensor.numel())
    return count


def _model_class(model) -> str:
    spec = getattr(model, "spec", None)
    name = getattr(spec, "name", None)
    return name if isinstance(name, str) else type(model).__name__


def _m_source(model) -> str | None:
    """The text of the M file that declared the model, when it was declared in one."""
    span = getattr(getattr(model, "spec", None), "span", None)
    file = getattr(span, "file", None)
    if not isinstance(file, str) or not file.endswith(".m"):
        return None
    try:
        return Path(file).read_text(encoding="utf-8")
    except OSError:
        return None


def _remember_ref(model, ref: str) -> None:
    try:
        setattr(model, REF_ATTRIBUTE, ref)
    except AttributeError:  # an object that takes no attributes simply carries no lineage
        return


def _versions_hint(name: str, versions: list[VersionRecord]) -> str:
    return f"{name} has versions " + ", ".join(str(v.version) for v in versions)


def _aliases_hint(name: str, aliases: dict, versions: list[VersionRecord]) -> str:
    if not aliases:
        return f"{name} has no aliases; {_versions_hint(name, versions)}"
    return f"aliases of {name}: " + ", ".join(f"@{a} → {v}" for a, v in sorted(aliases.items()))


# ----- module-level shortcuts (the repository at $M_HOME) --------------------------------------

def save(model, name: str, *, alias: str | None = None, tags: dict | None = None, metrics=None,
         params: dict | None = None, parent=None, dataset=None) -> str:
    """Save `model` in the repository at `$M_HOME` (or `~/.mlang`); returns `"name:N"`.

    Under multi-process training (`m run --nproc N`) every rank runs the whole program; only rank 0
    writes, the others return None, so one run makes one version.
    """
    if os.environ.get("RANK", "0") != "0":
        return None
    return Repository().save(model, name, alias=alias, tags=tags, metrics=metrics, params=params,
                             parent=parent, dataset=dataset)


def load(ref: str):
    """Load `name`, `name:N` or `name@alias` from the repository at `$M_HOME`."""
    return Repository().load(ref)


def list_models(name: str | None = None) -> list[dict]:
    """The models (or one model's versions) in the repository at `$M_HOME`, as dicts."""
    repository = Repository()
    if name is None:
        return [{"name": s.name, "versions": list(s.versions), "latest": s.latest,
                 "aliases": s.aliases, "updated_at": s.updated_at}
                for s in repository.list_models()]
    aliases = repository.aliases(name)
    return [{"ref": v.ref, "version": v.version, "created_at": v.created_at,
             "aliases": sorted(a for a, n in aliases.items() if n == v.version),
             "parameter_count": v.parameter_count, "size": v.size, "metrics": v.metrics,
             "parent": v.parent} for v in repository.versions(name)]


def load_registry_source(reference: str, **options):
    """`loadModelFromUrl("registry:name:3")`: the model zoo's loader for the `registry` scheme."""
    if options:
        raise MError("a model from the repository takes no loading options, got "
                     + ", ".join(sorted(options)), field="options")
    return load(reference)
