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
