"""Benchmark: `m check` on a generated 10,000-line M program (target: under 1 s).

Reports the front end in-process (parse, check, both; best of several runs) and whole
processes: `m check FILE` as installed, and the same check in a process that imports only the
front end (what `m check` costs once `import mlang` no longer imports every stage eagerly).
Prints a table and writes bench/results/check.json.

    python bench/check.py [--lines 10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

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


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


FRONT_END_ONLY = """
import sys, types
package = types.ModuleType("mlang")
package.__path__ = [{src!r}]
package.__version__ = "0"
sys.modules["mlang"] = package
from mlang.lang import api
diagnostics = api.check_file({path!r})
sys.exit(1 if diagnostics else 0)
"""


def process_time(command: list[str], repeat: int) -> float:
    def once():
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{command[:3]} failed:\n{done.stderr[-2000:]}")
    return best(once, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    from mlang.lang import api
    from mlang.lang.checker import check_module
    from mlang.lang.parser import parse

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
    both_s = best(lambda: check_module(parse(source, str(path))), options.repeat)
    m_check_s = process_time([sys.executable, "-m", "mlang", "check", str(path)], options.repeat)
    front_s = process_time([sys.executable, "-c", FRONT_END_ONLY.format(src=str(ROOT / "src" / "mlang"),
                                                                        path=str(path))], options.repeat)
    empty = folder / "empty.m"
    empty.write_text("x = 1\n")
    startup_s = process_time([sys.executable, "-m", "mlang", "check", str(empty)], options.repeat)

    rows = [
        ("parse (in process)", parse_s),
        ("check of the parsed AST (in process)", check_s),
        ("parse + check (in process)", both_s),
        ("`m check` whole process", m_check_s),
        ("`m check` of a 1-line file (startup)", startup_s),
        ("front end alone, whole process", front_s),
    ]
    print(f"m check on a generated program of {n_lines} lines (best of {options.repeat})")
    print(f"{'measure':42} {'seconds':>8}")
    for name, seconds in rows:
        print(f"{name:42} {seconds:8.3f}")
    print(f"target: parse + check under 1 s -> {'met' if both_s < 1.0 else 'NOT met'} ({both_s:.3f} s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"lines": n_lines, "repeat": options.repeat, "python": platform.python_version(),
              "machine": platform.machine(), "seconds": {name: round(s, 4) for name, s in rows},
              "target_s": 1.0, "target_met": both_s < 1.0}
    (RESULTS / "check.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
