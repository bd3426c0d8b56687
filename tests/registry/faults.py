"""The registry fault run's moving parts, shared by the tests and `bench/registry_faults.py`.

- `step_kills`: a save SIGKILLed before each of its durable steps in turn (every blob's fsync,
  rename and folder fsync, every blob check inside the transaction), until a save completes;
- `random_kills`: a process saving in a loop, SIGKILLed at random moments;
- `concurrent_kills`: several savers and a garbage collector at once, savers SIGKILLed at random
  and restarted;
- `full_disk` / `read_only`: a repository on a small file system that fills up, or is remounted
  read-only: reads work (in fresh processes too), writes fail with an MError and leave the
  repository exactly as it was.

After each fault `check_sound` loads every visible version and compares its outputs with a fresh
model of the recorded seed: a partial or mixed-up version cannot pass.

The SIGKILL runs use whatever repository `Repository(home)` opens, so with `M_REGISTRY=postgresql://…`
and `M_ARTIFACTS=s3://…` set (`remote_stores`) the same runs kill savers of a PostgreSQL + S3
repository; a step is then also every S3 request and every PostgreSQL commit.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from mlang.lang.diagnostics import MError
from mlang.registry import Repository
from mlang.registry.blobs import TEMP_PREFIX, BlobStore

from registry_models import make_stack, outputs
from services import stop_process  # tests/services.py

HERE = Path(__file__).resolve().parent
_fork = multiprocessing.get_context("fork")  # the children share the imported torch


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def save_seeded(repo: Repository, name: str, seed: int, width: int, **options) -> str:
    """Save the stack of `seed`; its metrics say how to rebuild it for `check_sound`."""
    return repo.save(make_stack(seed=seed, width=width), name,
                     metrics={"seed": seed, "width": width}, **options)


def check_sound(repo: Repository, checked: set[str] | None = None) -> int:
    """Load every version not in `checked` and compare with the model its metrics name; version
    numbers of a name must be distinct and increasing.  Returns how many were loaded."""
    x = torch.rand(2, 5)
    loaded = 0
    for name in repo.store.names():
        records = repo.versions(name)            # raises on a damaged or unbound-mismatch row
        numbers = [r.version for r in records]
        assert numbers == sorted(set(numbers)), numbers
        for record in records:
            if checked is not None and record.ref in checked:
                continue
            seed, width = record.metrics["seed"], record.metrics["width"]
            assert torch.equal(outputs(repo.load(record.ref), x),
                               outputs(make_stack(seed=seed, width=width), x)), record.ref
            loaded += 1
            if checked is not None:
                checked.add(record.ref)
    return loaded


def debris(repo: Repository) -> tuple[int, int]:
    """(temporary files, blobs no version references): what killed saves leave for gc (an object
    store has no temporary files: one PUT is atomic)."""
    referenced = {f.sha256 for name in repo.store.names() for v in repo.store.versions(name)
                  for f in v.files}
    temp = sum(1 for _ in repo.blobs.stale_temp_files(0))
    orphans = sum(1 for sha, _ in repo.blobs.blobs() if sha not in referenced)
    return temp, orphans


@contextlib.contextmanager
def remote_stores(registry_url: str, s3_env: dict, prefix: str):
    """`M_REGISTRY`, `M_ARTIFACTS=s3://<bucket>/<prefix>` and the S3 client's environment set in
    this process (forked savers inherit them), restored afterwards."""
    changes = {**s3_env, "M_REGISTRY": registry_url,
               "M_ARTIFACTS": f"s3://{s3_env.get('S3_BUCKET', 'models')}/{prefix}"}
    saved = {key: os.environ.get(key) for key in changes}
    os.environ.update(changes)
    try:
        yield changes
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def snapshot(repo: Repository) -> dict:
    """Everything a failed write must leave as it was: versions (with their files and digests),
    aliases, the alias history, the stored blobs and temporary files."""
    store = repo.store
    names = store.names()
    return {
        "versions": {name: [(v.version, v.record_sha256, v.files) for v in store.versions(name)]
                     for name in names},
        "aliases": {name: store.aliases(name) for name in names},
        "history": {name: [(m.alias, m.old_version, m.new_version, m.moved_at)
                           for m in store.alias_history(name)] for name in names},
        "blobs": sorted(repo.blobs.blobs()),
        "temp": sorted(p.name for p in repo.blobs.root.glob(f"*/{TEMP_PREFIX}*"))
        if repo.blobs.root.is_dir() else [],
        "set_aside": sorted(repo.blobs.set_aside_blobs()),
    }


# ----- SIGKILL ------------------------------------------------------------------------------------

def _save_dying_at_step(home, step: int, seed: int, width: int) -> None:
    """In a forked child: save, SIGKILLed just before durable step `step` (1-based); exit 0 if
    the save has fewer steps."""
    count = [0]

    def counted(function):
        def wrapper(*args, **kwargs):
            count[0] += 1
            if count[0] == step:
                _die()
            return function(*args, **kwargs)
        return wrapper

    os.fsync, os.replace = counted(os.fsync), counted(os.replace)
    BlobStore.exists = counted(BlobStore.exists)  # the checks inside the open transaction
    if os.environ.get("M_ARTIFACTS", "").startswith("s3://"):
        from mlang.registry.s3 import S3ArtifactStore

        S3ArtifactStore._call = counted(S3ArtifactStore._call)  # every request to the bucket
    if os.environ.get("M_REGISTRY", "").startswith("postgres"):
        import psycopg

        psycopg.Connection.commit = counted(psycopg.Connection.commit)
    save_seeded(Repository(home), "steps", seed, width)
    os._exit(0)


def step_kills(home: Path, width: int = 64, limit: int = 200) -> dict:
    """Kill a save before each of its durable steps in turn until one save runs to the end."""
    repo = Repository(home)
    save_seeded(repo, "steps", 0, width, alias="prod")
    checked: set[str] = set()
    kills = left_debris = 0
    for step in range(1, limit):
        child = _fork.Process(target=_save_dying_at_step, args=(home, step, 1000 + step, width))
        child.start()
        child.join(timeout=120)
        if child.exitcode == 0:
            break
        assert child.exitcode == -signal.SIGKILL, child.exitcode
        kills += 1
        left_debris += any(debris(repo))
        check_sound(repo, checked)
        assert repo.aliases("steps") == {"prod": 1}
    else:
        raise AssertionError(f"a save took more than {limit} steps")
    versions = len(repo.store.versions("steps"))
    return {"kills": kills, "steps_in_a_save": kills, "kills_that_left_debris": left_debris,
            "versions_visible": versions, "versions_checked": len(checked)}


def _save_forever(home, name: str, first_seed: int, width: int) -> None:
    repo = Repository(home)
    seed = first_seed
    while True:
        save_seeded(repo, name, seed, width)
        seed += 1


def random_kills(home: Path, kills: int, *, width: int = 64, max_delay_s: float = 0.4,
                 seed: int = 0) -> dict:
    """A process saving in a loop, SIGKILLed `kills` times at uniformly random moments."""
    rng = random.Random(seed)
    repo = Repository(home)
    checked: set[str] = set()
    left_temp = left_orphans = 0
    for kill in range(kills):
        child = _fork.Process(target=_save_forever, args=(home, "random", (kill + 1) * 100_000,
                                                          width))
        child.start()
        time.sleep(rng.uniform(0.0, max_delay_s))
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=60)
        temp, orphans = debris(repo)
        left_temp += temp > 0
        left_orphans += orphans > 0
        check_sound(repo, checked)
        repo.gc(temp_grace_s=0)                   # so each kill's debris is its own
    versions = [v.version for v in repo.store.versions("random")]
    assert versions == list(range(1, len(versions) + 1)), versions  # no number half-taken
    return {"kills": kills, "versions_saved": len(versions), "versions_checked": len(checked),
            "kills_that_left_temp_files": left_temp, "kills_that_left_unreferenced_blobs":
            left_orphans}


def _collect_forever(home) -> None:
    repo = Repository(home)
    while True:
        repo.gc()                                 # default grace: in-flight temp files stay
        time.sleep(0.02)


def concurrent_kills(home: Path, *, savers: int = 4, kills: int = 12, width: int = 64,
                     seed: int = 0, gc: bool = True) -> dict:
    """`savers` processes saving one name at once (and a gc loop), one of them SIGKILLed at a
    random moment and restarted, `kills` times; then all are killed mid-flight."""
    rng = random.Random(seed)
    spawned = [0]

    def spawn():
        spawned[0] += 1
        child = _fork.Process(target=_save_forever, args=(home, "shared",
                                                          spawned[0] * 100_000, width))
        child.start()
        return child

    running = [spawn() for _ in range(savers)]
    collector = _fork.Process(target=_collect_forever, args=(home,)) if gc else None
    if collector is not None:
        collector.start()
    start = time.monotonic()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.05, 0.4))
            slot = rng.randrange(savers)
            os.kill(running[slot].pid, signal.SIGKILL)
            running[slot].join(timeout=60)
            running[slot] = spawn()
        time.sleep(0.3)
    finally:
        for child in running + ([collector] if collector is not None else []):
            os.kill(child.pid, signal.SIGKILL)
            child.join(timeout=60)
    elapsed = time.monotonic() - start
    repo = Repository(home)
    versions = [v.version for v in repo.store.versions("shared")]
    assert versions == list(range(1, len(versions) + 1)), versions
    loaded = check_sound(repo)
    temp, orphans = debris(repo)
    set_aside = len(list(repo.blobs.set_aside_blobs()))   # by the gc killed mid-sweep
    repo.gc(temp_grace_s=0)
    assert debris(repo) == (0, 0) and not list(repo.blobs.set_aside_blobs())
    check_sound(repo)
    assert save_seeded(repo, "shared", 1, width) == f"shared:{len(versions) + 1}"
    return {"savers": savers, "gc_running": gc, "kills": kills + savers + (1 if gc else 0),
            "saver_kills_mid_run": kills, "versions_saved": len(versions),
            "versions_checked": loaded, "seconds": round(elapsed, 1),
            "temp_files_left": temp, "unreferenced_blobs_left": orphans,
            "blobs_left_set_aside_by_the_killed_gc": set_aside}


# ----- small, full and read-only file systems ------------------------------------------------------

class Unavailable(Exception):
    """This machine cannot make the file system the check needs (no root, no mount)."""


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


@contextlib.contextmanager
def small_filesystem(mountpoint: Path, size_bytes: int):
    """A file system of `size_bytes` at `mountpoint`: a tmpfs where this machine lets us mount
    one, else an ext4 image on a loop device; yields its kind.  Raises `Unavailable`."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    kind = None
    if shutil.which("mount") and _run("mount", "-t", "tmpfs", "-o", f"size={size_bytes}",
                                      "tmpfs", str(mountpoint)).returncode == 0:
        kind = "tmpfs"
    elif shutil.which("mkfs.ext4"):
        image = mountpoint.with_name(mountpoint.name + ".img")
        with image.open("wb") as out:
            out.truncate(max(size_bytes, 1 << 20))
        if (_run("mkfs.ext4", "-q", "-F", "-m", "0", str(image)).returncode == 0
                and _run("mount", "-o", "loop", str(image), str(mountpoint)).returncode == 0):
            kind = "ext4 image"
    if kind is None:
        raise Unavailable("cannot mount a small file system here (needs root and mount)")
    try:
        yield kind
    finally:
        _run("umount", "-l", str(mountpoint))


def remount(mountpoint: Path, *, read_only: bool) -> None:
    result = _run("mount", "-o", "remount," + ("ro" if read_only else "rw"), str(mountpoint))
    if result.returncode != 0:
        raise Unavailable(f"cannot remount {mountpoint}: {result.stderr.strip()}")


def as_cleanly_closed(home: Path) -> None:
    """Remove SQLite's `-shm` (and an empty `-wal`) as closing the last connection does, so a
    reader must create them itself — which it cannot on a read-only or full file system."""
    wal = home / "registry.db-wal"
    if not wal.exists() or wal.stat().st_size == 0:
        wal.unlink(missing_ok=True)
        (home / "registry.db-shm").unlink(missing_ok=True)


def fill(folder: Path) -> Path:
    """Write a filler file until the disk is full (if there is room for the file at all)."""
    filler = folder / "filler"
    try:
        with filler.open("wb") as out:
            while True:
                out.write(b"\0" * 4096)
                out.flush()
    except OSError:
        pass
    return filler


def m_command(home: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """A fresh `m` process (`python -m mlang.cli ...`) on `home`: each process starts with no
    connection and no schema check done, as `m serve NAME` on a new machine would."""
    env = dict(os.environ, M_HOME=str(home), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "mlang.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


LOAD_SCRIPT = ("import sys, torch; sys.path.insert(0, sys.argv[1]); import mlang as m; "
               "from registry_models import make_stack, outputs; "
               "x = torch.rand(2, 5); ref, seed, width = sys.argv[2], int(sys.argv[3]), "
               "int(sys.argv[4]); assert torch.equal(outputs(m.load(ref), x), "
               "outputs(make_stack(seed=seed, width=width), x)); print('loaded', ref)")


def fresh_load(home: Path, ref: str, seed: int, width: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, M_HOME=str(home), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(HERE), ref, str(seed),
                           str(width)], capture_output=True, text=True, env=env, timeout=300)


def fresh_serve(home: Path, ref: str, timeout_s: float = 180.0) -> str:
    """`m serve REF` in a fresh process until its /healthz answers (then it is stopped)."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, M_HOME=str(home), HF_HUB_OFFLINE="1")
    server = subprocess.Popen([sys.executable, "-m", "mlang.cli", "serve", ref, "--port",
                               str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise AssertionError(f"m serve {ref} exited: {server.stdout.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                    if reply.status == 200:
                        return "ok"
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"m serve {ref} did not answer /healthz in {timeout_s:.0f} s")
    finally:
        stop_process(server)


def _write_outcome(step, repo: Repository, *, must_fail: bool) -> str:
    """Run one write: it either succeeds or raises an MError about the repository and leaves
    the repository exactly as it was.  Returns "done" or the first line of the refusal."""
    before = snapshot(repo)
    try:
        step()
    except MError as error:
        assert error.field == "repository", error
        assert snapshot(repo) == before, "a failed write changed the repository"
        return error.format().splitlines()[0]
    assert not must_fail, "the write was not refused"
    return "done"


def _writes(repo: Repository, width: int, *, must_fail: bool) -> dict:
    """save, alias, rm and gc on a repository that cannot (fully) be written."""
    steps = {"save": lambda: save_seeded(repo, "m", 99, width),
             "alias": lambda: repo.set_alias("m", "staging", 1),
             "rm": lambda: repo.remove(repo.versions("m")[-1].ref),
             "gc": lambda: repo.gc()}
    return {what: _write_outcome(step, repo, must_fail=must_fail or what == "save")
            for what, step in steps.items()}


def _fresh_reads(home: Path, width: int) -> dict:
    ls, show, verify = (m_command(home, "models", *args)
                        for args in (("ls",), ("show", "m:1"), ("verify", "m@prod")))
    load = fresh_load(home, "m@prod", 1, width)
    results = {"m models ls": ls, "m models show m:1": show, "m models verify m@prod": verify,
               "load('m@prod') in a fresh process": load}
    for what, result in results.items():
        assert result.returncode == 0, (what, result.stdout, result.stderr)
    return {**{what: "ok" for what in results}, "m serve m@prod (/healthz)": fresh_serve(
        home, "m@prod")}


def _reads(home: Path) -> dict:
    """The same reads in this process, through a new repository object (a new store: no
    connection, no schema check done) — cheaper than `_fresh_reads`, same code path."""
    repo = Repository(home)
    assert [m.name for m in repo.list_models()] == ["m"]
    repo.describe("m:1")
    repo.verify("m@prod")
    check_sound(repo)
    repo.store.close()
    return {"ls, show, verify, load (this process, new repository object)": "ok"}


def full_disk(mountpoint: Path, *, size_bytes: int = 2 << 20, width: int = 64,
              concurrent_savers: int = 4, fresh: bool = True) -> dict:
    """Fill a small file system with versions until a save fails; every failed write after
    that leaves the repository as it was; reads work in fresh processes; more room → saves go on."""
    with small_filesystem(mountpoint, size_bytes) as kind:
        home = mountpoint / "home"
        repo = Repository(home)
        save_seeded(repo, "m", 1, width, alias="prod")
        saved, first_failure = 1, None
        while first_failure is None:
            before = snapshot(repo)
            try:
                save_seeded(repo, "m", saved + 1, width)
                saved += 1
            except MError as error:
                first_failure = str(error)
                assert snapshot(repo) == before, "a failed save changed the repository"
        filler = fill(mountpoint)               # the last pages too
        writes = _writes(repo, width, must_fail=False)  # a save needs room; others may fit
        children = [_fork.Process(target=_saves_that_may_fail, args=(home, i, width))
                    for i in range(concurrent_savers)]
        before = snapshot(repo)
        for child in children:
            child.start()
        for child in children:
            child.join(timeout=300)
        assert [c.exitcode for c in children] == [0] * concurrent_savers  # MError, nothing else
        assert snapshot(repo) == before
        repo.store.close()
        as_cleanly_closed(home)
        reads = _fresh_reads(home, width) if fresh else _reads(home)
        check_sound(repo)
        filler.unlink(missing_ok=True)
        if kind == "tmpfs":
            _run("mount", "-o", f"remount,size={size_bytes * 2}", str(mountpoint))
        else:                                   # an image cannot grow: make room instead
            repo.remove("m:2")
            repo.gc()
        after = save_seeded(repo, "m", 10_000, width)
        on_full = sum(v.metrics["seed"] >= 50_000 for v in repo.store.versions("m"))
        assert after == f"m:{saved + on_full + 1}", after  # no failed save took a number
        check_sound(repo)
        repo.store.close()
        return {"file_system": f"{kind}, {size_bytes // 1024} KiB", "versions_until_full": saved,
                "first_failure": first_failure.splitlines()[0],
                "writes_on_the_full_disk": writes,
                "concurrent_savers_on_full_disk": concurrent_savers,
                "their_saves_that_fit": on_full,
                "fresh_process_reads": reads, "after_more_room": after}


def filled_by_another(mountpoint: Path, *, width: int = 64, fresh: bool = True) -> dict:
    """A repository closed cleanly, then its disk filled by something else (a log, a dataset):
    no reader can create SQLite's `-shm` file, so reads open the file immutable; every write,
    even one needing no new space, is refused unchanged; once there is room, saves go on."""
    with small_filesystem(mountpoint, 4 << 20) as kind:
        home = mountpoint / "home"
        repo = Repository(home)
        save_seeded(repo, "m", 1, width, alias="prod")
        save_seeded(repo, "m", 2, width)
        repo.store.close()
        as_cleanly_closed(home)
        filler = fill(mountpoint)
        reads = _fresh_reads(home, width) if fresh else _reads(home)
        writes = _writes(Repository(home), width, must_fail=True)
        Repository(home).store.close()
        filler.unlink(missing_ok=True)
        after = save_seeded(Repository(home), "m", 3, width)
        assert after == "m:3", after
        check_sound(Repository(home))
        Repository(home).store.close()
        return {"file_system": f"{kind}, filled after a clean close", "fresh_process_reads": reads,
                "writes_refused_unchanged": writes, "after_room_is_freed": after}


def _saves_that_may_fail(home, index: int, width: int) -> None:
    """In a forked child on a full disk: three saves, each must succeed or raise an MError."""
    repo = Repository(home)
    for attempt in range(3):
        try:
            save_seeded(repo, "m", 50_000 + index * 10 + attempt, width)
        except MError as error:
            assert error.field == "repository"
    os._exit(0)


def read_only(mountpoint: Path, *, width: int = 64, fresh: bool = True) -> dict:
    """A repository whose file system is remounted read-only: reads work in fresh processes
    (no `-shm` file can be created there), every write is refused with the repository as it was."""
    with small_filesystem(mountpoint, 8 << 20) as kind:
        home = mountpoint / "home"
        repo = Repository(home)
        save_seeded(repo, "m", 1, width, alias="prod")
        save_seeded(repo, "m", 2, width)
        repo.store.close()                        # so the remount finds no file open for writing
        as_cleanly_closed(home)
        remount(mountpoint, read_only=True)
        try:
            assert not (home / "registry.db-shm").exists()
            reads = _fresh_reads(home, width) if fresh else _reads(home)
            check_sound(Repository(home))
            writes = _writes(Repository(home), width, must_fail=True)
            Repository(home).store.close()
        finally:
            remount(mountpoint, read_only=False)
        return {"file_system": f"{kind}, remounted read-only", "fresh_process_reads": reads,
                "writes_refused_unchanged": writes}
