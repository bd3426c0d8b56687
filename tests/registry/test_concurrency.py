"""Many writers at once: every save gets its own version, none is lost, no lock error escapes."""
import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

import faults
from mlang.lang.diagnostics import MError
from mlang.registry import Repository, SQLiteStore

from registry_models import make_stack, outputs

WRITERS = 8


def _save_after_barrier(home, index, barrier, results):
    barrier.wait()
    ref = Repository(home).save(make_stack(seed=index), "shared", metrics={"writer": index})
    results.put((index, ref))


def _check_every_version(home, expected_writers):
    repo = Repository(home)
    versions = repo.versions("shared")
    assert [v.version for v in versions] == list(range(1, len(expected_writers) + 1))
    x = torch.rand(2, 5)
    writers = []
    for record in versions:
        writer = record.metrics["writer"]
        writers.append(writer)
        assert torch.equal(outputs(repo.load(record.ref), x), outputs(make_stack(seed=writer), x))
    assert sorted(writers) == sorted(expected_writers)


def test_eight_processes_save_one_name_at_once(m_home):
    context = multiprocessing.get_context("fork")  # the children share the imported torch
    barrier, results = context.Barrier(WRITERS), context.Queue()
    workers = [context.Process(target=_save_after_barrier, args=(m_home, i, barrier, results))
               for i in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * WRITERS
    refs = dict(results.get(timeout=5) for _ in range(WRITERS))
    assert len(set(refs.values())) == WRITERS
    _check_every_version(m_home, list(range(WRITERS)))


def test_threads_sharing_one_repository(repo):
    barrier, refs, errors = threading.Barrier(WRITERS), [], []
    models = [make_stack(seed=i) for i in range(WRITERS)]  # torch's seed is global: build first

    def save(index):
        barrier.wait()
        try:
            refs.append(repo.save(models[index], "shared", metrics={"writer": index}))
        except Exception as error:  # collected so the test reports it, not the thread
            errors.append(error)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(refs)) == WRITERS
    _check_every_version(repo.home, list(range(WRITERS)))


WRITER_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from mlang.registry import Repository
    from registry_models import make_stack
    index, rounds = int(sys.argv[1]), int(sys.argv[2])
    repo = Repository()
    for round_ in range(rounds):
        repo.save(make_stack(seed=index * 100 + round_), "shared", alias=f"w{index}",
                  metrics={"writer": index * 100 + round_})
""")


@pytest.mark.slow
def test_eight_fresh_interpreters_save_many_versions(m_home, tmp_path):
    rounds = 5
    here = str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(i), str(rounds), here],
                              stderr=subprocess.PIPE, text=True) for i in range(WRITERS)]
    failures = [p.stderr.read() for p in procs if p.wait(timeout=300) != 0]
    assert failures == []
    _check_every_version(m_home, [i * 100 + r for i in range(WRITERS) for r in range(rounds)])
    history = Repository(m_home).alias_history("shared")
    assert len(history) == WRITERS * rounds


def test_busy_database_is_retried_not_reported(m_home):
    """With SQLite's own wait switched off every collision reaches the retry loop."""
    store = SQLiteStore(m_home / "registry.db", busy_timeout_s=0)
    repo = Repository(m_home, store=store)
    models = [make_stack(seed=i) for i in range(WRITERS)]
    barrier, errors = threading.Barrier(WRITERS), []

    def save(index):
        barrier.wait()
        try:
            for _ in range(3):
                repo.save(models[index], "shared", metrics={"writer": index})
        except Exception as error:  # collected so the test reports it, not the thread
            errors.append(error)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [v.version for v in repo.versions("shared")] == list(range(1, 3 * WRITERS + 1))


def test_a_lock_held_too_long_is_a_clear_error(m_home, stack):
    repo = Repository(m_home, store=SQLiteStore(m_home / "registry.db", busy_timeout_s=0.05,
                                                lock_timeout_s=0.5))
    repo.save(stack, "m")
    holder = sqlite3.connect(m_home / "registry.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(MError, match="stayed locked"):
            repo.save(stack, "m")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert repo.save(stack, "m") == "m:2"


def test_gc_between_writing_files_and_committing_does_not_lose_them(repo, stack):
    """gc sees a save's fresh files as unreferenced until its row commits; the save re-checks
    them under the write lock and writes back any that gc removed."""
    real_add_version = repo.store.add_version
    collected = []

    def gc_then_add(record, **options):
        collected.append(repo.gc().removed_blobs)   # as if gc ran in another process just now
        return real_add_version(record, **options)

    repo.store.add_version = gc_then_add
    ref = repo.save(stack, "m")
    assert collected[0] > 0
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load(ref), x), outputs(stack, x))


def test_savers_killed_at_random_while_others_save_and_gc_runs(m_home):
    """Three savers of one name and a gc loop; savers SIGKILLed at random and restarted
    (`faults.concurrent_kills`): numbers stay 1..N with no gap, every version loads as saved."""
    figures = faults.concurrent_kills(m_home, savers=3, kills=4)
    assert figures["versions_checked"] == figures["versions_saved"] > 0


@pytest.mark.slow
def test_four_savers_and_gc_under_twenty_kills(m_home):
    figures = faults.concurrent_kills(m_home, savers=4, kills=20)
    assert figures["versions_checked"] == figures["versions_saved"] > 0
