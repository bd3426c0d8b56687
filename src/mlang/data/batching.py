"""Batches: examples grouped, preprocessed by the model's own `preprocess`, targets as tensors.

Text is bucketed by length: examples of similar length share a batch, so dynamic padding (each
batch padded to its own longest example) pads little.  That is the largest practical speed-up for
short texts (DESIGN §8).  For a model with a Hugging Face tokenizer, a dataset's texts are
tokenized once (`TokenCache`, kept on the dataset for the next epoch and for evaluation) and
bucketed by their token counts; each batch is padded from the cache, to its longest text (in
shuffled, training batches rounded up to a multiple of `PAD_MULTIPLE` tokens: fewer distinct
tensor sizes, less memory kept by the allocator between batches).  Otherwise (images, numbers,
QA pairs) each batch goes through the model's `preprocess` and text is bucketed by characters.
Extractive QA targets (start/end token of the answer) are derived from the tokenizer's character
offsets, which the model's `preprocess` returns as `offset_mapping`.
"""
from __future__ import annotations

import random
import weakref
from typing import Any, Iterator

from mlang.data.errors import data_error

# The batch size of `for batch in data` (iterating a Dataset directly) and of `data.batches()`.
DEFAULT_BATCH_SIZE = 32
# Shuffled text is sorted by length within windows of this many batches, then the batches shuffled.
BUCKET_WINDOW = 50
# Shuffled (training) cached-token batches are padded to a multiple of this many tokens (never past
# max_length): the padded positions are masked, so outputs are the same, and on the quickstart the
# fine-tune's peak memory fell by 110 MB at no measured cost in time (docs/training.md).
PAD_MULTIPLE = 8


class Batch:
    """A batch: `inputs` (model-ready), `targets` (tensor or None), and each column by name.

    `batch.labels` / `batch.targets` are the target tensor; `batch.text`, `batch.image`, ... the
    raw values; `batch.indices` the examples' positions in the dataset.
    """

    def __init__(self, examples: list[dict], inputs: Any, targets: Any, indices: list[int],
                 target_column: str | None, offsets: Any = None):
        self.examples = examples
        self.inputs = inputs
        self.targets = targets
        self.indices = indices
        self.target_column = target_column
        # QA only: each token's character span in its context, to turn logits back into text.
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.examples)

    def __repr__(self) -> str:
        columns = ", ".join(self.examples[0]) if self.examples else ""
        return f"Batch({len(self)} examples; columns: {columns}; batch.labels: {self.target_column})"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("examples", "targets", "target_column"):
            raise AttributeError(name)
        if name in ("labels", "label") or name == self.target_column:
            return self.targets
        if self.examples and name in self.examples[0]:
            return _collate([example[name] for example in self.examples])
        columns = ", ".join(self.examples[0]) if self.examples else ""
        raise AttributeError(f"batch has no column {name!r} (columns: {columns})")

    def split(self, parts: int) -> list["Batch"]:
        """The batch as `parts` consecutive smaller batches (the last may be shorter); itself when
        its inputs are not tensors with one row per example (nothing to cut along)."""
        size = -(-len(self) // parts)
        if parts <= 1 or not _rows_of(self.inputs, len(self)) or not _rows_of(self.targets, len(self)):
            return [self]
        cut = lambda value, start: (  # noqa: E731 - one slice rule for dicts and tensors
            {key: item[start:start + size] for key, item in value.items()} if isinstance(value, dict)
            else value[start:start + size])
        return [Batch(self.examples[start:start + size], cut(self.inputs, start), cut(self.targets, start),
                      self.indices[start:start + size], self.target_column, None)
                for start in range(0, len(self), size)]

    def to(self, device) -> "Batch":
        """The batch with its tensors on `device`."""
        self.inputs = move_to(self.inputs, device)
        if self.targets is not None and hasattr(self.targets, "to"):
            self.targets = self.targets.to(device, non_blocking=True)
        return self


def _rows_of(value, rows: int) -> bool:
    """Whether `value` is a tensor, or a dict of tensors, with `rows` rows."""
    values = value.values() if isinstance(value, dict) else [value]
    return all(getattr(item, "ndim", 0) >= 1 and len(item) == rows for item in values)


def move_to(value, device):
    """Tensors (alone, in a dict, list or tuple) moved to `device`."""
    if hasattr(value, "to") and hasattr(value, "device"):
        return value.to(device, non_blocking=True)
    if isinstance(value, dict):
        return {k: move_to(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(move_to(v, device) for v in value)
    return value


def iterate_batches(dataset, batch_size: int, *, model=None, shuffle: bool = False, seed: int = 0,
                    bucket: bool | None = None, drop_last: bool = False) -> Iterator[Batch]:
    """The dataset's batches, in an order fixed by `seed` when shuffling."""
    if batch_size < 1:
        raise data_error(f"batch_size must be >= 1, got {batch_size}", field="batch_size")
    tokens = TokenCache.of(dataset, model)
    # The rounding is for training's allocator; sorted batches (evaluation) pad to their longest.
    multiple = PAD_MULTIPLE if shuffle else 1
    for indices in batch_order(dataset, batch_size, shuffle=shuffle, seed=seed, bucket=bucket,
                               drop_last=drop_last, tokens=tokens):
        yield make_batch(dataset, indices, model, tokens, multiple)


def batch_order(dataset, batch_size: int, *, shuffle: bool, seed: int, bucket: bool | None,
                drop_last: bool, tokens: "TokenCache | None" = None) -> list[list[int]]:
    """The example indices of each batch (bucketed by `tokens`' token counts when given)."""
    order = list(range(len(dataset)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    lengths = None
    if bucket is not False:
        lengths = tokens.lengths if tokens is not None else _text_lengths(dataset)
    if lengths is not None and (shuffle or bucket):
        if shuffle:
            window = batch_size * BUCKET_WINDOW
            order = [i for start in range(0, len(order), window)
                     for i in sorted(order[start:start + window], key=lengths.__getitem__)]
        else:
            order.sort(key=lengths.__getitem__)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    if shuffle and lengths is not None:
        rng.shuffle(batches)
    return batches


def _text_lengths(dataset) -> list[int] | None:
    """Each example's input length in characters when the input is text, else None."""
    column = dataset.input_column
    if not dataset.examples or column not in dataset.examples[0]:
        return None
    if is_qa(dataset):
        return [len(e["question"]) + len(e["context"]) for e in dataset.examples]
    if not isinstance(dataset.examples[0][column], str):
        return None
    return [len(e[column]) for e in dataset.examples]


class TokenCache:
    """A dataset's texts tokenized once by the tokenizer of the model that reads them.

    `TokenCache.of(dataset, model)` finds the model's one text encoder (a module with a Hugging
    Face `tokenizer` and a `max_length`), tokenizes every text (truncated, unpadded) and keeps the
    result on the dataset, so later epochs and evaluations reuse it.  It is used only where it
    reproduces the model's own `preprocess` exactly, which it checks on a few texts (the longest,
    to see truncation, and shorter ones, to see padding); otherwise None: preprocess per batch.
    """

    def __init__(self, encoder, examples: list, encoded: dict[str, list]):
        import numpy as np

        self.encoder = weakref.ref(encoder)
        self.max_length = encoder.max_length
        self.examples = examples  # the list it was made from (kept, so its identity stays unique)
        # One int32 array per text and key; all-zero token types (single texts) need no copy.
        self.encoded = {key: [np.asarray(row, dtype=np.int32) for row in rows]
                        for key, rows in encoded.items()
                        if key != "token_type_ids" or any(any(row) for row in rows)}
        self.keys = ["input_ids", "attention_mask", *(k for k in ("token_type_ids",) if k in encoded)]
        self.lengths = [len(ids) for ids in encoded["input_ids"]]
        self.pad_values = {"input_ids": encoder.tokenizer.pad_token_id or 0, "attention_mask": 0,
                           "token_type_ids": getattr(encoder.tokenizer, "pad_token_type_id", 0)}
        self.left = getattr(encoder.tokenizer, "padding_side", "right") == "left"

    @classmethod
    def of(cls, dataset, model) -> "TokenCache | None":
        encoder = _text_encoder(model) if model is not None else None
        if encoder is None or is_qa(dataset) or not dataset.examples:
            return None
        column = dataset.input_column
        if column is None or not isinstance(dataset.examples[0].get(column), str):
            return None
        cached = dataset.__dict__.get("_token_cache")
        if (cached is not None and cached.examples is dataset.examples
                and cached.encoder() is encoder and cached.max_length == encoder.max_length):
            return cached
        texts = dataset.column(column)
        if not all(isinstance(text, str) for text in texts):
            return None
        encoded = encoder.tokenizer(texts, truncation=True, max_length=encoder.max_length,
                                    return_attention_mask=False)
        keys = [key for key in ("input_ids", "token_type_ids") if key in encoded]
        cache = cls(encoder, dataset.examples, {key: encoded[key] for key in keys})
        if not cache._reproduces(model, texts):
            return None
        dataset.__dict__["_token_cache"] = cache
        return cache

    def inputs(self, indices: list[int], multiple: int | None = None) -> dict:
        """input_ids, attention_mask[, token_type_ids] of these examples, padded to the longest
        rounded up to a multiple of `multiple` (default `PAD_MULTIPLE`; at most `max_length`)."""
        import numpy as np
        import torch

        multiple = multiple or PAD_MULTIPLE
        longest = max(self.lengths[i] for i in indices)
        width = min(-(-longest // multiple) * multiple, max(self.max_length, longest))
        arrays = {key: np.full((len(indices), width), self.pad_values[key], dtype=np.int64)
                  for key in self.keys}
        for row, index in enumerate(indices):
            size = self.lengths[index]
            span = slice(width - size, width) if self.left else slice(0, size)
            arrays["attention_mask"][row, span] = 1
            for key in self.encoded:
                arrays[key][row, span] = self.encoded[key][index]
        return {key: torch.from_numpy(arrays[key]) for key in self.keys}

    def _reproduces(self, model, texts: list[str]) -> bool:
        import torch

        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        sample = sorted({by_length[-1], by_length[0], by_length[len(by_length) // 2]})
        try:
            expected = model.preprocess([texts[i] for i in sample])
        except Exception:  # noqa: BLE001 - the batch path will report it where it happens
            return False
        mine = self.inputs(sample, multiple=1)  # preprocess pads to the longest only
        return (isinstance(expected, dict) and set(expected) == set(mine)
                and all(torch.equal(expected[key], mine[key]) for key in mine))


def _text_encoder(model):
    """The model's one module that tokenizes text with a Hugging Face tokenizer, or None."""
    found = [module for module in model.modules()
             if callable(getattr(module, "tokenizer", None)) and isinstance(getattr(module, "max_length", None), int)] \
        if hasattr(model, "modules") else []
    return found[0] if len(found) == 1 else None


def make_batch(dataset, indices: list[int], model=None, tokens: TokenCache | None = None,
               multiple: int | None = None) -> Batch:
    """One batch of the given examples, preprocessed for `model` when given (padded from `tokens`,
    the dataset's texts tokenized once, when given, to a multiple of `multiple` tokens)."""
    examples = [dataset[i] for i in indices]
    qa = is_qa(dataset)
    if tokens is not None:
        inputs = tokens.inputs(list(indices), multiple)
    else:
        raw_inputs = ([(e["question"], e["context"]) for e in examples] if qa
                      else [e[dataset._require("input_column")] for e in examples])
        preprocess = getattr(model, "preprocess", None)
        inputs = preprocess(raw_inputs) if preprocess is not None else _collate(raw_inputs)
    offsets, targets = None, None
    if qa:
        if isinstance(inputs, dict) and "offset_mapping" in inputs:
            inputs = dict(inputs)
            offsets = inputs.pop("offset_mapping")
            if "answers" in examples[0]:
                targets = answer_token_targets(inputs, offsets, examples)
    elif dataset.target_column is not None and dataset.target_column in examples[0]:
        targets = _targets([e[dataset.target_column] for e in examples], dataset.target_column)
    return Batch(examples, inputs, targets, list(indices), dataset.target_column, offsets)


def is_qa(dataset) -> bool:
    """Whether the examples are (question, context) pairs for extractive QA."""
    return dataset.input_column == "question" and bool(dataset.examples) \
        and "context" in dataset.examples[0]


def _targets(values: list, column: str):
    import torch

    if column == "label":
        return torch.tensor(values, dtype=torch.long)
    return torch.tensor(values, dtype=torch.float32)


def _collate(values: list):
    """Raw values → one tensor where they are numeric or images; else the list itself."""
    import numpy as np
    import torch

    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(values)
    if isinstance(first, np.ndarray) or _numeric_list(first):
        return torch.as_tensor(np.asarray(values, dtype=np.float32))
    if isinstance(first, bool):
        return torch.tensor(values, dtype=torch.bool)
    if isinstance(first, (int, float)):
        return torch.tensor(values)
    if hasattr(first, "convert") and hasattr(first, "size"):  # PIL images
        sizes = {image.size for image in values}
        if len(sizes) > 1:
            raise data_error(f"images in one batch differ in size ({sorted(sizes)[:3]} ...)",
                         field="image", hint="load them with Dataset.images(path, size=(H, W))")
        array = np.stack([np.asarray(image, dtype=np.float32) / 255.0 for image in values])
        if array.ndim == 3:  # grey ("L") images have no channel axis
            array = array[..., None]
        return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()
    return values


def _numeric_list(value) -> bool:
    """A (possibly nested) non-empty list of numbers, judged by its first items."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return isinstance(value, (int, float))


def answer_token_targets(features: dict, offsets, examples: list[dict]):
    """`[B, 2]` start/end token positions of each first answer; (0, 0) when there is none.

    A token belongs to the context when its `token_type_ids` is 1 (the second sequence); an
    answer cut off by truncation, or an unanswerable question, points at position 0 ([CLS]).
    """
    import torch

    segment = features.get("token_type_ids")
    if segment is None:
        raise data_error("the model's preprocess must return token_type_ids with offset_mapping "
                     "for question answering", field="preprocess")
    offsets = offsets.tolist()
    segment = segment.tolist()
    positions = []
    for row, example in enumerate(examples):
        answers = example["answers"]
        if not answers["text"]:
            positions.append((0, 0))
            continue
        start_char = answers["answer_start"][0]
        end_char = start_char + len(answers["text"][0])
        start = end = None
        for token, (begin, finish) in enumerate(offsets[row]):
            if segment[row][token] != 1 or finish <= begin:
                continue
            if start is None and begin <= start_char < finish:
                start = token
            if begin < end_char <= finish:
                end = token
                break
        positions.append((start, end) if start is not None and end is not None else (0, 0))
    return torch.tensor(positions, dtype=torch.long)
