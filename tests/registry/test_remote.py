"""A registry shared by machines: metadata in a real PostgreSQL (`M_REGISTRY`), artifact bytes in a
real S3-compatible object store (SeaweedFS, `M_ARTIFACTS=s3://…`) or a shared `file://` folder.
"Machines" are separate processes with separate `M_HOME`s."""
import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import torch

from mlang.lang.diagnostics import MError
from mlang.registry import Repository
from mlang.registry.blobs import LocalArtifactStore, sha256_of
from mlang.registry.postgres_store import PostgresStore

from registry_models import make_stack, outputs
from services import free_port, stop_process

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def s3_store(s3_env, monkeypatch):
    from mlang.registry.s3 import S3ArtifactStore

    for key, value in s3_env.items():
        monkeypatch.setenv(key, value)
    return S3ArtifactStore("models", f"t-{uuid.uuid4().hex[:10]}")


# ----- configuration -----------------------------------------------------------------------------

def test_the_environment_chooses_the_stores(tmp_path, monkeypatch, postgres_registry_url):
    monkeypatch.setenv("M_REGISTRY", postgres_registry_url)
    monkeypatch.setenv("M_ARTIFACTS", (tmp_path / "shared").as_uri())
    repo = Repository(tmp_path / "home")
    assert isinstance(repo.store, PostgresStore)
    assert isinstance(repo.blobs, LocalArtifactStore)
    assert repo.blobs.root == tmp_path / "shared" / "sha256"
    monkeypatch.setenv("M_ARTIFACTS", "s3://models/team/a")
    assert Repository(tmp_path / "home").blobs.location == "s3://models/team/a"


@pytest.mark.parametrize("variable, value, says", [
    ("M_REGISTRY", "mysql://db/models", "'mysql':// is not a registry M knows"),
    ("M_ARTIFACTS", "gs://bucket/x", "'gs':// is not an artifact store M knows"),
    ("M_ARTIFACTS", "file://otherhost/x", "is not a local path"),
    ("M_ARTIFACTS", "s3:///prefix", "names no bucket"),
])
def test_a_bad_setting_is_an_merror_naming_the_variable(tmp_path, monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    with pytest.raises(MError, match=says) as raised:
        Repository(tmp_path / "home")
    assert raised.value.field == variable and raised.value.diagnostics[0].hint


def test_an_unreachable_postgresql_is_an_merror_naming_m_registry(tmp_path, stack):
    repo = Repository(tmp_path / "home", store=PostgresStore(
        f"postgresql://nobody:secret@127.0.0.1:{free_port()}/models"))
    with pytest.raises(MError, match="cannot reach the model registry") as raised:
        repo.save(stack, "m")
    assert raised.value.field == "M_REGISTRY" and "secret" not in str(raised.value)
    assert not list(repo.blobs.list())  # refused before any file was written
    with pytest.raises(MError) as raised:
        repo.list_models()
    assert raised.value.field == "M_REGISTRY"


def test_reads_never_create_the_schema_in_postgresql(postgres_registry_url):
    import psycopg

    store = PostgresStore(postgres_registry_url)
    assert store.names() == [] and store.versions("m") == [] and store.get_version("m", 1) is None
    with psycopg.connect(postgres_registry_url) as connection:
        assert connection.execute("SELECT to_regclass('versions')").fetchone()[0] is None
    store.close()


def test_a_damaged_postgresql_row_is_reported_not_raised(tmp_path, postgres_registry_url, stack):
    import psycopg

    repo = Repository(tmp_path / "home", store=PostgresStore(postgres_registry_url))
    repo.save(stack, "m")
    repo.save(stack, "m")
    with psycopg.connect(postgres_registry_url) as connection:
        connection.execute("UPDATE versions SET metrics = '{oops' WHERE version = 2")
    damaged = []
    assert [r.version for r in repo.versions("m", damaged=damaged)] == [1]
    assert [e.field for e in damaged] == ["metrics"] and "m:2" in str(damaged[0])
    with pytest.raises(MError, match="damaged") as raised:
        repo.load("m:2")
    assert raised.value.field == "metrics"
    repo.remove("m:2", force=True)
    repo.store.close()


def test_a_postgresql_row_pointed_at_other_weights_is_refused(tmp_path, postgres_registry_url):
    import psycopg

    repo = Repository(tmp_path / "home", store=PostgresStore(postgres_registry_url))
    repo.save(make_stack(seed=1), "a")
    repo.save(make_stack(seed=2), "b")
    with psycopg.connect(postgres_registry_url) as connection:
        connection.execute("UPDATE version_files SET sha256 = (SELECT sha256 FROM version_files "
                           "WHERE name = 'b' AND path = 'weights.safetensors') WHERE name = 'a' "
                           "AND path = 'weights.safetensors'")
    with pytest.raises(MError, match="is not what was saved") as raised:
        repo.load("a:1")
    assert raised.value.field == "record_sha256"
    with pytest.raises(MError, match=r"no model named 'c' in the repository postgresql\+psycopg://m@127\.0\.0\.1"):
        repo.load("c")  # the message names where the metadata is, not the local M_HOME
    repo.store.close()


# ----- S3 (SeaweedFS) ----------------------------------------------------------------------------

def test_s3_artifact_store_put_get_exists_list_remove(s3_store):
    data = b"weights" * 1000
    created = []
    sha = s3_store.put(data, created)
    assert sha == sha256_of(data) and created == [sha]
    assert s3_store.put(data, created) == sha and created == [sha]  # stored once
    assert s3_store.exists(sha) and s3_store.get(sha) == data
    assert list(s3_store.list()) == [(sha, len(data))]
    s3_store.set_aside(sha)
    assert not s3_store.exists(sha) and s3_store.get(sha) == data  # readable while set aside
    assert list(s3_store.set_aside_blobs()) == [sha] and list(s3_store.list()) == []
    s3_store.put_back(sha)
    assert s3_store.exists(sha) and list(s3_store.set_aside_blobs()) == []
    s3_store.remove(sha)
    assert not s3_store.exists(sha) and list(s3_store.list()) == []
    with pytest.raises(FileNotFoundError):
        s3_store.get(sha)


def test_every_byte_read_from_s3_is_verified(tmp_path, s3_store, stack):
    repo = Repository(tmp_path / "home", artifacts=s3_store)
    repo.save(stack, "m")
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("m"), x), outputs(stack, x))
    weights = repo.store.get_version("m", 1).file("weights.safetensors")
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=s3_store.key(weights.sha256),
                               Body=b"not the weights")
    with pytest.raises(MError, match="was modified") as raised:
        repo.load("m")
    assert raised.value.field == "weights.safetensors"
    assert f"s3://models/{s3_store.prefix}/sha256/" in str(raised.value)
    repo.save(stack, "m")  # saving again repairs the object
    assert torch.equal(outputs(repo.load("m:1"), x), outputs(stack, x))


def test_gc_on_s3_deletes_only_unreferenced_objects(tmp_path, s3_store):
    repo = Repository(tmp_path / "home", artifacts=s3_store)
    repo.save(make_stack(seed=1), "m")
    repo.save(make_stack(seed=2), "m")
    before = dict(s3_store.list())
    repo.remove("m:1")
    report = repo.gc()
    assert report.removed_blobs >= 1 and len(dict(s3_store.list())) == len(before) - report.removed_blobs
    assert list(s3_store.set_aside_blobs()) == []
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("m:2"), x), outputs(make_stack(seed=2), x))


def test_an_unreachable_s3_is_an_merror_naming_m_artifacts(tmp_path, monkeypatch, stack):
    from mlang.registry.s3 import S3ArtifactStore

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed: pip install -e '.[dev]'")
    from botocore.config import Config

    store = S3ArtifactStore("models", "x", client=boto3.client("s3", config=Config(
        connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})))
    repo = Repository(tmp_path / "home", artifacts=store)
    with pytest.raises(MError, match="artifact store s3://models/x cannot be used") as raised:
        repo.save(stack, "m")
    assert raised.value.field == "M_ARTIFACTS" and raised.value.diagnostics[0].hint
    assert repo.store.names() == []


# ----- two machines ------------------------------------------------------------------------------

SAVER = textwrap.dedent('''
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import torch
    torch.set_num_threads(1)
    import mlang as m
    from registry_models import make_stack
    machine, count, start = sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    while not start.exists():
        time.sleep(0.01)
    refs = []
    began = time.perf_counter()
    for i in range(count):
        seed = (1000 if machine == "A" else 2000) + i
        refs.append([m.save(make_stack(seed=seed), "shared", metrics={"seed": seed},
                            tags={"machine": machine}), seed])
    print(json.dumps({"refs": refs, "seconds": time.perf_counter() - began}))
''')

LOADER = textwrap.dedent('''
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import torch
    import mlang as m
    from registry_models import make_stack, outputs
    torch.manual_seed(0)
    x = torch.rand(4, 5)
    same = []
    for ref, seed in json.loads(sys.argv[2]):
        same.append(bool(torch.equal(outputs(m.load(ref), x), outputs(make_stack(seed=seed), x))))
    print(json.dumps(same))
''')


def _machine_env(home: Path, registry: str, artifacts: str, s3_env: dict) -> dict:
    return {**os.environ, **s3_env, "M_HOME": str(home), "M_REGISTRY": registry,
            "M_ARTIFACTS": artifacts, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}


def _predict(env: dict, ref: str, rows: list, timeout_s: float = 180.0) -> list:
    """`m serve REF` on the given machine; its answer to one predict request."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlang.cli", "serve", ref, "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if server.poll() is not None:
                raise AssertionError(f"m serve {ref} exited: {server.stdout.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"m serve {ref} was not ready in {timeout_s:.0f} s")
                time.sleep(0.5)
        name = ref.split(":")[0].split("@")[0]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models/{name}/predict",
            data=json.dumps({"inputs": rows}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read())
    finally:
        stop_process(server)


def _two_machines(tmp_path: Path, registry: str, artifacts: str, s3_env: dict, count: int = 20):
    start = tmp_path / "start"
    machines = {}
    for machine in "AB":
        env = _machine_env(tmp_path / f"home-{machine}", registry, artifacts, s3_env)
        machines[machine] = (env, subprocess.Popen(
            [sys.executable, "-c", SAVER, str(HERE), machine, str(count), str(start)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    time.sleep(0.5)
    start.touch()
    results = {}
    for machine, (env, process) in machines.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        results[machine] = json.loads(out.strip().splitlines()[-1])
    return {m: env for m, (env, _) in machines.items()}, results


def test_two_machines_share_a_postgresql_registry_and_an_s3_bucket(tmp_path, postgres_registry_url,
                                                                  s3_env):
    artifacts = f"s3://models/two-{uuid.uuid4().hex[:8]}"
    envs, results = _two_machines(tmp_path, postgres_registry_url, artifacts, s3_env)
    refs = results["A"]["refs"] + results["B"]["refs"]
    numbers = [int(ref.split(":")[1]) for ref, _ in refs]
    assert len(numbers) == 40 and sorted(numbers) == list(range(1, 41))  # 40 distinct, no gap
    # The homes are separate: neither machine wrote metadata or artifacts locally.
    for machine in "AB":
        home = tmp_path / f"home-{machine}"
        assert not (home / "registry.db").exists() and not (home / "artifacts").exists()
    # Machine B loads every version A saved, with identical outputs...
    loaded = subprocess.run([sys.executable, "-c", LOADER, str(HERE), json.dumps(results["A"]["refs"])],
                            env=envs["B"], capture_output=True, text=True, timeout=600)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == [True] * 20
    # ...and serves one, answering as A's model does.
    ref, seed = results["A"]["refs"][-1]
    rows = torch.rand(3, 5).tolist()
    answer = _predict(envs["B"], ref, rows)
    expected = outputs(make_stack(seed=seed), torch.tensor(rows))
    served = torch.tensor(answer["outputs"] if isinstance(answer, dict) else answer)
    assert torch.allclose(served, expected, atol=1e-6), (answer, expected)
    figures = {"A_seconds": results["A"]["seconds"], "B_seconds": results["B"]["seconds"]}
    print("two machines:", figures)


def test_two_machines_share_a_file_url(tmp_path, postgres_registry_url):
    shared = (tmp_path / "shared").as_uri()
    envs, results = _two_machines(tmp_path, postgres_registry_url, shared, {}, count=5)
    numbers = sorted(int(ref.split(":")[1]) for ref, _ in results["A"]["refs"] + results["B"]["refs"])
    assert numbers == list(range(1, 11))
    loaded = subprocess.run([sys.executable, "-c", LOADER, str(HERE), json.dumps(results["A"]["refs"])],
                            env=envs["B"], capture_output=True, text=True, timeout=600)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == [True] * 5


def test_gc_running_beside_savers_never_takes_a_file_a_postgresql_version_uses(tmp_path, s3_store,
                                                                              postgres_registry_url):
    import threading

    store = PostgresStore(postgres_registry_url)
    repo = Repository(tmp_path / "home", store=store, artifacts=s3_store)
    saved, errors, stop = [], [], threading.Event()
    # Built here: make_stack seeds torch's global generator, which threads would share.
    models = {seed: make_stack(seed=seed) for base in (100, 200) for seed in range(base, base + 6)}

    def saver(base):
        try:
            for seed in range(base, base + 6):
                saved.append((repo.save(models[seed], "g"), seed))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def collector():
        while not stop.is_set():
            repo.gc(temp_grace_s=0)

    savers = [threading.Thread(target=saver, args=(base,)) for base in (100, 200)]
    gc_thread = threading.Thread(target=collector)
    gc_thread.start()
    for thread in savers:
        thread.start()
    for thread in savers:
        thread.join()
    stop.set()
    gc_thread.join()
    assert not errors, errors
    assert sorted(int(ref.split(":")[1]) for ref, _ in saved) == list(range(1, 13))
    x = torch.rand(2, 5)
    for ref, seed in saved:
        assert torch.equal(outputs(repo.load(ref), x), outputs(make_stack(seed=seed), x)), ref
    store.close()


# ----- SIGKILL mid-save (the fault run's first three parts, bench/registry_faults.py --remote) ------

@pytest.mark.slow
def test_savers_sigkilled_mid_save_on_postgresql_and_s3_never_expose_a_partial_version(
        tmp_path, postgres_server_url, s3_env):
    import faults
    from services import new_database

    # Each run asserts as it goes (tests/registry/faults.py): every visible version loads equal
    # to the model it names, numbers are distinct and gapless, gc leaves no debris.
    runs = {"steps": lambda home: faults.step_kills(home),
            "random": lambda home: faults.random_kills(home, kills=6, max_delay_s=2.0),
            "shared": lambda home: faults.concurrent_kills(home, savers=3, kills=6)}
    prefix = f"faults-{uuid.uuid4().hex[:8]}"
    for name, run in runs.items():
        with faults.remote_stores(new_database(postgres_server_url, name), s3_env,
                                  prefix=f"{prefix}/{name}") as stores:
            figures = run(tmp_path / name)
            repo = Repository(tmp_path / name)  # what the runs used: PostgreSQL and the bucket
            assert isinstance(repo.store, PostgresStore), repo.store
            assert repo.blobs.location == stores["M_ARTIFACTS"] and next(repo.blobs.blobs(), None)
            assert repo.store.names() == [name] and figures["kills"] >= 6, figures
            repo.store.close()
        assert not (tmp_path / name / "registry.db").exists()  # nothing went to a local SQLite
