"""`Dataset`: a sized, indexable sequence of examples, each a dict keyed by M role names.

A loader maps a file's columns to M roles (`text`, `image`, `label`, `target`, `features`,
`question`, `context`, `answers`, ...) and types them; the dataset remembers which role is the
model's input (`input_column`) and which is what it learns to predict (`target_column`).  String
labels are encoded to ids once, and the mapping (`labels`, the class names in id order) travels
with every dataset derived from this one (`split`, `map`, `filter`, `take`, `shuffle`).
"""
from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Iterator, Sequence

from mlang.data.batching import DEFAULT_BATCH_SIZE
from mlang.data.errors import data_error

# Roles a model reads, in the order `input_column` is chosen when several are present.
INPUT_ROLES = ("text", "image", "features", "x", "question")
# Roles a model learns to predict.
TARGET_ROLES = ("label", "target", "y", "answers")


class Example(dict):
    """One example: a dict whose roles are also attributes (`ex.text`, `ex.label`).

    `ex.labels` / `ex.targets` (plural, as in a training loop) name the dataset's target role.
    """

    __slots__ = ("_target_column",)

    def __init__(self, values: dict, target_column: str | None = None):
        super().__init__(values)
        self._target_column = target_column

    def __getattr__(self, name: str) -> Any:
        if name in self:
            return self[name]
        if name in ("labels", "targets") and self._target_column is not None:
            return self[self._target_column]
        raise AttributeError(f"example has no column {name!r} (columns: {', '.join(self)})")


class _Loader:
    """`Dataset.csv(...)`, `Dataset.images(...)`, ...: each is a loader module's `load` function."""

    def __init__(self, fmt: str):
        self.fmt = fmt

    def __get__(self, instance, owner) -> Callable[..., "Dataset"]:
        from mlang.data.loaders import loader

        return loader(self.fmt)


class Dataset:
    """A sized, iterable sequence of examples (dicts keyed by role).

    Build one with a loader (`Dataset.csv("reviews.csv", text="review", label="score")`) or from
    records (`Dataset(records, input_column="text", target_column="label")`).
    """

    csv = _Loader("csv")
    jsonl = _Loader("jsonl")
    parquet = _Loader("parquet")
    frame = _Loader("frame")
    records = _Loader("records")
    images = _Loader("images")
    squad = _Loader("squad")
    timeseries = _Loader("timeseries")
    rdataset = _Loader("rdataset")
    bbc_news = _Loader("bbc_news")
    sklearn = _Loader("sklearn")
    tensors = _Loader("tensors")
    arrays = _Loader("arrays")

    def __init__(self, examples: Iterable[dict], *, input_column: str | None = None,
                 target_column: str | None = None, labels: Sequence | None = None,
                 source: str | None = None, decoders: dict[str, Callable] | None = None,
                 ordered: bool = False, info: dict | None = None, transform: Sequence = ()):
        self.examples: list[dict] = list(examples)
        columns = self.examples[0].keys() if self.examples else ()
        self.input_column = input_column or next((c for c in INPUT_ROLES if c in columns), None)
        self.target_column = target_column or next((c for c in TARGET_ROLES if c in columns), None)
        self.labels = list(labels) if labels is not None else None
        self.source = source
        # Columns stored in a cheap form (an image path) and decoded when an example is read.
        self.decoders = dict(decoders or {})
        # Ordered data (time series windows) is split chronologically, never shuffled by `split`.
        self.ordered = ordered
        # Loader-specific facts (a time series' fitted normalizer, the original column names).
        self.info = dict(info or {})
        # Image transforms of the input column (data/transforms.py); the random ones only in training.
        from mlang.data.transforms import check_transforms

        self.transforms = check_transforms(transform)
        # The deterministic transforms `map` already applied to these examples (a model trained on
        # them records them as its input pipeline all the same).
        self.applied_transforms: tuple = ()

    # -- sequence protocol -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.examples)

    # A view made by `batches(augment=True)`: reading an example applies the random transforms too.
    _augmenting = False

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._derive(self.examples[index])
        return self._example(self.examples[index], self._augmenting)

    def __iter__(self):
        """Batches of `DEFAULT_BATCH_SIZE` examples in order, as a training loop wants them.

        `for batch in data { ... }` gives `Batch`es (`batch.text` a list, `batch.labels` a tensor
        of class ids); `data.batches(n, shuffle=true, seed=epoch)` chooses the size and order, and
        `data.rows()` gives the single examples.
        """
        return iter(self.batches(DEFAULT_BATCH_SIZE))

    def rows(self) -> Iterator[Example]:
        """Each example in order (a dict of roles, also readable as attributes)."""
        for raw in self.examples:
            yield self._example(raw)

    def __repr__(self) -> str:
        where = f" from {self.source}" if self.source else ""
        labels = f", labels={self.labels}" if self.labels is not None else ""
        return (f"Dataset({len(self)} examples{where}, input={self.input_column!r}, "
                f"target={self.target_column!r}{labels})")

    @property
    def columns(self) -> list[str]:
        return list(self.examples[0]) if self.examples else []

    @property
    def task(self) -> str | None:
        """What a model trained on this data does, judged from the target role."""
        if self.target_column == "answers":
            return "qa"
        if self.target_column == "label":
            return "classification"
        if self.target_column in ("target", "y"):
            return "forecast" if self.ordered else "regression"
        return None

    def _example(self, raw: dict, augment: bool = False) -> Example:
        if self.decoders:
            raw = {k: (self.decoders[k](v) if k in self.decoders else v) for k, v in raw.items()}
        if self.transforms:
            raw = {**raw, self.input_column: self._transformed(raw[self.input_column], augment)}
        return Example(raw, self.target_column)

    def _transformed(self, value, augment: bool = False):
        from mlang.data.transforms import apply_transforms

        return apply_transforms(self.transforms, value, augment)

    def _derive(self, examples: Iterable[dict], **changes) -> "Dataset":
        """A dataset of other examples with this one's roles, label mapping and decoders."""
        options = dict(input_column=self.input_column, target_column=self.target_column,
                       labels=self.labels, source=self.source, decoders=self.decoders,
                       ordered=self.ordered, info=self.info, transform=self.transforms)
        options.update(changes)
        derived = Dataset(examples, **options)
        derived.applied_transforms = self.applied_transforms
        return derived

    # -- transformations ---------------------------------------------------------------------
    def map(self, fn: Callable[[Example], dict]) -> "Dataset":
        """A dataset of `fn(example)` for each example (fn returns the new example dict)."""
        mapped = []
        for i, example in enumerate(self.rows()):
            result = fn(example)
            if not isinstance(result, dict):
                raise data_error(f"map function returned {type(result).__name__} for example {i}, "
                             "expected a dict of columns", field="map")
            mapped.append(dict(result))
        # Mapped values are already decoded and transformed; augmentation is still to come.
        from mlang.data.transforms import deterministic_steps

        derived = self._derive(mapped, decoders={}, transform=[t for t in self.transforms if t.random])
        derived.applied_transforms = deterministic_steps(self)
        return derived

    def filter(self, predicate: Callable[[Example], bool]) -> "Dataset":
        """The examples for which `predicate(example)` is true, in order."""
        return self._derive(raw for raw in self.examples if predicate(self._example(raw)))

    def transform(self, *steps) -> "Dataset":
        """The dataset with image transforms added after its own (data/transforms.py): applied to
        the input column when an example is read; the random ones only in training batches."""
        if len(steps) == 1 and isinstance(steps[0], (list, tuple)):
            steps = tuple(steps[0])
        return self._derive(self.examples, transform=self.transforms + tuple(steps))

    def take(self, count: int) -> "Dataset":
        """The first `count` examples."""
        if count < 0:
            raise data_error(f"take({count}): count must be >= 0", field="count")
        return self._derive(self.examples[:count])

    def shuffle(self, seed: int = 0) -> "Dataset":
        """The examples in a random order fixed by `seed`."""
        order = list(self.examples)
        random.Random(seed).shuffle(order)
        return self._derive(order)

    def column(self, name: str) -> list:
        """Every example's value of one column (decoded)."""
        if self.examples and name not in self.examples[0]:
            raise data_error(f"dataset has no column {name!r} (columns: {', '.join(self.columns)})",
                         field=name)
        decode = self.decoders.get(name)
        values = [decode(raw[name]) if decode else raw[name] for raw in self.examples]
        if self.transforms and name == self.input_column:
            values = [self._transformed(value) for value in values]
        return values

    def inputs(self) -> list:
        """The model inputs of every example (for QA, `(question, context)` pairs)."""
        if self.input_column == "question" and "context" in self.columns:
            return [(raw["question"], raw["context"]) for raw in self.examples]
        return self.column(self._require("input_column"))

    def targets(self) -> list:
        """The target of every example (label ids, numbers, or QA answers)."""
        return self.column(self._require("target_column"))

    def label_name(self, label_id: int):
        """The class name of a label id (the id itself when the labels were never named)."""
        return self.labels[label_id] if self.labels is not None else label_id

    def _require(self, attribute: str) -> str:
        value = getattr(self, attribute)
        if value is None:
            role = "input" if attribute == "input_column" else "target"
            raise data_error(f"the dataset has no {role} column (columns: {', '.join(self.columns)})",
                         field=attribute,
                         hint=f"name it when loading, e.g. Dataset.csv(path, text=..., label=...)")
        return value

    def fingerprint(self) -> str:
        """A sha256 of the examples' content in order (what the registry records as the data a
        model was trained on); tensors and arrays are hashed by dtype, shape and bytes."""
        import hashlib
        import json

        digest = hashlib.sha256()
        for raw in self.examples:
            digest.update(json.dumps(raw, sort_keys=True, default=_stable_json).encode())
            digest.update(b"\n")
        return digest.hexdigest()

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE, model=None, *, shuffle: bool = False,
                seed: int = 0, bucket: bool | None = None, drop_last: bool = False,
                augment: bool = False):
        """Batches of examples: `batch.inputs` are model-ready tensors (`model.preprocess`).

        Text is bucketed by length when shuffling (similar lengths share a batch, so dynamic
        padding pads little) unless `bucket=False`.  `augment=True` (what `fineTuneModel` asks
        for) applies the random image transforms too, drawn afresh for every batch.
        """
        from mlang.data.batching import iterate_batches

        source = self
        if augment and any(step.random for step in self.transforms):
            source = self._derive(self.examples)
            source._augmenting = True
        return iterate_batches(source, batch_size, model=model, shuffle=shuffle, seed=seed,
                               bucket=bucket, drop_last=drop_last)


def _stable_json(value):
    """JSON for what json cannot write: tensors and arrays by content, the rest by repr."""
    import hashlib

    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if hasattr(value, "tobytes") and hasattr(value, "dtype") and hasattr(value, "shape"):
        return {"dtype": str(value.dtype), "shape": list(value.shape),
                "sha256": hashlib.sha256(value.tobytes()).hexdigest()}
    return repr(value)


def split(dataset: Dataset, fraction: float = 0.8, seed: int = 0, stratify: bool = False,
          shuffle: bool = True) -> tuple[Dataset, Dataset]:
    """Two datasets: `fraction` of the examples, and the rest.

    `stratify=True` keeps each label's share the same in both parts.  An ordered dataset (time
    series windows) is split chronologically: the first part is the past.
    """
    if not isinstance(dataset, Dataset):
        raise data_error(f"split expects a Dataset, got {type(dataset).__name__}", field="dataset")
    if not 0.0 < fraction < 1.0:
        raise data_error(f"split fraction must be between 0 and 1, got {fraction}", field="fraction")
    total = len(dataset)
    if total < 2:
        raise data_error(f"cannot split a dataset of {total} example(s)", field="dataset")
    if dataset.ordered:
        if stratify:
            raise data_error("an ordered (time series) dataset is split chronologically and cannot "
                         "be stratified", field="stratify")
        cut = _cut(total, fraction)
        return dataset[:cut], dataset[cut:]
    rng = random.Random(seed)
    if stratify:
        first, second = _stratified_indices(dataset, fraction, rng)
    else:
        order = list(range(total))
        if shuffle:
            rng.shuffle(order)
        cut = _cut(total, fraction)
        first, second = order[:cut], order[cut:]
    return (dataset._derive([dataset.examples[i] for i in first]),
            dataset._derive([dataset.examples[i] for i in second]))


def _cut(total: int, fraction: float) -> int:
    """Where to cut `total` items so both parts are non-empty."""
    return min(max(round(total * fraction), 1), total - 1)


def _stratified_indices(dataset: Dataset, fraction: float, rng: random.Random):
    if dataset.target_column != "label":
        raise data_error("stratify=true needs a dataset with a `label` column", field="stratify",
                     hint="load it with label=... or split with stratify=false")
    by_label: dict[Any, list[int]] = {}
    for index, raw in enumerate(dataset.examples):
        by_label.setdefault(raw["label"], []).append(index)
    first, second = [], []
    for label in sorted(by_label, key=str):
        indices = by_label[label]
        rng.shuffle(indices)
        cut = round(len(indices) * fraction)
        first.extend(indices[:cut])
        second.extend(indices[cut:])
    # Interleave the classes rather than leaving them in label blocks.
    rng.shuffle(first)
    rng.shuffle(second)
    if not first or not second:
        raise data_error(f"a stratified split of {len(dataset)} examples at {fraction} leaves one part "
                     "empty", field="fraction")
    return first, second
