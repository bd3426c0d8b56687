"""A read-only or full repository still reads (`m models ls`, `load`, hence `m serve NAME`);
a write there fails with an MError naming the repository and why, and changes nothing.

The file-system cases mount a small tmpfs (or an ext4 image) and skip where this machine cannot
mount; the rest inject the same OSError / store failure and run everywhere."""
import errno
import json
import os
import sqlite3

import pytest
import torch
from typer.testing import CliRunner

import faults
import mlang as m
from mlang.lang.diagnostics import MError
from mlang.registry import Repository
from mlang.registry.blobs import BlobStore
from mlang.registry.cli import app

from registry_models import make_stack, outputs

runner = CliRunner()


def _or_skip(run, *args, **options):
    try:
        return run(*args, **options)
    except faults.Unavailable as error:
        pytest.skip(str(error))


@pytest.fixture
def mountpoint(tmp_path):
    return tmp_path / "fs"


# ----- on real read-only and full file systems ------------------------------------------------------

def test_a_read_only_repository_reads_and_refuses_every_write(mountpoint):
    figures = _or_skip(faults.read_only, mountpoint, fresh=False)
    assert set(figures["writes_refused_unchanged"]) == {"save", "alias", "rm", "gc"}
    assert all("nothing was" in text for text in figures["writes_refused_unchanged"].values())


def test_read_only_errors_name_the_repository_and_why(mountpoint, monkeypatch):
    def body():
        with faults.small_filesystem(mountpoint, 4 << 20):
            home = mountpoint / "home"
            repo = Repository(home)
            repo.save(make_stack(seed=1), "m", alias="prod")
            repo.store.close()
            faults.as_cleanly_closed(home)
            faults.remount(mountpoint, read_only=True)
            try:
                monkeypatch.setenv("M_HOME", str(home))
                x = torch.rand(2, 5)
                assert torch.equal(outputs(m.load("m@prod"), x), outputs(make_stack(seed=1), x))
                listed = runner.invoke(app, ["ls", "--json"])
                assert listed.exit_code == 0 and json.loads(listed.output)[0]["name"] == "m"
                with pytest.raises(MError) as caught:
                    Repository(home).save(make_stack(seed=2), "m")
                error = caught.value
                assert error.field == "repository" and str(home) in str(error)
                assert "read-only" in error.diagnostics[0].hint
                refused = runner.invoke(app, ["alias", "m@staging", "1"])
                assert refused.exit_code == 1 and "Traceback" not in refused.output
                assert "read-only" in refused.output
                Repository(home).store.close()
            finally:
                faults.remount(mountpoint, read_only=False)
    _or_skip(body)


def test_a_full_disk_reads_and_refuses_saves_unchanged(mountpoint):
    figures = _or_skip(faults.full_disk, mountpoint, size_bytes=1 << 20, concurrent_savers=2,
                       fresh=False)
    assert figures["versions_until_full"] >= 5
    assert "nothing was" in figures["writes_on_the_full_disk"]["save"]


def test_a_disk_filled_after_a_clean_close_still_reads(mountpoint):
    """The issue's case: no `-shm` file can be made, which blocked every read."""
    figures = _or_skip(faults.filled_by_another, mountpoint, fresh=False)
    assert set(figures["writes_refused_unchanged"]) == {"save", "alias", "rm", "gc"}
    assert figures["after_room_is_freed"] == "m:3"


@pytest.mark.slow
def test_reads_in_fresh_processes_on_read_only_and_full_repositories(tmp_path):
    """What `m serve NAME` does on a new machine: a new process, no schema check done yet."""
    for run in (faults.read_only, faults.filled_by_another, faults.full_disk):
        figures = _or_skip(run, tmp_path / run.__name__)
        assert set(figures["fresh_process_reads"].values()) == {"ok"}


# ----- the same failures, injected: runs on any machine -------------------------------------------

def test_a_save_failing_midway_takes_its_files_back(repo, monkeypatch):
    repo.save(make_stack(seed=1), "m", alias="prod")
    before = faults.snapshot(repo)
    real_put, calls = BlobStore.put, []

    def put_until_the_disk_fills(self, data, created=None):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_put(self, data, created)

    monkeypatch.setattr(BlobStore, "put", put_until_the_disk_fills)
    with pytest.raises(MError) as caught:
        repo.save(make_stack(seed=2, width=16), "m")
    assert caught.value.field == "repository"
    assert "No space left on device; nothing was saved" in str(caught.value)
    assert "is full" in caught.value.diagnostics[0].hint
    assert faults.snapshot(repo) == before           # the config blob it wrote is gone again
    monkeypatch.undo()
    assert repo.save(make_stack(seed=2, width=16), "m") == "m:2"


def test_a_failed_commit_takes_the_files_back_but_not_shared_ones(repo, monkeypatch):
    first = make_stack(seed=1)
    repo.save(first, "m")
    before = faults.snapshot(repo)

    def full(record, **options):
        raise MError("cannot write to the model repository: database or disk is full",
                     field="repository")

    monkeypatch.setattr(repo.store, "add_version", full)
    for model in (make_stack(seed=2), first):        # new bytes; bytes m:1 already uses
        with pytest.raises(MError, match="disk is full"):
            repo.save(model, "m")
        assert faults.snapshot(repo) == before
    monkeypatch.undo()
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("m:1"), x), outputs(first, x))


def test_reading_a_repository_that_does_not_exist_creates_nothing(tmp_path, monkeypatch):
    home = tmp_path / "nothing-here"
    monkeypatch.setenv("M_HOME", str(home))
    assert Repository(home).list_models() == []
    assert runner.invoke(app, ["ls"]).exit_code == 0
    with pytest.raises(MError, match="the repository is empty"):
        m.load("anything")
    assert not home.exists()


def test_reads_never_write_the_database(repo, stack):
    repo.save(stack, "m", alias="prod")
    repo.store.close()
    db = repo.home / "registry.db"
    data = db.read_bytes()
    watcher = sqlite3.connect(db)
    changes = watcher.execute("PRAGMA data_version").fetchone()[0]
    reader = Repository(repo.home)
    reader.list_models(), reader.load("m@prod"), reader.describe("m"), reader.verify("m:1")
    assert runner.invoke(app, ["ls", "m"], env={"M_HOME": str(repo.home)}).exit_code == 0
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == changes
    watcher.close()
    assert db.read_bytes() == data


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_repository_without_write_permission_reads(repo, stack):
    repo.save(stack, "m")
    repo.store.close()
    faults.as_cleanly_closed(repo.home)
    paths = [repo.home, *repo.home.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    try:
        for p in paths:
            p.chmod(modes[p] & ~0o222)
        reader = Repository(repo.home)
        assert [s.name for s in reader.list_models()] == ["m"]
        x = torch.rand(2, 5)
        assert torch.equal(outputs(reader.load("m"), x), outputs(stack, x))
        with pytest.raises(MError, match="nothing was"):
            reader.save(stack, "n")
    finally:
        for p in reversed(paths):
            p.chmod(modes[p])
