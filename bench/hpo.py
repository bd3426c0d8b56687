"""Benchmark: TPE against exhaustive grid search over the same discrete space.

Task: scikit-learn's bundled handwritten digits (1,797 8x8 images as 64 features, 10 classes),
stratified 70/30 split with seed 0; the model is an M layer stack 64 → hidden → 10 with dropout,
trained by `fine_tune_model` for 2 epochs.  The space (all discrete, so a grid covers it):

    hidden ∈ {8, 16, 32, 64}, lr ∈ {1e-3, 3e-3, 1e-2, 3e-2, 1e-1},
    dropout ∈ {0.0, 0.3}, batch_size ∈ {16, 64}          → 80 configurations

Both searches run `autoTuneModel` with `same_seed=True` and the same training seed, so a
configuration scores the same in either search and the comparison is of search strategies, not
of seed luck.  The grid trains all 80 configurations; its best validation macro F1 is the target.
TPE (with several sampler seeds, at most 40 trials each) is scored by the number of trials it ran
until it first reached that score, divided by the grid's 80 trials (target ≤ 0.4).  The grid's own
first hit of its best (its order is shuffled) is reported too.

    python bench/hpo.py               # ~4 min on 2 busy cores
    python bench/hpo.py --tpe-seeds 3

Prints a table and writes bench/results/hpo.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "hpo.json"
TARGET = 0.4
TRAIN_SEED = 0


def digits_classifier(hidden: int = 32, dropout: float = 0.0):
    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel

    layers = [create_layer("Dense", (hidden,), {}), create_layer("ReLU", (), {}),
              create_layer("Dropout", (dropout,), {}), create_layer("Dense", (10,), {})]
    return LayerStackModel(layers, T.TensorType("float32", (T.Sym("B"), 64)))


def space():
    import mlang as m

    return m.define_hyperparam_space({
        "hidden": m.choice(8, 16, 32, 64),
        "lr": m.choice(1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
        "dropout": m.choice(0.0, 0.3),
        "batch_size": m.choice(16, 64),
    })


def first_reaching(trials, target: float) -> int | None:
    """1-based count of trials run until one scored at least `target` (None: never)."""
    ordered = sorted(trials, key=lambda t: t.number)
    for position, trial in enumerate(ordered, start=1):
        if trial.value is not None and trial.value >= target - 1e-12:
            return position
    return None


def tune(train, valid, sampler, trials: int, name: str):
    import mlang as m

    started = time.perf_counter()
    best = m.auto_tune_model(digits_classifier, space(), train, valid, trials=trials,
                             metric="f1", sampler=sampler, pruner=None, seed=TRAIN_SEED,
                             same_seed=True, save_as=False, study_name=name, progress=False,
                             epochs=2)
    return best.tuning, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tpe-seeds", type=int, default=5, help="TPE runs with sampler seeds 0..N-1")
    args = parser.parse_args()

    import optuna
    import torch

    import mlang as m

    torch.set_num_threads(1)  # tiny models: one thread is fastest on a shared machine
    data = m.Dataset.sklearn("digits")
    train, valid = m.split(data, 0.7, seed=0, stratify=True)
    grid_size = space().grid_size()

    grid, grid_seconds = tune(train, valid, "grid", grid_size, "grid")
    target = grid.best_value
    grid_first = first_reaching(grid.trials, target)

    # TPE gets at most half the grid's trials: not reaching the grid's best by then is a ratio
    # above 0.5, a miss either way.
    budget = grid_size // 2
    rows = []
    for sampler_seed in range(args.tpe_seeds):
        # The TPE sampler's seed differs per run; the training seed is the grid's.
        sampler = optuna.samplers.TPESampler(seed=sampler_seed)
        tpe, seconds = tune(train, valid, sampler, budget, f"tpe-{sampler_seed}")
        reached = first_reaching(tpe.trials, target)
        rows.append({"sampler_seed": sampler_seed, "trials_to_grid_best": reached,
                     "ratio": (reached / grid_size) if reached else None,
                     "best_value": tpe.best_value, "seconds": round(seconds, 1),
                     "distinct_configs": len({tuple(sorted(t.params.items())) for t in tpe.trials})})

    reached = [r["ratio"] for r in rows if r["ratio"] is not None]
    mean_ratio = statistics.mean(reached) if len(reached) == len(rows) else None
    result = {
        "task": "sklearn digits, stratified 70/30 split (seed 0), macro F1 on the 30 %",
        "model": "Dense(hidden) → ReLU → Dropout → Dense(10), 2 epochs, AdamW",
        "space_size": grid_size, "training_seed": TRAIN_SEED,
        "grid": {"trials": grid_size, "best_value": target, "best_params": grid.best_params,
                 "first_reached_best_at": grid_first, "seconds": round(grid_seconds, 1),
                 "configs_scoring_best": sum(t.value >= target - 1e-12 for t in grid.trials)},
        "tpe_budget": budget, "tpe": rows,
        "mean_ratio": mean_ratio, "target": TARGET,
        "meets_target": mean_ratio is not None and mean_ratio <= TARGET,
        "torch": torch.__version__, "optuna": optuna.__version__, "cpus": os.cpu_count(),
    }
    _print_table(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


def _print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = result["grid"]
    table = Table(title=f"TPE vs grid over {result['space_size']} configurations "
                        f"(grid best macro F1 {grid['best_value']:.4f}, reached by "
                        f"{grid['configs_scoring_best']} configuration(s))", title_justify="left")
    for column in ("search", "trials to grid's best", f"ratio to grid ({grid['trials']})", "best F1",
                   "distinct configs", "seconds"):
        table.add_column(column, justify="right")
    table.add_row("grid (exhaustive)", f"{grid['trials']} (first hit at {grid['first_reached_best_at']})",
                  "1.00", f"{grid['best_value']:.4f}", str(grid["trials"]), str(grid["seconds"]))
    for row in result["tpe"]:
        reached = row["trials_to_grid_best"]
        table.add_row(f"TPE, sampler seed {row['sampler_seed']}",
                      str(reached) if reached else f"not within {result['tpe_budget']}",
                      f"{row['ratio']:.2f}" if row["ratio"] else "—", f"{row['best_value']:.4f}",
                      str(row["distinct_configs"]), str(row["seconds"]))
    Console(width=120).print(table)
    mean = result["mean_ratio"]
    verdict = "meets" if result["meets_target"] else "misses"
    print(f"mean TPE/grid trial ratio: {'—' if mean is None else f'{mean:.2f}'} "
          f"({verdict} the target ≤ {result['target']})")


if __name__ == "__main__":
    sys.exit(main())
