"""A save killed with SIGKILL at any point leaves no partial version; everything else works."""
import multiprocessing
import os
import signal

import pytest
import torch

import faults
from mlang.registry import Repository
from mlang.registry.blobs import BlobStore

from registry_models import make_stack, outputs


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_while_writing_a_file(home):
    """Killed after a temporary file's bytes are written, before it is renamed."""
    os.fsync = lambda fd: _die()
    Repository(home).save(make_stack(seed=9), "m")


def _kill_after_a_file_is_in_place(home):
    """Killed right after the first artifact file is renamed into place."""
    real_replace = os.replace

    def replace_then_die(src, dst):
        real_replace(src, dst)
        _die()
    os.replace = replace_then_die
    Repository(home).save(make_stack(seed=9), "m")


def _kill_inside_the_transaction(home):
    """Killed while holding the write lock, after the version row was inserted, before COMMIT:
    the blob check runs exactly there."""
    BlobStore.exists = lambda self, sha256: _die()
    Repository(home).save(make_stack(seed=9), "m")


@pytest.mark.parametrize("crash", [_kill_while_writing_a_file, _kill_after_a_file_is_in_place,
                                   _kill_inside_the_transaction])
def test_killed_save_leaves_no_partial_version(repo, crash):
    earlier = make_stack(seed=1)
    repo.save(earlier, "m", alias="prod")
    context = multiprocessing.get_context("fork")
    child = context.Process(target=crash, args=(repo.home,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL

    assert [v.version for v in repo.versions("m")] == [1]
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("m@prod"), x), outputs(earlier, x))
    later = make_stack(seed=2)
    assert repo.save(later, "m") == "m:2"
    assert torch.equal(outputs(repo.load("m:2"), x), outputs(later, x))
    repo.gc(temp_grace_s=0)                       # the killed save's leftovers are collected
    assert {sha for sha, _ in repo.blobs.blobs()} == {
        f.sha256 for v in repo.versions("m") for f in v.files}
    assert not list(repo.blobs.stale_temp_files(0))


def test_a_save_killed_before_each_of_its_durable_steps(m_home):
    """SIGKILL before every fsync, rename and in-transaction check of a save in turn (the
    fault run's first part, `faults.step_kills`): never a partial version, alias unmoved."""
    figures = faults.step_kills(m_home)
    assert figures["kills"] >= 8 and figures["kills_that_left_debris"] >= 1


def test_a_saving_loop_killed_at_random_moments(m_home):
    figures = faults.random_kills(m_home, kills=6, max_delay_s=0.25)
    assert figures["versions_checked"] == figures["versions_saved"]


@pytest.mark.slow
def test_forty_kills_at_random_moments_never_expose_a_partial_version(m_home):
    """The fault run's SIGKILL part at full size (bench/registry_faults.py reports it)."""
    figures = faults.random_kills(m_home, kills=40)
    assert figures["versions_saved"] > 0
    assert figures["versions_checked"] == figures["versions_saved"]


def _save_in_a_child(home, seed):
    Repository(home).save(make_stack(seed=seed), "m")
    os._exit(0)


def test_a_commit_cut_short_never_reappears_after_gc(repo):
    """A save killed inside SQLite's commit — its write-ahead log frames written, the index
    that publishes them not yet — is invisible to gc, and SQLite replays it on the next
    recovery.  gc therefore commits a write before deleting (it overwrites those frames): the
    version never comes back without its files.  (Found by the fault run: 1 run in 5 of
    `concurrent_kills` loaded a version whose weights gc had deleted.)"""
    repo.save(make_stack(seed=1), "m")
    shm = repo.home / "registry.db-shm"
    published = shm.read_bytes()                  # the index before the next commit
    child = multiprocessing.get_context("fork").Process(target=_save_in_a_child,
                                                        args=(repo.home, 2))
    child.start()
    child.join(timeout=60)
    assert [v.version for v in repo.store.versions("m")] == [1, 2]
    with open(shm, "r+b") as index:               # as if the saver died before publishing m:2
        index.write(published)
    assert [v.version for v in repo.store.versions("m")] == [1]
    assert repo.gc().removed_blobs == 1           # m:2's weights: unreferenced as gc sees it
    repo.store.close()                            # the last connection: the next one recovers
    again = Repository(repo.home)
    assert [v.version for v in again.versions("m")] == [1]
    x = torch.rand(2, 5)
    assert torch.equal(outputs(again.load("m:1"), x), outputs(make_stack(seed=1), x))
    assert again.save(make_stack(seed=3), "m") == "m:2"


def _gc_killed_before_deleting(home):
    BlobStore.purge = lambda self, sha256: _die()
    Repository(home).gc()


def test_a_gc_killed_mid_way_loses_nothing(repo):
    """gc sets blobs aside under the lock and deletes them only after its commit; killed in
    between, reads still find them and the next gc puts back any a version uses."""
    first = make_stack(seed=1)
    repo.save(first, "m")
    repo.save(make_stack(seed=2), "m")
    repo.remove("m:2")
    child = multiprocessing.get_context("fork").Process(target=_gc_killed_before_deleting,
                                                        args=(repo.home,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL
    assert list(repo.blobs.set_aside_blobs())     # m:2's files, set aside, not yet deleted
    weights = repo.resolve("m:1").file("weights.safetensors").sha256
    repo.blobs.set_aside(weights)                 # as if a replayed commit used a set-aside blob
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("m:1"), x), outputs(first, x))  # read from aside
    repo.gc()
    assert not list(repo.blobs.set_aside_blobs()) and repo.blobs.exists(weights)
    assert {sha for sha, _ in repo.blobs.blobs()} == {f.sha256 for f in repo.resolve("m:1").files}
