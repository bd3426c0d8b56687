"""In-memory data: `Dataset.tensors(x, y)` (torch tensors) and `Dataset.arrays(x, y)` (numpy arrays).

Both take the same arguments (a tensor, an array or a nested list of numbers each), so one file
serves both names.  Example `i` is `x[i]`, any numeric shape (a 1-D `x` is one number per
example: `[N]` becomes `[N, 1]`), stored as one tensor row per example under the `x` role:
float32 for floating or bool input, int64 for integers (token ids for an `Embedding`).

`y` is optional (an input-only dataset predicts).  Its kind decides the task:

- integers or bools: class ids → `label` (classification); `dataset.labels` is `0 … max`, or
  the class names given as `labels=[...]`, which the ids index;
- strings: class names → `label`, encoded like any loader's label column (sorted, or `labels=`);
- floats: numbers → `y` (regression), `[N]` or `[N, k]`;
- `task="classification"` reads integral floats as class ids, `task="regression"` integers as
  numbers.

A wrong shape, a length mismatch, a non-numeric dtype or a NaN is an `MError` naming `x` or `y`.
`fineTuneModel(net, (x, y))` and `evaluate(net, (x, y))` come here through `as_dataset`.
"""
from __future__ import annotations

from typing import Sequence

from mlang.data.dataset import Dataset
from mlang.data.errors import data_error
# x and y are read exactly as the Keras-style `Model.fit(x, y)` reads them.
from mlang.models.keras import check_lengths, numeric_tensor

TASKS = ("classification", "regression")


def load(x, y=None, *, labels: Sequence | None = None, task: str | None = None,
         name: str | None = None) -> Dataset:
    """One example per row of `x` (with the same row of `y`, when given)."""
    import torch

    source = name or ("tensors" if torch.is_tensor(x) else "arrays")
    inputs = numeric_tensor(x, "x")
    if inputs.dim() == 1:
        inputs = inputs[:, None]
    inputs = inputs.float() if inputs.is_floating_point() or inputs.dtype == torch.bool else inputs.long()
    _check_finite(inputs, "x")
    rows = inputs.unbind(0)
    if y is None:
        if labels is not None or task is not None:
            raise data_error("labels= and task= describe y, but no y was given", field="y")
        return Dataset([{"x": row} for row in rows], input_column="x", source=source)
    if task is not None and task not in TASKS:
        raise data_error(f"task must be \"classification\" or \"regression\", got {task!r}", field="task")
    targets = _target_values(y, len(rows), labels, task, source)
    if isinstance(targets, tuple):  # class ids and their names
        ids, names = targets
        examples = [{"x": row, "label": label} for row, label in zip(rows, ids)]
        return Dataset(examples, input_column="x", target_column="label", labels=names, source=source)
    examples = [{"x": row, "y": value} for row, value in zip(rows, targets)]
    return Dataset(examples, input_column="x", target_column="y", source=source)


def as_dataset(data):
    """`data` as a Dataset when it is an in-memory `(x, y)` pair of tensors or arrays; anything
    else is returned unchanged (the caller checks it)."""
    if isinstance(data, tuple) and len(data) == 2 and all(_is_array(part) for part in data):
        return load(*data)
    return data


def _target_values(y, count: int, labels, task: str | None, source: str):
    """`(ids, names)` for class labels, or a list of numbers (or lists of numbers) per example."""
    import numpy as np

    if not _is_array(y) and not isinstance(y, (list, tuple)):
        raise data_error(f"y must be a tensor, an array or a list with one target per example, got "
                         f"{type(y).__name__}", field="y")
    if _holds_text(y):
        if task == "regression":
            raise data_error("task=\"regression\" needs numbers in y, got text", field="y")
        names = [str(v) for v in np.asarray(y).reshape(-1)] if np.asarray(y).ndim == 1 else None
        if names is None:
            raise data_error(f"y of class names must have one name per example (shape [{count}])",
                             field="y")
        check_lengths(count, len(names))
        from mlang.data.columns import encode_labels

        return encode_labels(names, labels, source, "y", lambda i: f"y[{i}]")
    targets = numeric_tensor(y, "y")
    check_lengths(count, len(targets))
    floating = targets.is_floating_point()
    _check_finite(targets, "y")
    if task == "classification" or (task is None and not floating):
        return _class_ids(targets, labels)
    if labels is not None:
        raise data_error("labels= names classes, but y holds numbers to regress on", field="labels",
                         hint="for class ids pass integers (or task=\"classification\")")
    if targets.dim() == 2 and targets.shape[1] == 1:
        targets = targets[:, 0]  # one number per example, compared with a [B] or [B, 1] output
    return targets.float().tolist()


def _class_ids(targets, labels) -> tuple[list[int], list]:
    if targets.dim() == 2 and targets.shape[1] == 1:
        targets = targets[:, 0]
    if targets.dim() != 1:
        raise data_error(f"class ids in y must be one per example (shape [{len(targets)}]), got shape "
                         f"{list(targets.shape)}", field="y",
                         hint="one-hot rows? pass y.argmax(1); several numbers per example? pass "
                              "floats or task=\"regression\"")
    values = targets.tolist()
    ids = []
    for i, value in enumerate(values):
        if value != int(value) or value < 0:
            raise data_error(f"y[{i}] is {value!r}, not a class id (an integer 0 or more)", field="y",
                             hint="class ids count from 0; for numbers to regress on pass "
                                  "task=\"regression\"")
        ids.append(int(value))
    if labels is None:
        return ids, list(range(max(ids) + 1))
    labels = list(labels)
    top = max(ids)
    if top >= len(labels):
        at = ids.index(top)
        raise data_error(f"y[{at}] is class id {top} but labels names {len(labels)} classes",
                         field="y", hint=f"labels= must list a name for every id 0 … {top}")
    return ids, labels


def _check_finite(tensor, argument: str) -> None:
    import torch

    if not tensor.is_floating_point():
        return
    bad = ~torch.isfinite(tensor.reshape(len(tensor), -1)).all(dim=1)
    if bool(bad.any()):
        row = int(bad.nonzero()[0])
        raise data_error(f"{argument}[{row}] contains NaN or infinity", field=argument,
                         hint="drop or fill missing values before building the dataset")


def _is_array(value) -> bool:
    import numpy as np
    import torch

    return torch.is_tensor(value) or isinstance(value, np.ndarray)


def _holds_text(value) -> bool:
    import numpy as np
    import torch

    if torch.is_tensor(value):
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "USO" and value.size > 0 and isinstance(value.flat[0], str)
    return bool(value) and isinstance(value[0], str)
