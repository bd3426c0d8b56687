"""The `Store` contract, checked against every implementation, and proof that `Repository`
needs nothing beyond it: a second store (in memory, written here from the interface alone)
runs a full save / alias / load / remove / gc cycle."""
import threading
from dataclasses import replace

import pytest
import torch

from mlang.lang.diagnostics import MError
from mlang.registry import AliasMove, FileRecord, Repository, SQLiteStore, Store, VersionRecord
from mlang.registry.sqlite_store import now
from mlang.registry.store import record_digest

from registry_models import make_stack, outputs


class MemoryStore(Store):
    """Versions in dicts behind one lock: the smallest honest `Store`."""

    def __init__(self):
        self.location = "memory"
        self.lock = threading.Lock()
        self.records: dict[tuple[str, int], VersionRecord] = {}
        self.last: dict[str, int] = {}
        self.alias_table: dict[tuple[str, str], int] = {}
        self.history: list[AliasMove] = []

    def _move(self, name, alias, version):
        move = AliasMove(name, alias, self.alias_table.get((name, alias)), version, now())
        if version is None:
            self.alias_table.pop((name, alias), None)
        else:
            self.alias_table[(name, alias)] = version
        self.history.append(move)
        return move

    def add_version(self, record, *, alias=None, check=None):
        with self.lock:
            version = self.last.get(record.name, 0) + 1
            if check is not None:
                check()
            self.last[record.name] = version
            stored = replace(record, version=version, created_at=now())
            stored = self.records[(record.name, version)] = replace(
                stored, record_sha256=record_digest(stored))
            if alias is not None:
                self._move(record.name, alias, version)
            return stored

    def get_version(self, name, version):
        return self.records.get((name, version))

    def versions(self, name):
        return [r for (n, _), r in sorted(self.records.items()) if n == name]

    def names(self):
        return sorted({n for n, _ in self.records})

    def aliases(self, name):
        return {a: v for (n, a), v in sorted(self.alias_table.items()) if n == name}

    def set_alias(self, name, alias, version):
        with self.lock:
            if (name, version) not in self.records:
                raise MError(f"{name}:{version} does not exist", field="version")
            return self._move(name, alias, version)

    def alias_history(self, name, alias=None):
        return [m for m in self.history if m.name == name and alias in (None, m.alias)]

    def remove_version(self, name, version, *, force=False):
        with self.lock:
            pointing = [a for (n, a), v in self.alias_table.items() if n == name and v == version]
            if pointing and not force:
                raise MError(f"{name}:{version} is in use by alias {pointing[0]}", field="reference")
            moves = [self._move(name, a, None) for a in pointing]
            del self.records[(name, version)]
            return moves

    def sweep(self, fn, *, seal=True):  # nothing to seal: no log to replay
        with self.lock:
            fn({f.sha256 for r in self.records.values() for f in r.files})


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def store(request, tmp_path):
    if request.param == "postgres":
        from mlang.registry.postgres_store import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_registry_url"))
        yield store
        store.close()
        return
    yield SQLiteStore(tmp_path / "registry.db") if request.param == "sqlite" else MemoryStore()


def _record(name="m", sha="a" * 64):
    return VersionRecord(name=name, files=(FileRecord("weights.safetensors", sha, 10),), size=10)


def test_versions_count_up_and_are_never_reused(store):
    assert [store.add_version(_record()).version for _ in range(3)] == [1, 2, 3]
    store.remove_version("m", 3)
    assert store.add_version(_record()).version == 4
    assert [r.version for r in store.versions("m")] == [1, 2, 4]
    assert store.names() == ["m"] and store.versions("other") == []


def test_a_stored_record_carries_its_digest(store):
    added = store.add_version(_record())
    assert added.record_sha256 == record_digest(added)
    assert store.get_version("m", 1).record_sha256 == added.record_sha256
    assert store.versions("m")[0].record_sha256 == added.record_sha256


def test_a_failing_check_adds_nothing(store):
    def refuse():
        raise MError("blob vanished")

    with pytest.raises(MError, match="blob vanished"):
        store.add_version(_record(), alias="prod", check=refuse)
    assert store.versions("m") == [] and store.aliases("m") == {}
    assert store.add_version(_record()).version == 1


def test_aliases_move_and_are_audited(store):
    store.add_version(_record(), alias="prod")
    store.add_version(_record())
    store.set_alias("m", "prod", 2)
    assert store.aliases("m") == {"prod": 2}
    assert [(h.old_version, h.new_version) for h in store.alias_history("m", "prod")] == [
        (None, 1), (1, 2)]
    with pytest.raises(MError):
        store.set_alias("m", "prod", 7)
    with pytest.raises(MError, match="in use"):
        store.remove_version("m", 2)
    assert [h.new_version for h in store.remove_version("m", 2, force=True)] == [None]


def test_sweep_sees_every_referenced_file(store):
    store.add_version(_record(sha="a" * 64))
    store.add_version(_record(name="n", sha="b" * 64))
    seen = []
    store.sweep(seen.append)
    assert seen == [{"a" * 64, "b" * 64}]


def test_repository_works_on_any_store(tmp_path):
    repo = Repository(tmp_path / "home", store=MemoryStore())
    first, second = make_stack(seed=1), make_stack(seed=2)
    repo.save(first, "m", alias="prod")
    repo.save(second, "m", parent="m:1")
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("m@prod"), x), outputs(first, x))
    assert [r for r, _ in repo.lineage("m")] == ["m:2", "m:1"]
    repo.remove("m:1", force=True)
    assert repo.gc().removed_blobs >= 1
    assert torch.equal(outputs(repo.load("m"), x), outputs(second, x))
    assert not (tmp_path / "home" / "registry.db").exists()
