"""Benchmark: what the model repository's guarantees cost, against writing the same model as one
plain safetensors file.

In one run, interleaved so machine load hits both alike (median of `--repeats`):

1. a MiniLM-L6 classifier (TextEncoder + Dense(2), ~90 MB of weights): `Repository.save` (dump,
   safetensors, sha256 of every file, fsync + rename, one SQLite transaction) and
   `Repository.load` (re-hash every file, restore) against `save_model_file` / `read_model_file`
   (the same dump + safetensors in one file, no hashing, no fsync, no metadata);
2. a small layer stack (5 → 64 → 3): saves per second, the same comparison — here the fixed cost
   of a version (fsyncs, the transaction) dominates;
3. 8 processes saving one name at once: total wall time for 8 × `--saves` versions.

    python bench/registry.py                 # ~1-2 min on 2 cores
    python bench/registry.py --repeats 5

Prints a table and writes bench/results/registry.json.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "registry.json"


def classifier():
    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel

    return LayerStackModel([create_layer("TextEncoder", ("minilm-l6",), {}),
                            create_layer("Dense", (2,), {})], T.TEXT).eval()


def small_stack(seed: int = 0):
    import torch

    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel

    torch.manual_seed(seed)
    return LayerStackModel([create_layer("Dense", (64,), {}), create_layer("ReLU", (), {}),
                            create_layer("Dense", (3,), {})],
                           T.TensorType("float32", (T.Sym("B"), 5))).eval()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(model, name: str, repeats: int, workdir: Path) -> dict:
    """Median seconds of save and load, repository vs one plain safetensors file."""
    from mlang.models.modelfile import read_model_file, save_model_file
    from mlang.registry import Repository

    repo = Repository(workdir / f"home-{name}")
    times = {"repo_save": [], "file_save": [], "repo_load": [], "file_load": []}
    for i in range(repeats):
        path = workdir / f"{name}-{i}.safetensors"
        # Change one weight so every repository save writes new weight bytes (no dedup shortcut).
        with __import__("torch").no_grad():
            next(model.parameters()).view(-1)[0] += 1e-3
        times["file_save"].append(timed(lambda: save_model_file(model, str(path))))
        ref = {}
        times["repo_save"].append(timed(lambda: ref.setdefault("r", repo.save(model, name))))
        times["file_load"].append(timed(lambda: read_model_file(path)))
        times["repo_load"].append(timed(lambda: repo.load(ref["r"])))
    median = {key: statistics.median(values) for key, values in times.items()}
    median["save_ratio"] = median["repo_save"] / median["file_save"]
    median["load_ratio"] = median["repo_load"] / median["file_load"]
    median["bytes"] = repo.resolve(name).size
    return median


def _writer(home: str, index: int, saves: int, barrier) -> None:
    from mlang.registry import Repository

    repo, model = Repository(home), small_stack(index)
    barrier.wait()
    for _ in range(saves):
        repo.save(model, "shared")


def concurrent(saves: int, workdir: Path) -> dict:
    from mlang.registry import Repository

    home = str(workdir / "home-concurrent")
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(9)
    workers = [context.Process(target=_writer, args=(home, i, saves, barrier)) for i in range(8)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - start
    versions = Repository(home).versions("shared")
    return {"processes": 8, "saves": 8 * saves, "versions": len(versions),
            "distinct": len({v.version for v in versions}), "seconds": seconds,
            "saves_per_s": 8 * saves / seconds,
            "exit_codes": sorted({w.exitcode for w in workers})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--small-repeats", type=int, default=30)
    parser.add_argument("--saves", type=int, default=10, help="saves per process (part 3)")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        big = compare(classifier(), "minilm", args.repeats, workdir)
        small = compare(small_stack(), "small", args.small_repeats, workdir)
        many = concurrent(args.saves, workdir)

    table = Table(title="model repository vs one plain safetensors file (median seconds)")
    for column in ("model", "size", "repo save", "file save", "ratio", "repo load", "file load",
                   "ratio"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for label, row in (("MiniLM classifier", big), ("small stack", small)):
        table.add_row(label, f"{row['bytes'] / 1e6:.1f} MB" if row["bytes"] > 1e6 else f"{row['bytes']} B",
                      f"{row['repo_save']:.4f}", f"{row['file_save']:.4f}", f"{row['save_ratio']:.2f}×",
                      f"{row['repo_load']:.4f}", f"{row['file_load']:.4f}", f"{row['load_ratio']:.2f}×")
    console = Console(width=110)
    console.print(table)
    console.print(f"8 processes × {args.saves} saves of one name: {many['versions']} versions "
                  f"({many['distinct']} distinct) in {many['seconds']:.2f} s = "
                  f"{many['saves_per_s']:.1f} saves/s; exit codes {many['exit_codes']}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"minilm_classifier": big, "small_stack": small,
                                   "concurrent": many, "args": vars(args)}, indent=2) + "\n")
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
