"""`m serve --workers N`: one port, N processes, the cores divided among them, /metrics adding
up every worker's counts in every scrape."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mlang.serve.options import available_cores


def fresh(method: str, url: str, **kwargs) -> httpx.Response:
    """A request on a new connection, so the kernel may hand it to either worker."""
    with httpx.Client(timeout=30) as client:
        return client.request(method, url, **kwargs)


def test_workers_share_one_port_divide_the_cores_and_every_scrape_counts_all_of_them(tiny_model, tmp_path):
    from mlang.engine.engine import Engine

    model_file = Engine(device="cpu").load_model(tiny_model).save_model(tmp_path / "tiny.bin")
    m = Path(sys.executable).with_name("m")
    process = subprocess.Popen([str(m), "serve", str(model_file), "--port", "0", "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = process.stdout.readline()  # "serving ... on http://127.0.0.1:PORT with 2 workers (N threads each)"
        url = re.search(r"http://[\d.]+:\d+", banner)[0]
        threads = int(re.search(r"\((\d+) threads each\)", banner)[1])
        assert threads == max(1, available_cores() // 2)
        workers: dict[int, int] = {}  # pid → its torch threads, as its /healthz says
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            try:
                if fresh("GET", f"{url}/readyz").status_code == 200:
                    health = fresh("GET", f"{url}/healthz").json()
                    workers[health["worker"]] = health["num_threads"]
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        assert len(workers) == 2, f"only {len(workers)} worker answered: {process.stderr.read() if process.poll() else ''}"
        assert all(n == threads for n in workers.values())
        assert sum(workers.values()) <= available_cores()  # workers × threads ≤ cores

        for _ in range(12):
            assert fresh("POST", f"{url}/v1/models/tiny/predict", json={"inputs": [[0.5] * 8]}).status_code == 200
        answered_by = set()
        for _ in range(60):  # scrape until both workers have answered a scrape
            text = fresh("GET", f"{url}/metrics").text
            answered_by.add(int(re.search(r"^# answered by worker process (\d+)$", text, re.MULTILINE)[1]))
            assert 'mlang_requests_total{model="tiny",code="200"} 12' in text  # all 12, whoever answers
            assert 'mlang_examples_total{model="tiny"} 12' in text
            assert 'mlang_workers{model="tiny"} 2' in text
            if len(answered_by) == 2:
                break
        assert answered_by == set(workers)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, process.stderr.read()
        assert not list(Path("/tmp").glob(f"mlang-serve-metrics-*/worker-{min(workers)}.json"))
    finally:
        process.kill()
        process.wait()
