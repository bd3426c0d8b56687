"""`TrainingHistory`: what happened during fine-tuning, epoch by epoch, plottable to PNG."""
from __future__ import annotations

import json
from pathlib import Path

from mlang.data.errors import data_error


class TrainingHistory:
    """Per-epoch records (`train_loss`, validation metrics, `lr`, `seconds`) and logged step losses.

    `history["train_loss"]` is that value over the epochs; `best_epoch` / `best_metric` name the
    checkpoint that was kept when validating.
    """

    def __init__(self, metric: str | None = None):
        self.metric = metric
        self.epochs: list[dict] = []
        self.steps: list[dict] = []
        self.best_epoch: int | None = None
        self.best_metric: float | None = None
        self.stopped_early = False

    def __getitem__(self, key: str) -> list:
        return [record.get(key) for record in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict:
        return {"metric": self.metric, "best_epoch": self.best_epoch,
                "best_metric": self.best_metric, "stopped_early": self.stopped_early,
                "epochs": self.epochs, "steps": self.steps}

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def __repr__(self) -> str:
        best = f", best epoch {self.best_epoch} ({self.metric}={self.best_metric:.4f})" \
            if self.best_epoch is not None else ""
        return f"TrainingHistory({len(self.epochs)} epochs{best})"

    def plot(self, path: str | Path = "history.png") -> str:
        """Training loss per logged step and validation metrics per epoch, saved as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if not self.epochs and not self.steps:
            raise data_error("the training history is empty: nothing to plot", field="history")
        validation = sorted({k for r in self.epochs for k in r if k.startswith("valid_")})
        figure, axes = plt.subplots(1, 2 if validation else 1, figsize=(11 if validation else 6, 4),
                                    squeeze=False)
        loss_axis = axes[0][0]
        if self.steps:
            loss_axis.plot([s["step"] for s in self.steps], [s["loss"] for s in self.steps],
                           label="train loss (logged steps)", alpha=0.7)
        loss_axis.plot([r["step"] for r in self.epochs], self["train_loss"], "o-",
                       label="train loss (epoch mean)")
        loss_axis.set_xlabel("optimizer step")
        loss_axis.set_ylabel("loss")
        loss_axis.legend()
        if validation:
            metric_axis = axes[0][1]
            for key in validation:
                metric_axis.plot(self["epoch"], self[key], "o-", label=key)
            if self.best_epoch is not None:
                metric_axis.axvline(self.best_epoch, color="grey", linestyle="--", label="best")
            metric_axis.set_xlabel("epoch")
            metric_axis.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return str(path)


def plot_history(history, path: str = "history.png") -> str:
    """Save a model's (or a history's) training curves as a PNG; returns the path."""
    record = getattr(history, "history", history)
    if not isinstance(record, TrainingHistory):
        raise data_error("plotHistory expects a fine-tuned model or its history", field="history")
    return record.plot(path)
