"""`evaluate(model, data, metrics=[...])` and `predict(model, data)`.

The model runs in eval mode under `torch.inference_mode`, on the device its parameters are on,
over length-bucketed batches (the results are put back in the data's order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from mlang.data.errors import data_error
from mlang.train import tasks
from mlang.train.metrics import DEFAULT_METRICS, resolve_metric, task_kind
from mlang.train.report import EvaluationReport


@dataclass
class Outputs:
    """A model's outputs over a dataset, in the dataset's order."""

    predictions: list           # class ids, numbers, or answer texts
    scores: Any = None          # class probabilities [N, C] (classification)
    loss: float | None = None   # mean loss, when the data has targets


def evaluate(model, data, metrics: Sequence[str] | None = None, batch_size: int = 32) -> EvaluationReport:
    """Score `model` on `data`: `metrics` default to the task's usual ones.

    Classification: accuracy, f1 (macro), precision/recall/f1 with _binary/_micro/_weighted,
    confusion_matrix; regression/forecast: mse, mae, rmse, r2; QA: exact_match, f1 (token F1);
    any task: loss.
    """
    return _evaluate(model, data, metrics, batch_size, run_model)


def evaluate_across_ranks(model, data, metrics: Sequence[str] | None = None,
                          batch_size: int = 32) -> EvaluationReport:
    """`evaluate`, with the model run by every rank of the training group on its own share of
    `data` (a contiguous slice, no padding); the outputs are gathered, so every rank computes the
    same metrics over the whole data: the single-process figures up to float rounding (the loss
    is summed in another order, and batches are padded differently).  Every rank must call it,
    as fineTuneModel's validation does; outside a group it is `evaluate`."""
    return _evaluate(model, data, metrics, batch_size, run_model_across_ranks)


def _evaluate(model, data, metrics, batch_size: int, run) -> EvaluationReport:
    from mlang.data.transforms import with_model_transforms

    # A model evaluated on transformed images, with no input pipeline yet, takes theirs.
    dataset = with_model_transforms(_as_dataset(data), model, record="missing")
    task = tasks.task_of(model, dataset)
    names = list(metrics) if metrics is not None else DEFAULT_METRICS[task]
    if isinstance(metrics, str):
        names = [metrics]
    resolved = [resolve_metric(name, task) for name in names]
    if dataset.target_column is None:
        raise data_error("evaluate needs data with targets (a label=, target= or answers column)",
                     field="data")
    outputs = run(model, dataset, batch_size, task, with_loss="loss" in names)
    predictions = _in_data_label_order(model, dataset, outputs.predictions, task)
    references = dataset.targets()
    num_classes = _num_classes(dataset, predictions, references, task)
    values = {}
    for metric in resolved:
        if metric.name == "loss":
            values["loss"] = outputs.loss
        else:
            values[metric.name] = metric.compute(predictions, references, num_classes)
    return EvaluationReport(values, task=task, count=len(dataset), labels=dataset.labels,
                            model=type(model).__name__, data=dataset.source)


def predict(model, data, batch_size: int = 32, output: str = "labels") -> list:
    """The model's predictions for a Dataset, a list of raw inputs, or one raw input.

    Classification gives class names (`output="ids"` for ids, `"probabilities"` for each
    class's probability); regression numbers; QA answer texts.
    """
    raw_inputs = not _is_dataset(data)  # a Dataset names its classes; raw inputs do not
    if _is_input_batch(model, data):
        from mlang.data import Dataset

        data = Dataset.tensors(data)  # a [N, ...] tensor or array: N inputs
    single = not isinstance(data, (list, tuple)) and not _is_dataset(data)
    dataset = _as_dataset([data] if single else data)
    task = tasks.task_of(model, dataset)
    if task == "classification" and output not in ("labels", "ids", "probabilities"):
        raise data_error(f"unknown output {output!r} (use \"labels\", \"ids\" or \"probabilities\")",
                     field="output")
    names = getattr(model, "labels", None) or dataset.labels
    if task == "classification" and output == "labels" and not names and raw_inputs:
        raise data_error("the model has no class names to predict (model.labels is not set)",
                     field="labels",
                     hint="set them from the data it was trained on: model.labels = train_data.labels "
                          "(fineTuneModel does this), or ask for class ids: output=\"ids\"")
    outputs = run_model(model, dataset, batch_size, task, with_loss=False)
    if task == "classification":
        if output == "probabilities":
            result = outputs.scores.tolist()
        elif output == "ids":
            result = list(outputs.predictions)
        else:
            result = [names[i] if names else i for i in outputs.predictions]
    else:
        result = list(outputs.predictions)
    return result[0] if single else result


def run_model(model, dataset, batch_size: int, task: str, with_loss: bool) -> Outputs:
    """Run the model over every batch and gather its outputs in the dataset's order (a dataset
    without image transforms of its own through the model's input transforms)."""
    import torch

    from mlang.data.transforms import with_model_transforms
    from mlang.train.precision import autocast, device_of

    dataset = with_model_transforms(dataset, model)
    device = device_of(model)
    was_training = model.training
    model.eval()
    gathered, order, loss_sum = [], [], None
    try:
        with torch.inference_mode(), autocast(device, "auto"):
            for batch in dataset.batches(batch_size, model=model, bucket=True):
                batch.to(device)
                output = tasks.call_model(model, batch.inputs)
                if with_loss and batch.targets is not None:
                    batch_loss = tasks.loss(task, output, batch.targets).float() * len(batch)
                    loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
                gathered.append(_batch_predictions(task, output, batch))
                order.extend(batch.indices)
    finally:
        model.train(was_training)
    loss = float(loss_sum) / len(dataset) if loss_sum is not None else None
    return _assemble(task, gathered, order, loss)


def run_model_across_ranks(model, dataset, batch_size: int, task: str, with_loss: bool) -> Outputs:
    """`run_model` over this rank's slice of `dataset`, the slices of all ranks gathered back into
    the dataset's order on every rank (see `evaluate_across_ranks`)."""
    from mlang.train import distributed

    ranks = distributed.group_size()
    if ranks == 1:
        return run_model(model, dataset, batch_size, task, with_loss)
    count, me = len(dataset), distributed.rank()
    mine = dataset[count * me // ranks:count * (me + 1) // ranks]
    share = (len(mine), run_model(model, mine, batch_size, task, with_loss)) if len(mine) else None
    parts = [part for part in distributed.gather_from_ranks(share) if part is not None]
    return _joined(task, parts, count)


def _joined(task: str, parts: list, count: int) -> Outputs:
    """One `Outputs` from consecutive slices' `(size, Outputs)`, in order."""
    import torch

    predictions = [p for _, part in parts for p in part.predictions]
    scores = (torch.cat([part.scores for _, part in parts])
              if task == "classification" else None)
    losses = [(n, part.loss) for n, part in parts]
    loss = (sum(n * value for n, value in losses) / count
            if losses and all(value is not None for _, value in losses) else None)
    return Outputs(predictions, scores=scores, loss=loss)


def _batch_predictions(task: str, output, batch):
    if task == "classification":
        return tasks.logits(output).float()
    if task in ("regression", "forecast"):
        return tasks.regression_output(output).float()
    return tasks.decode_spans(output, batch)


def _assemble(task: str, gathered: list, order: list[int], loss) -> Outputs:
    import torch

    position = sorted(range(len(order)), key=order.__getitem__)
    if task == "qa":
        flat = [answer for answers in gathered for answer in answers]
        return Outputs([flat[i] for i in position], loss=loss)
    values = torch.cat(gathered).cpu()[torch.tensor(position, dtype=torch.long)]
    if task == "classification":
        scores = values.softmax(dim=-1)
        return Outputs(values.argmax(dim=-1).tolist(), scores=scores, loss=loss)
    return Outputs(values.tolist(), loss=loss)


def _in_data_label_order(model, dataset, predictions: list, task: str) -> list:
    """Model class ids → the data's class ids, when both name their classes in different orders."""
    model_labels = getattr(model, "labels", None)
    if task != "classification" or not model_labels or dataset.labels is None:
        return predictions
    model_labels, data_labels = list(model_labels), list(dataset.labels)
    if model_labels == data_labels:
        return predictions
    if {str(x) for x in model_labels} != {str(x) for x in data_labels}:
        raise data_error(f"the model's labels {model_labels} differ from the data's {data_labels}",
                     field="labels", hint="load the data with labels=model.labels")
    position = {str(name): i for i, name in enumerate(data_labels)}
    return [position[str(model_labels[p])] for p in predictions]


def _num_classes(dataset, predictions, references, task: str) -> int | None:
    if task_kind(task) != "classification":
        return None
    known = len(dataset.labels) if dataset.labels is not None else 0
    return max([known, *(p + 1 for p in predictions), *(r + 1 for r in references)])


def _is_dataset(data) -> bool:
    from mlang.data import Dataset

    return isinstance(data, Dataset)


def _is_input_batch(model, data) -> bool:
    """Is `data` a tensor or array holding a batch of inputs (rank = the model's input rank)?
    (Images are given as a list: an array of one image has the rank of a batch of rows.)"""
    import numpy as np
    import torch

    if not (torch.is_tensor(data) or isinstance(data, np.ndarray)):
        return False
    from mlang.lang import types as T

    declared = getattr(model, "input_type", None)
    if isinstance(declared, T.TensorType) and declared.dims is not None:
        return data.ndim == len(declared.dims)
    return False


def _as_dataset(data):
    """A Dataset as is; an `(x, y)` pair of tensors / arrays as an in-memory dataset; a list of raw
    inputs as an input-only dataset."""
    from mlang.data import Dataset
    from mlang.data.loaders.arrays import as_dataset

    data = as_dataset(data)
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (list, tuple)):
        if data and isinstance(data[0], tuple) and len(data[0]) == 2:
            examples = [{"question": q, "context": c} for q, c in data]
            return Dataset(examples, input_column="question")
        return Dataset([{"input": value} for value in data], input_column="input")
    raise data_error(f"expected a Dataset or a list of inputs, got {type(data).__name__}", field="data")
