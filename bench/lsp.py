"""Benchmark: the language server re-checking a 2,000-line document after an edit (target ≤ 100 ms).

Two measures, each for this tree's code and for a baseline commit's (by default the front end
before issue 13's rework, checked out with `git worktree add` into a temporary folder: this
tree's branch is never switched), in interleaved rounds on the same machine:

- analysis: `Analysis(edited_text, file, fallback=previous)`, the function the server runs on
  each change — parse, check, scopes — timed (wall and CPU) in a process of its own per tree and
  round, after one warm-up analysis (the first loads every stage's checker plugins);
- server: the real `m lsp` over stdio, an editor's `didChange` (one character changed in the
  middle of the document) until `publishDiagnostics` for it arrives, less the server's pause
  before it re-checks (`CHANGE_DELAY_S`, 0.25 s: the server waits for typing to pause).

Medians of each round's edits, then the median over rounds, and the ratio new / baseline.
Prints a table and writes bench/results/lsp.json.

    python bench/lsp.py [--lines 2000] [--rounds 3] [--edits 8] [--baseline REV | --baseline-tree DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "lsp"))
from check import BASELINE, baseline_tree, generate, remove_tree  # noqa: E402 - bench/check.py's program and baseline


def document(lines: int) -> str:
    return generate(lines)  # the generated program of bench/check.py, here 2,000 lines


def edits(source: str, count: int) -> list[str]:
    """`count` versions of `source`, each one character away from the one before (a number in a
    line near the middle, as typing changes it)."""
    lines = source.split("\n")
    middle = next(i for i in range(len(lines) // 2, len(lines)) if "total = 0.0" in lines[i])
    versions = []
    for n in range(count):
        lines[middle] = lines[middle].replace("total = 0.", "total = 1.") if n % 2 == 0 else \
            lines[middle].replace("total = 1.", "total = 0.")
        versions.append("\n".join(lines))
    return versions


# ------------------------------------------------------------------- worker (one tree, one round)

def analysis_worker(tree: Path, lines: int, count: int) -> None:
    sys.path.insert(0, str(tree / "src"))
    from mlang.lsp.analysis import Analysis

    source = document(lines)
    path = str(Path(tempfile.mkdtemp(prefix="m-bench-lsp-")) / "doc.m")
    previous = Analysis(source, path)  # warm-up: loads the stages' checker plugins
    if previous.module is None or any(d.severity == "error" for d in previous.diagnostics):
        raise SystemExit(f"the generated document should check clean: {previous.diagnostics[:1]}")
    times = []
    for text in edits(source, count):
        start, cpu = time.perf_counter(), time.process_time()
        previous = Analysis(text, path, fallback=previous)
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    print(json.dumps(times))


def server_times(tree: Path, lines: int, count: int) -> tuple[list[float], float]:
    """didChange → publishDiagnostics of each edit, through the real server of `tree`, and that
    server's pause before re-checking."""
    from lsp_client import LspClient

    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    delay = float(subprocess.run([sys.executable, "-c", "from mlang.lsp.server import CHANGE_DELAY_S as d; print(d)"],
                                 env=env, capture_output=True, text=True, check=True).stdout)
    folder = Path(tempfile.mkdtemp(prefix="m-bench-lsp-"))
    source = document(lines)
    uri = (folder / "doc.m").as_uri()
    client = LspClient([sys.executable, "-m", "mlang.lsp.server"], env=env)
    try:
        client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=300)
        client.notify("initialized", {})
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "m", "version": 1,
                                                                "text": source}})
        if client.diagnostics(uri, timeout=300):
            raise SystemExit("the generated document should check clean in the server")
        times = []
        for version, text in enumerate(edits(source, count), start=2):
            start = time.perf_counter()
            client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                     "contentChanges": [{"text": text}]})
            client.diagnostics(uri, timeout=300)
            times.append(time.perf_counter() - start - delay)
    finally:
        client.close()
    return times, delay


def analysis_times(tree: Path, lines: int, count: int) -> list[list[float]]:
    done = subprocess.run([sys.executable, __file__, "--worker", str(tree), "--lines", str(lines),
                           "--edits", str(count)], capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"the analysis worker for {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with (a git worktree of it)")
    parser.add_argument("--baseline-tree", help="a checkout of the baseline to use instead of making one")
    parser.add_argument("--no-server", action="store_true", help="only the analysis function")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        analysis_worker(Path(options.worker), options.lines, options.edits)
        return

    tree = Path(options.baseline_tree) if options.baseline_tree else baseline_tree(options.baseline)
    trees = {"this tree": ROOT, f"baseline {options.baseline_tree or options.baseline}": tree}
    made = not options.baseline_tree
    measures = ["analysis", "analysis CPU"] + ([] if options.no_server else ["server"])
    rounds = {measure: {name: [] for name in trees} for measure in measures}
    delay = None
    try:
        for _ in range(options.rounds):  # interleaved: each round runs both trees, in turn
            for name, tree in trees.items():
                times = analysis_times(tree, options.lines, options.edits)
                rounds["analysis"][name].append(statistics.median(wall for wall, _ in times))
                rounds["analysis CPU"][name].append(statistics.median(cpu for _, cpu in times))
                if not options.no_server:
                    times, delay = server_times(tree, options.lines, options.edits)
                    rounds["server"][name].append(statistics.median(times))
    finally:
        if made:
            remove_tree(tree)

    new, old = list(trees)
    print(f"re-checking a {options.lines}-line document after a one-character edit "
          f"(median of {options.edits} edits, median of {options.rounds} rounds)")
    print(f"{'measure':52} {new:>12} {old[:22]:>22} {'ratio':>7}")
    results = {}
    for measure in measures:
        a, b = statistics.median(rounds[measure][new]), statistics.median(rounds[measure][old])
        label = {"analysis": "Analysis(text, fallback=previous), in process",
                 "analysis CPU": "  the same, CPU time of the process",
                 "server": f"didChange → publishDiagnostics, less the {delay} s pause"}[measure]
        print(f"{label:52} {a * 1000:10.1f} ms {b * 1000:20.1f} ms {a / b:7.2f}")
        results[measure] = {"this_tree_ms": round(a * 1000, 2), "baseline_ms": round(b * 1000, 2),
                            "ratio": round(a / b, 3), "rounds_this_tree_ms": [round(x * 1000, 2) for x in rounds[measure][new]],
                            "rounds_baseline_ms": [round(x * 1000, 2) for x in rounds[measure][old]]}
    worst = max(results[m]["this_tree_ms"] for m in measures)
    cpu = results["analysis CPU"]["this_tree_ms"]
    verdict = "met" if worst <= 100 else ("met in CPU time" if cpu <= 100 else "NOT met")
    print(f"target: re-checked within 100 ms of a pause in typing -> {verdict} "
          f"(slowest measure {worst:.1f} ms, analysis CPU {cpu:.1f} ms)")
    load = round(os.getloadavg()[0], 2)
    print(f"machine load average (1 min): {load} on {os.cpu_count()} CPUs — other work slows every figure")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"lines": options.lines, "edits": options.edits, "rounds": options.rounds, "baseline": old,
              "change_delay_s": delay, "load_average_1min": load, "python": platform.python_version(),
              "machine": platform.machine(), "results": results, "target_ms": 100, "target_met": worst <= 100,
              "target_met_cpu": cpu <= 100}
    (RESULTS / "lsp.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
