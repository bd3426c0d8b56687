"""Evaluation metrics, computed with numpy from predictions and references.

Classification: accuracy, precision / recall / F1 (`f1` is the macro average; `f1_binary`,
`f1_micro`, `f1_weighted` and the same suffixes for precision and recall), confusion matrix.
Regression / forecasting: MSE, MAE, RMSE, R².  Extractive QA: exact match and token F1 (SQuAD's
answer normalization; for a QA model `f1` means token F1).  Values match scikit-learn's.
"""
from __future__ import annotations

import collections
import re
import string
from dataclasses import dataclass
from typing import Callable

from mlang.data.errors import data_error


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable  # (predictions, references, num_classes) -> float | list
    greater_is_better: bool
    kind: str  # "classification" | "regression" | "qa"


# -- classification -------------------------------------------------------------------------------
def confusion_matrix(pred, true, num_classes: int):
    """`[true class][predicted class]` counts."""
    import numpy as np

    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(pred)), 1)
    return matrix


def accuracy(pred, true, num_classes=None) -> float:
    import numpy as np

    pred, true = np.asarray(pred), np.asarray(true)
    return float((pred == true).mean()) if len(true) else 0.0


def _per_class(pred, true, num_classes: int):
    import numpy as np

    matrix = confusion_matrix(pred, true, num_classes)
    tp = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    actual = matrix.sum(axis=1).astype(float)
    return tp, predicted, actual


def _ratio(numerator, denominator):
    import numpy as np

    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _averaged(score: str, average: str) -> Callable:
    """precision / recall / f1 with scikit-learn's averaging (zero where undefined)."""
    def compute(pred, true, num_classes):
        import numpy as np

        tp, predicted, actual = _per_class(pred, true, num_classes)
        if average == "micro":
            tp, predicted, actual = tp.sum(keepdims=True), predicted.sum(keepdims=True), actual.sum(keepdims=True)
        elif average == "binary":
            if num_classes > 2:
                raise data_error(f"{score}_binary needs two classes, the data has {num_classes}",
                             field="metrics", hint=f"use {score} (macro) or {score}_micro")
            positive = slice(1, 2)
            tp, predicted, actual = tp[positive], predicted[positive], actual[positive]
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        if score == "precision":
            values = precision
        elif score == "recall":
            values = recall
        else:
            values = _ratio(2 * tp, predicted + actual)
        if average == "weighted":
            present = actual.sum()
            return float((values * actual).sum() / present) if present else 0.0
        if average == "macro":
            # scikit-learn averages over the classes that occur in the references or predictions.
            seen = (predicted + actual) > 0
            return float(values[seen].mean()) if seen.any() else 0.0
        return float(values[0])
    return compute


# -- regression -----------------------------------------------------------------------------------
def mse(pred, true, num_classes=None) -> float:
    import numpy as np

    return float(np.mean((np.asarray(pred, float) - np.asarray(true, float)) ** 2))


def mae(pred, true, num_classes=None) -> float:
    import numpy as np

    return float(np.mean(np.abs(np.asarray(pred, float) - np.asarray(true, float))))


def rmse(pred, true, num_classes=None) -> float:
    return mse(pred, true) ** 0.5


def r2(pred, true, num_classes=None) -> float:
    import numpy as np

    pred, true = np.asarray(pred, float), np.asarray(true, float)
    residual = float(((true - pred) ** 2).sum())
    total = float(((true - true.mean()) ** 2).sum())
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


# -- extractive question answering ----------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD's normalization: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _token_f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _best_over_gold(score: Callable) -> Callable:
    """Mean over questions of the best score against any gold answer ("" when unanswerable)."""
    def compute(predictions, references, num_classes=None):
        if not predictions:
            return 0.0
        total = 0.0
        for prediction, answers in zip(predictions, references):
            golds = answers["text"] if answers["text"] else [""]
            total += max(score(prediction, gold) for gold in golds)
        return total / len(predictions)
    return compute


exact_match = _best_over_gold(lambda p, g: float(normalize_answer(p) == normalize_answer(g)))
token_f1 = _best_over_gold(_token_f1)


def _build() -> dict[str, Metric]:
    table = {
        "accuracy": Metric("accuracy", accuracy, True, "classification"),
        "confusion_matrix": Metric("confusion_matrix",
                                   lambda p, t, k: confusion_matrix(p, t, k).tolist(), True,
                                   "classification"),
        "mse": Metric("mse", mse, False, "regression"),
        "mae": Metric("mae", mae, False, "regression"),
        "rmse": Metric("rmse", rmse, False, "regression"),
        "r2": Metric("r2", r2, True, "regression"),
        "exact_match": Metric("exact_match", exact_match, True, "qa"),
        "token_f1": Metric("token_f1", token_f1, True, "qa"),
    }
    for score in ("precision", "recall", "f1"):
        table[score] = Metric(score, _averaged(score, "macro"), True, "classification")
        for average in ("macro", "micro", "binary", "weighted"):
            name = f"{score}_{average}"
            table[name] = Metric(name, _averaged(score, average), True, "classification")
    return table


METRICS = _build()
# Validation loss, computed by `evaluate` itself (not from predictions).
LOSS = Metric("loss", lambda *_: None, False, "any")

DEFAULT_METRICS = {
    "classification": ["accuracy", "f1"],
    "regression": ["mse", "mae", "rmse", "r2"],
    "forecast": ["mse", "mae", "rmse", "r2"],
    "qa": ["exact_match", "f1"],
}


def task_kind(task: str | None) -> str:
    """The metric family of a task (forecasting is scored as regression)."""
    return {"forecast": "regression", "qa": "qa"}.get(task, task or "classification")


def resolve_metric(name: str, task: str | None) -> Metric:
    """The metric called `name` for a task (`f1` of a QA model is token F1)."""
    kind = task_kind(task)
    if name == "loss":
        return LOSS
    if kind == "qa" and name == "f1":
        return Metric("f1", token_f1, True, "qa")
    metric = METRICS.get(name)
    if metric is None:
        import difflib

        close = difflib.get_close_matches(name, list(METRICS), n=1)
        raise data_error(f"unknown metric {name!r}", field="metrics",
                     hint=f"did you mean {close[0]!r}?" if close else
                     "known: " + ", ".join(sorted(METRICS)))
    if metric.kind != kind:
        raise data_error(f"metric {name!r} scores {metric.kind}, but the model does {task or kind}",
                     field="metrics", hint="use one of " + ", ".join(DEFAULT_METRICS.get(task or kind, [])))
    return metric
