"""A study shared by processes and machines: PostgreSQL through psycopg 3, one seed in several
processes, a process killed mid-trial, SQLite on a network filesystem — through
`auto_tune_model`, with real processes and a real PostgreSQL where the behaviour is theirs."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from glob import glob
from pathlib import Path

import optuna
import pytest

from services import postgresql_url  # noqa: F401 - a real PostgreSQL server, shared with tests/registry

from mlang.data import Dataset, split
from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.layers import create_layer
from mlang.models.stack import LayerStackModel
from mlang.train.hpo import auto_tune_model, int_range, log_uniform
from mlang.train.hpo import tune

FAST = dict(epochs=2, batch_size=16)
SPACE = {"hidden": int_range(4, 16), "lr": log_uniform(1e-2, 1e-1)}
ROOT = Path(__file__).resolve().parents[2]


def iris_classifier(hidden: int = 8):
    layers = [create_layer("Dense", (hidden,), {}), create_layer("ReLU", (), {}),
              create_layer("Dense", (3,), {})]
    return LayerStackModel(layers, T.TensorType("float32", (T.Sym("B"), 4)))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def iris():
    return split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=True)


# A tuning program run as its own process (as on another machine): argv[1] is a JSON of
# auto_tune_model's options, plus "kill_on_build" (SIGKILL itself while building that trial's
# model, i.e. mid-trial) and "wait_for" (a file to wait for before starting: a start line).
PROGRAM = textwrap.dedent('''
    import json, os, signal, sys, time
    import torch
    from mlang.data import Dataset, split
    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel
    from mlang.train.hpo import auto_tune_model, int_range, log_uniform

    options = json.loads(sys.argv[1])
    kill_on_build, wait_for = options.pop("kill_on_build", None), options.pop("wait_for", None)
    torch.set_num_threads(1)
    train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=True)
    built = []

    def iris_classifier(hidden: int = 8):
        built.append(hidden)
        if len(built) == kill_on_build:
            os.kill(os.getpid(), signal.SIGKILL)
        layers = [create_layer("Dense", (hidden,), {}), create_layer("ReLU", (), {}),
                  create_layer("Dense", (3,), {})]
        return LayerStackModel(layers, T.TensorType("float32", (T.Sym("B"), 4)))

    if wait_for:
        open(wait_for + "." + str(os.getpid()), "w").close()  # ready, waiting for the start
        while not os.path.exists(wait_for):
            time.sleep(0.01)
    space = {"hidden": int_range(4, 16), "lr": log_uniform(1e-2, 1e-1)}
    best = auto_tune_model(iris_classifier, space, train, valid, save_as=False, pruner=None,
                           epochs=2, batch_size=16, **options)
    print(json.dumps({"pid": os.getpid(), "finished": best.tuning.finished}))
''')


def start_program(tmp_path: Path, **options) -> subprocess.Popen:
    program = tmp_path / "tune_program.py"
    program.write_text(PROGRAM)
    return subprocess.Popen([sys.executable, str(program), json.dumps(options)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))


def test_the_documented_postgresql_url_works_with_psycopg_3_and_workers_share_it(iris, postgresql_url):
    train, valid = iris
    assert tune.database_url(postgresql_url).startswith("postgresql+psycopg://")
    options = dict(storage=postgresql_url, study_name="net-v2", seed=0, pruner=None, save_as=False, **FAST)
    first = auto_tune_model(iris_classifier, SPACE, train, valid, trials=2, **options).tuning
    assert first.finished == 2 and first.storage == postgresql_url
    # Two worker processes (each with its own connection) continue the same study to 6 trials.
    more = auto_tune_model(iris_classifier, SPACE, train, valid, trials=6, workers=2, **options).tuning
    assert more.finished == 6 and more.count("fail") == 0
    study = optuna.load_study(study_name="net-v2", storage=tune.database_url(postgresql_url))
    assert len({t.user_attrs["worker"] for t in study.trials[2:]}) == 2
    assert len({(t.params["hidden"], t.params["lr"]) for t in study.trials}) == 6


def test_without_psycopg_the_error_names_the_storage_and_the_package_to_install(iris, monkeypatch):
    train, valid = iris
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed: importing it fails
    with pytest.raises(MError) as raised:
        auto_tune_model(iris_classifier, SPACE, train, valid, trials=1, save_as=False,
                        storage="postgresql://tuner@127.0.0.1:9/studies", **FAST)
    assert raised.value.field == "storage"
    assert "the database driver for 'postgresql+psycopg' is not installed (no module named 'psycopg')" in str(raised.value)
    assert "pip install 'psycopg[binary]'" in raised.value.diagnostics[0].hint


def test_storage_urls_name_psycopg_3_unless_they_name_a_driver():
    assert tune.database_url("postgresql://tuner@db-host/studies") == "postgresql+psycopg://tuner@db-host/studies"
    assert tune.database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert tune.database_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert tune.database_url("sqlite:///study.db") == "sqlite:///study.db"


# ----- one seed, several processes -------------------------------------------------------------

def test_processes_sharing_a_study_and_a_seed_draw_different_trials(tmp_path):
    """Two processes (as two machines) start at the same moment on one study with seed=0: every
    trial has parameters of its own (with one random state per seed, they proposed the same ones)."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    start = tmp_path / "start"
    processes = [start_program(tmp_path, trials=10, storage=storage, study_name="shared-seed", seed=0,
                               wait_for=str(start)) for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while len(glob(f"{start}.*")) < 2 and time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), processes[0].stderr.read()
            time.sleep(0.05)
        start.touch()  # both are ready: go
        outputs = [p.communicate(timeout=240) for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert all(p.returncode == 0 for p in processes), [err for _, err in outputs]
    trials = optuna.load_study(study_name="shared-seed", storage=storage).trials
    assert len([t for t in trials if t.state.name == "COMPLETE"]) >= 10
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both processes ran trials
    drawn = [(t.params["hidden"], t.params["lr"]) for t in trials]
    assert len(set(drawn)) == len(drawn), drawn
    # ...and the draws are still reproducible: trial n's sampler seed depends on the seed and n only.
    assert tune.trial_seed(0, 3) == tune.trial_seed(0, 3) != tune.trial_seed(0, 4) != tune.trial_seed(1, 4)


# ----- a process killed mid-trial --------------------------------------------------------------

def test_a_trial_left_running_by_a_killed_process_is_failed_and_retried(tmp_path):
    """A process is SIGKILLed while its second trial runs; the trial stays RUNNING.  The next
    process on the study (a re-run, or another machine) finds its heartbeat stale, fails it and
    runs it again with the same parameters."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    options = dict(trials=3, storage=storage, study_name="killed", seed=0, heartbeat_s=1)
    victim = start_program(tmp_path, kill_on_build=2, **options)
    _, err = victim.communicate(timeout=240)
    killed_at = time.monotonic()
    assert victim.returncode == -signal.SIGKILL, err
    left = optuna.load_study(study_name="killed", storage=storage).trials
    assert [t.state.name for t in left] == ["COMPLETE", "RUNNING"]
    time.sleep(max(0.0, 4 * 1 + 0.5 - (time.monotonic() - killed_at)))  # 4 heartbeats without one
    survivor = start_program(tmp_path, **options)
    out, err = survivor.communicate(timeout=240)
    assert survivor.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["finished"] == 3
    trials = optuna.load_study(study_name="killed", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    retried = trials[2]
    assert retried.system_attrs["failed_trial"] == 1 and retried.params == trials[1].params


def test_a_worker_killed_mid_trial_is_replaced_and_its_trial_retried(iris, tmp_path):
    """workers=2: one worker process is SIGKILLed while building its first trial's model.  The
    parent fails that trial at once, queues it again, and starts a worker for what was left."""
    train, valid = iris
    marker = tmp_path / "killed-one"

    def sometimes_killed(hidden: int = 8):
        try:
            marker.open("x").close()  # the first worker to get here, once
        except FileExistsError:
            return iris_classifier(hidden)
        os.kill(os.getpid(), signal.SIGKILL)

    journal = tmp_path / "study.journal"
    with pytest.warns(UserWarning, match=r"tuning worker .* died \(killed by SIGKILL\); its running trial "
                                         r"is queued again and a new worker runs its 2 remaining trial\(s\)"):
        best = auto_tune_model(sometimes_killed, SPACE, train, valid, trials=4, workers=2, seed=0,
                               storage=f"journal:{journal}", study_name="w", pruner=None,
                               save_as=False, **FAST)
    assert best.tuning.finished == 4
    study = optuna.load_study(study_name="w", storage=tune.open_storage(f"journal:{journal}"))
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert len(failed) == 1
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE" and retried[0].params == failed[0].params
    assert not [t for t in study.trials if t.state.name == "RUNNING"]


# ----- SQLite on a network filesystem ----------------------------------------------------------

def write_mounts(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(["sysfs /sys sysfs rw,nosuid 0 0", "overlay / overlay rw,relatime 0 0", *lines]) + "\n")
    return path


def test_sqlite_storage_on_a_network_filesystem_warns(iris, tmp_path, monkeypatch):
    train, valid = iris
    shared = tmp_path / "shared dir"
    shared.mkdir()
    escaped = str(shared).replace(" ", "\\040")  # how /proc/mounts writes a space
    monkeypatch.setattr(tune, "PROC_MOUNTS", str(write_mounts(
        tmp_path / "mounts", f"fileserver:/export/studies {escaped} nfs4 rw,relatime,vers=4.2 0 0")))
    with pytest.warns(UserWarning, match=r"SQLite file .*study\.db is on a network filesystem \(nfs4 mounted "
                                         r"at .*shared dir\).*postgresql://") as caught:
        auto_tune_model(iris_classifier, SPACE, train, valid, trials=1, save_as=False,
                        storage=f"sqlite:///{shared / 'study.db'}", **FAST)
    assert len([w for w in caught if "network filesystem" in str(w.message)]) == 1


def test_sqlite_storage_on_a_local_disk_does_not_warn(iris, tmp_path):
    train, valid = iris
    assert tune.network_filesystem(tmp_path) is None  # the real /proc/mounts: a local filesystem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto_tune_model(iris_classifier, SPACE, train, valid, trials=1, save_as=False,
                        storage=f"sqlite:///{tmp_path / 'study.db'}", **FAST)
    assert not [w for w in caught if "network filesystem" in str(w.message)]


def test_the_mount_holding_a_path_is_the_longest_mount_point_above_it(tmp_path):
    mounts = write_mounts(tmp_path / "mounts", "srv:/a /mnt/nfs nfs rw 0 0", "tmpfs /mnt/nfs/local tmpfs rw 0 0",
                          "//srv/share /mnt/smb cifs rw 0 0", "me@host:/ /mnt/ssh fuse.sshfs rw 0 0")
    assert tune.network_filesystem("/mnt/nfs/x/study.db", mounts) == ("nfs", "/mnt/nfs")
    assert tune.network_filesystem("/mnt/nfs/local/study.db", mounts) is None  # a local mount inside it
    assert tune.network_filesystem("/mnt/smb/study.db", mounts) == ("cifs", "/mnt/smb")
    assert tune.network_filesystem("/mnt/ssh/s.db", mounts) == ("fuse.sshfs", "/mnt/ssh")
    assert tune.network_filesystem("/mnt/nfsx/study.db", mounts) is None  # not under /mnt/nfs
