"""Benchmark: `m check` on a generated 10,000-line M program (target: under 1 s).

The target is the whole `m check FILE` process, start to exit, as a user times it.  Also
reported: the front end in process (parse, check, both) and `m check` of a 1-line file (the
fixed cost of starting).  Wall and CPU time, best of several runs (on a shared machine CPU time
is the steadier figure).  The whole process is also timed for a baseline commit's code (by
default the front end before issue 13's rework, checked out with `git worktree add` into a
temporary folder: this tree's branch is never switched), its runs interleaved with this tree's,
and the ratio new / baseline printed (`--no-baseline` skips it).  Python's bytecode for `mlang`
is compiled first, as an installed package has it (this matters where PYTHONDONTWRITEBYTECODE is
set: every process would compile the sources again).  Prints a table and writes bench/results/check.json.

    python bench/check.py [--lines 10000] [--repeat 5] [--baseline REV | --baseline-tree DIR | --no-baseline]
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BASELINE = "b26b286"  # the front end before issue 13 (one parser, the lexer for tools, one analysis)

UNIT = '''// unit {i}: a function, a loop, branches, collections, a model declaration
func score{i}(values: List[float], weight: float = 0.5, *, bias: float = 0.0) -> float {{
    total = 0.0
    for index, value in enumerate(values) {{
        if value > weight and index % 2 == 0 {{
            total += value * weight + bias
        }} else if value < 0 {{
            total -= abs(value)
        }} else {{
            continue
        }}
    }}
    return total
}}
config{i} = {{lr: 0.001 * {j}, layers: [16, 32], name: f"unit-{{ {i} }}"}}
metamodel Block{i} {{
    input: Tensor[float32, B, 8]
    width: int = {j} + 4
    Dense(width)
    ReLU()
}}
results{i} = [score{i}([x * 0.5 for x in range(4)], weight=0.25, bias=config{i}["lr"]) for _ in range(2)]
print(f"unit {i}:", sum(results{i}), sorted(config{i}))
'''


def generate(lines: int) -> str:
    parts, count, i = [], 0, 0
    while count < lines:
        text = UNIT.format(i=i, j=i % 7 + 1)
        parts.append(text)
        count += text.count("\n")
        i += 1
    return "".join(parts)


def best(fn, repeat: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the fastest of `repeat` runs; CPU time counts child processes."""
    runs = []
    for _ in range(repeat):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        runs.append((wall, cpu))
    return min(runs)


def process_time(command: list[str], repeat: int, env: dict | None = None) -> tuple[float, float]:
    def once():
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"{command[:3]} failed:\n{done.stderr[-2000:]}")
    return best(once, repeat)


def baseline_tree(revision: str) -> Path:
    """A checkout of `revision` in a temporary folder (`git worktree add`; the caller removes it)."""
    folder = Path(tempfile.mkdtemp(prefix="m-bench-baseline-")) / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision],
                   check=True, capture_output=True)
    return folder


def remove_tree(folder: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], capture_output=True)


def interleaved(trees: dict[str, Path], path: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """The whole `m check` process of each tree's code (its `src` first on the path), one run of
    each in turn, `repeat` rounds; the best run of each."""
    runs: dict[str, list] = {name: [] for name in trees}
    for tree in trees.values():
        compileall.compile_dir(str(tree / "src" / "mlang"), quiet=1)
    for _ in range(repeat):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree / "src")}
            runs[name].append(process_time([sys.executable, "-m", "mlang", "check", str(path)], 1, env))
    return {name: min(times) for name, times in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with (a git worktree of it)")
    parser.add_argument("--baseline-tree", help="a checkout of the baseline to use instead of making one")
    parser.add_argument("--no-baseline", action="store_true", help="only this tree's figures")
    options = parser.parse_args()

    from mlang.lang import api
    from mlang.lang import parser as parser_module
    from mlang.lang.checker import check_module

    def parse(text: str, filename: str):
        """A parse from scratch: the tree kept from the last parse of the same file is dropped
        (`m check` parses each file once; the language server's re-parse is bench/lsp.py's)."""
        parser_module._RECENT.pop(filename, None)
        return parser_module.parse(text, filename)

    compileall.compile_dir(str(ROOT / "src" / "mlang"), quiet=1)
    source = generate(options.lines)
    folder = Path(tempfile.mkdtemp(prefix="m-bench-check-"))
    path = folder / "generated.m"
    path.write_text(source)
    n_lines = source.count("\n")

    diagnostics = api.check_file(path)
    if diagnostics:
        raise SystemExit("the generated program should check clean:\n" + diagnostics[0].format())
    module = parse(source, str(path))
    parse_s = best(lambda: parse(source, str(path)), options.repeat)
    check_s = best(lambda: check_module(module), options.repeat)
    own_check_s = best(lambda: check_module(module, plugins=False), options.repeat)
    both_s = best(lambda: check_module(parse(source, str(path))), options.repeat)
    m_check_s = process_time([sys.executable, "-m", "mlang", "check", str(path)], options.repeat)
    empty = folder / "empty.m"
    empty.write_text("x = 1\n")
    startup_s = process_time([sys.executable, "-m", "mlang", "check", str(empty)], options.repeat)

    rows = [
        ("`m check` whole process", m_check_s),
        ("`m check` of a 1-line file (startup)", startup_s),
        ("parse + check (in process)", both_s),
        ("parse (in process)", parse_s),
        ("check of the parsed AST (in process)", check_s),
        ("  of which the front end's own checks", own_check_s),
    ]
    print(f"m check on a generated program of {n_lines} lines (best of {options.repeat})")
    print(f"{'measure':42} {'wall s':>8} {'CPU s':>8}")
    for name, (wall, cpu) in rows:
        print(f"{name:42} {wall:8.3f} {cpu:8.3f}")
    compared = None
    if not options.no_baseline:
        tree = Path(options.baseline_tree) if options.baseline_tree else baseline_tree(options.baseline)
        old_name = f"baseline {options.baseline_tree or options.baseline}"
        try:
            compared = interleaved({"this tree": ROOT, old_name: tree}, path, options.repeat)
        finally:
            if not options.baseline_tree:
                remove_tree(tree)
        (new_wall, new_cpu), (old_wall, old_cpu) = compared["this tree"], compared[old_name]
        print(f"`m check` whole process, {options.repeat} interleaved rounds: this tree {new_wall:.3f} s wall "
              f"{new_cpu:.3f} s CPU, {old_name} {old_wall:.3f} s wall {old_cpu:.3f} s CPU; "
              f"ratio {new_wall / old_wall:.2f} wall, {new_cpu / old_cpu:.2f} CPU")
    wall, cpu = m_check_s
    verdict = "met" if wall < 1.0 else ("met in CPU time" if cpu < 1.0 else "NOT met")
    print(f"target: `m check` of the whole program under 1 s -> {verdict} (wall {wall:.3f} s, CPU {cpu:.3f} s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    load = round(os.getloadavg()[0], 2)
    print(f"machine load average (1 min): {load} on {os.cpu_count()} CPUs — other work slows every figure")
    report = {"load_average_1min": load, "lines": n_lines, "repeat": options.repeat, "python": platform.python_version(),
              "machine": platform.machine(),
              "seconds": {name: {"wall": round(w, 4), "cpu": round(c, 4)} for name, (w, c) in rows},
              "target_s": 1.0, "target_met_wall": m_check_s[0] < 1.0, "target_met_cpu": m_check_s[1] < 1.0}
    if compared is not None:
        report["vs_baseline"] = {name: {"wall": round(w, 4), "cpu": round(c, 4)} for name, (w, c) in compared.items()}
    (RESULTS / "check.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
