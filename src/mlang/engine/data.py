"""Turn whatever a user hands the engine into batches of model-ready features.

Raw examples (texts, images, arrays, tensors, M Datasets) go through the model's own
`preprocess` one batch at a time, so text batches are padded only to their own longest example.
Already-preprocessed features (a dict of tensors) are sliced by rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from mlang.lang.diagnostics import MError


@dataclass
class PreparedData:
    examples: Sequence | None = None      # raw examples, preprocessed per batch
    features: dict | None = None          # preprocessed tensors, sliced per batch

    def __len__(self) -> int:
        if self.features is not None:
            return next(iter(self.features.values())).shape[0]
        return len(self.examples)

    def batches(self, runnable, batch_size: int) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """(row indices, features) per batch; texts are grouped by length to cut padding."""
        order = self._order()
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            if self.features is not None:
                yield rows, {n: t[rows[0]:rows[-1] + 1] for n, t in self.features.items()}
            else:
                yield rows, runnable.preprocess([self.examples[i] for i in rows])

    def _order(self) -> list[int]:
        n = len(self)
        if self.examples is not None and n and all(isinstance(x, str) for x in self.examples):
            return sorted(range(n), key=lambda i: len(self.examples[i]))
        return list(range(n))


def prepare(data) -> PreparedData:
    import numpy as np
    import torch

    if isinstance(data, PreparedData):
        return data
    if isinstance(data, dict):
        if not data or not all(isinstance(v, (torch.Tensor, np.ndarray)) for v in data.values()):
            raise MError("a dict of data must map input names to tensors (preprocessed features)",
                         field="data", hint="pass raw examples as a list, or model.preprocess(examples)")
        features = {n: torch.as_tensor(v) for n, v in data.items()}
        if len({t.shape[0] for t in features.values()}) != 1:
            raise MError("the feature tensors have different batch sizes", field="data")
        return PreparedData(features=features)
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    if isinstance(data, torch.Tensor):
        if data.dim() == 0:
            raise MError("data is a single number; expected a batch of examples", field="data")
        return PreparedData(examples=data)
    if isinstance(data, str):
        return PreparedData(examples=[data])
    if hasattr(data, "input_column") and callable(getattr(data, "inputs", None)):  # an M Dataset
        return PreparedData(examples=list(data.inputs()))
    if isinstance(data, (list, tuple)):
        return PreparedData(examples=list(data))
    raise MError(f"cannot run a model on data of type {type(data).__name__}", field="data",
                 hint="pass a Dataset, a tensor, a numpy array, or a list of texts or images")
