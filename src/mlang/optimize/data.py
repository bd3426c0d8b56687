"""Feeding data to a model being optimized: calibration, distillation and evaluation all read
batches the same way, whatever form the data comes in.

Accepted forms: an M `Dataset` (anything with `.batches(batch_size, model=…)`), a tensor of inputs,
a dict of input tensors, a list of raw examples (texts, images) for a model with `preprocess`,
a list of `(inputs, target)` pairs, or any iterable of batches such as a torch `DataLoader`
(each batch a tensor, a dict, or an `(inputs, targets)` pair).
"""
from __future__ import annotations

from typing import Any, Iterator

from mlang.lang.diagnostics import MError


def iterate_batches(model, data, batch_size: int = 32) -> Iterator[tuple[Any, Any]]:
    """Yield `(inputs, targets)` batches; `targets` is None when the data has none."""
    import torch

    if data is None:
        raise MError("no data given", field="data", hint="pass a dataset or a list of inputs")
    if hasattr(data, "batches"):
        for batch in data.batches(batch_size, model=model):
            yield batch.inputs, getattr(batch, "targets", None)
        return
    if isinstance(data, torch.Tensor):
        for start in range(0, len(data), batch_size):
            yield data[start:start + batch_size], None
        return
    if isinstance(data, dict):
        yield data, None
        return
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        inputs, targets = data
        for start in range(0, len(inputs), batch_size):
            yield inputs[start:start + batch_size], targets[start:start + batch_size]
        return
    if isinstance(data, list):
        if data and _is_pair(data[0]):
            for start in range(0, len(data), batch_size):
                chunk = data[start:start + batch_size]
                yield _collate([x for x, _ in chunk]), _collate([y for _, y in chunk])
            return
        for start in range(0, len(data), batch_size):
            yield _collate(data[start:start + batch_size]), None
        return
    try:
        iterator = iter(data)
    except TypeError:
        raise MError(f"cannot read batches from a {type(data).__name__}", field="data",
                     hint="pass a Dataset, a tensor, a list of inputs or a DataLoader") from None
    for batch in iterator:
        if isinstance(batch, (tuple, list)) and len(batch) == 2:
            yield batch[0], batch[1]
        else:
            yield batch, None


def _is_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2


def _collate(items: list):
    """Stack tensors and numbers; keep raw examples (texts, images) as a list."""
    import torch

    if items and isinstance(items[0], torch.Tensor):
        return torch.stack(items)
    if items and isinstance(items[0], (int, float)) and not isinstance(items[0], bool):
        return torch.tensor(items)
    return items


def run_model(model, inputs):
    """Call the model on one batch and return its output tensor (logits for HF-style outputs)."""
    output = model(**inputs) if isinstance(inputs, dict) else model(inputs)
    return output_tensor(output)


def output_tensor(output):
    import torch

    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if isinstance(output, dict) and "logits" in output:
        return output["logits"]
    raise MError(f"the model returned a {type(output).__name__}, not a tensor", field="model")
