"""Benchmark: a server that protects itself — a burst of requests at `m serve --workers 2`.

The MiniLM-L6 classifier of bench/serve.py (zoo encoder + Dense(2), one model file) is served by
`m serve FILE --workers 2` in a separate process on a loopback port, with the server's defaults
for `--max-queue` and `--timeout` unless given.  Once both workers are ready, `--burst` requests
(500) are sent at once, each on its own connection, each one real Amazon review, each client
giving up after `--client-timeout` seconds (120).  This is repeated `--rounds` times (3) on the
same server.

Reported per round: the answers by status (a server that protects itself gives only 200 and 503;
a client time-out, a refused connection or any other status counts against it), the p50/p99/max
latency of the requests answered 200, and the resident memory (RSS) of the server's processes
(the parent and its workers, read from /proc) before the burst, at its peak during it, and after
it.  Across rounds the RSS after each burst must not grow by more than `--rss-growth` (10 %)
over the first round's.

    python bench/serve_burst.py                    # ~2-4 min on 2 cores
    python bench/serve_burst.py --burst 1000 --rounds 5 --max-queue 64

Prints the figures and writes bench/results/serve_burst.json; exits 1 if a check fails.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "serve_burst.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import minilm_classifier, reviews  # noqa: E402  (bench/engine.py)
from serve import burst, free_port  # noqa: E402  (bench/serve.py: the burst client)

ACCEPTABLE = {"200", "503"}


# ----- the server's memory -------------------------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_mib(pid: int) -> float:
    """The resident memory of `pid` and its descendants, MiB."""
    total_kib = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


class Sampler(threading.Thread):
    """Samples `rss_mib(pid)` every `interval_s` until stopped; keeps the peak."""

    def __init__(self, pid: int, interval_s: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.peak, self.samples = 0.0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self.samples += 1
            self.done.wait(self.interval_s)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.peak


# ----- the server ----------------------------------------------------------------------------------

def start_server(model_file: Path, port: int, args) -> subprocess.Popen:
    """`m serve FILE --workers W` (with the given limits); returns once every worker answered."""
    import httpx

    command = [sys.executable, "-m", "mlang.cli", "serve", str(model_file), "--port", str(port),
               "--workers", str(args.workers)]
    if args.max_queue:
        command += ["--max-queue", str(args.max_queue)]
    if args.timeout:
        command += ["--timeout", str(args.timeout)]
    log = open(Path(tempfile.gettempdir()) / f"serve-burst-{port}.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    ready: set[int] = set()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"m serve exited: {Path(log.name).read_text()[-2000:]}")
        try:
            reply = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if reply.status_code == 200:
                ready.add(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["worker"])
                if len(ready) == args.workers:
                    return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"m serve's {args.workers} workers were not all ready within 600 s")


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def one_round(url: str, pid: int, texts: list[str], args) -> dict:
    before = rss_mib(pid)
    sampler = Sampler(pid)
    sampler.start()
    start = time.perf_counter()
    answers = asyncio.run(burst(url, texts, args.client_timeout))
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    time.sleep(1.0)  # batches still running end; the workers settle
    statuses: dict[str, int] = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    ok = sorted(1000 * s for status, s in answers if status == "200")
    rejected = sorted(1000 * s for status, s in answers if status == "503")
    return {"requests": len(texts), "seconds": round(seconds, 2), "statuses": statuses,
            "p50_ms_200": percentile(ok, 0.5), "p99_ms_200": percentile(ok, 0.99),
            "max_ms_200": ok[-1] if ok else None,
            "max_ms_503": rejected[-1] if rejected else None,
            "rss_mib_before": round(before, 1), "rss_mib_peak": round(max(peak, before), 1),
            "rss_mib_after": round(rss_mib(pid), 1), "rss_samples": sampler.samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=500, help="requests sent at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-queue", type=int, default=0, help="the server's --max-queue (0: its default)")
    parser.add_argument("--timeout", type=float, default=0, help="the server's --timeout (0: its default)")
    parser.add_argument("--client-timeout", type=float, default=120.0,
                        help="seconds a client waits before it counts as hung")
    parser.add_argument("--words", type=int, default=16, help="cut each review to its first N words")
    parser.add_argument("--rss-growth", type=float, default=0.10,
                        help="allowed growth of the after-burst RSS over the first round's")
    args = parser.parse_args()

    import httpx

    from mlang.engine import Engine

    os.environ["M_HOME"] = tempfile.mkdtemp(prefix="mlang-bench-burst-")
    texts = [" ".join(text.split()[:args.words]) for text in reviews(args.burst)]
    model_file = Path(os.environ["M_HOME"]) / "minilm-classifier.bin"
    Engine(device="cpu").load_model(minilm_classifier()).save_model(model_file)
    port = free_port()
    server = start_server(model_file, port, args)
    base = f"http://127.0.0.1:{port}"
    try:
        url = f"{base}/v1/models/{httpx.get(f'{base}/healthz').json()['model']}/predict"
        rounds = []
        for number in range(1, args.rounds + 1):
            rounds.append(one_round(url, server.pid, texts, args))
            print(f"round {number}: {json.dumps(rounds[-1])}", flush=True)
        health = httpx.get(f"{base}/healthz", timeout=10).status_code
    finally:
        server.terminate()
        server.wait(60)

    unacceptable = sum(count for r in rounds for status, count in r["statuses"].items()
                       if status not in ACCEPTABLE)
    first_after = rounds[0]["rss_mib_after"]
    growth = max(r["rss_mib_after"] for r in rounds) / first_after - 1
    checks = {"only 200 and 503, no hung or refused client": unacceptable == 0,
              "some requests answered 200 in every round": all(r["statuses"].get("200") for r in rounds),
              f"RSS after each burst within {args.rss_growth:.0%} of the first": growth <= args.rss_growth,
              "/healthz still 200 after the bursts": health == 200}
    summary = {"p99_ms_200_median": statistics.median(r["p99_ms_200"] for r in rounds if r["p99_ms_200"]),
               "answered_200_median": statistics.median(r["statuses"].get("200", 0) for r in rounds),
               "answered_503_median": statistics.median(r["statuses"].get("503", 0) for r in rounds),
               "rss_growth_after_first": round(growth, 4)}
    print(f"{args.burst}-request bursts × {args.rounds} on {args.workers} workers: "
          + "; ".join(f"{k} {v}" for k, v in summary.items()))
    for check, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {check}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"setting": vars(args), "cpu_count": os.cpu_count(),
                                   "rounds": rounds, "summary": summary, "checks": checks}, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
