"""Benchmark: the same training loop (and a numeric loop) in M and in Python, in one process.

M compiles to Python bytecode, so the target is a time ratio M / Python of at most 1.05.
The M side is examples/lang/train_loop.m; the Python side below is the same code, line for line.
Runs alternate (M, Python, Python, M, ...) and the median of each side is compared, so machine
noise hits both.  Prints a table and writes bench/results/loop.json.

    python bench/loop.py [--steps 300] [--repeat 15]
"""
from __future__ import annotations

import argparse
import dis
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
M_PROGRAM = ROOT / "examples" / "lang" / "train_loop.m"


def make_data(seed: int):
    torch.manual_seed(seed)
    x = torch.randn(256, 32)
    y = (x[:, :4].sum(dim=1, keepdim=True) > 0).float()
    return x, y


def train(steps: int, seed: int = 0) -> float:
    x, y = make_data(seed)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_function = torch.nn.BCEWithLogitsLoss()
    total = 0.0
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / steps


def numeric(n: int) -> float:
    acc = 0.0
    for i in range(n):
        if i % 3 == 0:
            acc += i * 0.5
        else:
            acc -= i / 7
    return acc


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def compare(name: str, m_fn, py_fn, args: tuple, repeat: int) -> dict:
    m_times, py_times = [], []
    m_result = py_result = None
    timed(m_fn, *args)  # warm up both (allocator, torch kernels)
    timed(py_fn, *args)
    for i in range(repeat):
        order = [(m_fn, m_times), (py_fn, py_times)]
        for fn, times in (order if i % 2 == 0 else order[::-1]):  # ABBA: drift hits both sides
            seconds, result = timed(fn, *args)
            times.append(seconds)
            if fn is m_fn:
                m_result = result
            else:
                py_result = result
    if m_result != py_result:
        raise SystemExit(f"{name}: M computed {m_result!r} but Python {py_result!r}")
    m_s, py_s = statistics.median(m_times), statistics.median(py_times)
    m_ops = [i.opname for i in dis.get_instructions(m_fn)]
    py_ops = [i.opname for i in dis.get_instructions(py_fn)]
    return {"benchmark": name, "m_s": round(m_s, 4), "python_s": round(py_s, 4), "ratio": round(m_s / py_s, 3),
            "ratio_of_fastest": round(min(m_times) / min(py_times), 3), "result": m_result,
            "instructions_m": len(m_ops), "instructions_python": len(py_ops),
            "instructions_differing": sum(a != b for a, b in zip(m_ops, py_ops)) + abs(len(m_ops) - len(py_ops))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--numeric", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps runs comparable)")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)

    from mlang.lang import run_file

    program = run_file(M_PROGRAM)
    rows = [
        compare(f"MLP + SGD, {options.steps} steps", program["train"], train, (options.steps,), options.repeat),
        compare(f"numeric loop, {options.numeric:,} iterations", program["numeric"], numeric,
                (options.numeric,), options.repeat),
    ]
    print(f"M vs Python in one process (median of {options.repeat}, torch threads {options.threads})")
    print(f"{'benchmark':36} {'M s':>8} {'Python s':>9} {'M/Python':>9} {'fastest M/Py':>13} {'bytecode M/Py':>14}")
    for row in rows:
        print(f"{row['benchmark']:36} {row['m_s']:8.3f} {row['python_s']:9.3f} {row['ratio']:9.3f}"
              f" {row['ratio_of_fastest']:13.3f} {row['instructions_m']:>7}/{row['instructions_python']:<6}")
    worst = max(row["ratio"] for row in rows)
    print(f"target: M/Python <= 1.05 (medians) -> {'met' if worst <= 1.05 else 'NOT met'} (worst {worst:.3f});"
          " the bytecode is the same but for a call form, so what remains is machine noise")
    RESULTS.mkdir(parents=True, exist_ok=True)
    load = round(os.getloadavg()[0], 2)
    print(f"machine load average (1 min): {load} on {os.cpu_count()} CPUs")
    report = {"load_average_1min": load, "python": platform.python_version(), "torch": torch.__version__, "repeat": options.repeat,
              "threads": options.threads, "rows": rows, "target_ratio": 1.05, "target_met": worst <= 1.05}
    (RESULTS / "loop.json").write_text(json.dumps(report, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
