"""split (stratified, seeded), map / filter / take / shuffle, and batching."""
from collections import Counter

import pytest
import torch

from mlang.data import Dataset, split
from mlang.lang.diagnostics import MError


def labelled(count=100, share_of_b=0.3):
    records = [{"text": f"example number {i} " + "x" * (i % 17), "tag": "b" if i < count * share_of_b else "a"}
               for i in range(count)]
    return Dataset.records(records, text="text", label="tag")


def test_stratified_split_keeps_each_label_share():
    data = labelled(200, 0.3)
    first, rest = split(data, 0.8, seed=7, stratify=True)
    assert len(first) == 160 and len(rest) == 40
    assert Counter(first.column("label"))[1] == 48  # 30 % of 160
    assert Counter(rest.column("label"))[1] == 12
    assert first.labels == rest.labels == ["a", "b"]


def test_split_is_fixed_by_its_seed():
    data = labelled()
    a1, _ = split(data, 0.8, seed=7)
    a2, _ = split(data, 0.8, seed=7)
    b1, _ = split(data, 0.8, seed=8)
    assert a1.column("text") == a2.column("text") != b1.column("text")
    together = sorted(a1.column("text") + split(data, 0.8, seed=7)[1].column("text"))
    assert together == sorted(data.column("text"))


def test_split_rejects_bad_fractions_and_unlabelled_stratification():
    with pytest.raises(MError, match="between 0 and 1"):
        split(labelled(), 1.5)
    numbers = Dataset.records([{"v": float(i), "y": float(i)} for i in range(10)], x=["v"], target="y")
    with pytest.raises(MError, match="label"):
        split(numbers, 0.5, stratify=True)


def test_map_filter_take_shuffle():
    data = labelled(20)
    upper = data.map(lambda ex: {**ex, "text": ex.text.upper()})
    assert upper[0].text.startswith("EXAMPLE") and upper.labels == data.labels
    only_b = data.filter(lambda ex: ex.label == 1)
    assert len(only_b) == 6 and set(only_b.column("label")) == {1}
    assert data.take(3).column("text") == data.column("text")[:3]
    shuffled = data.shuffle(seed=1)
    assert shuffled.column("text") != data.column("text")
    assert sorted(shuffled.column("text")) == sorted(data.column("text"))
    with pytest.raises(MError, match="expected a dict"):
        data.map(lambda ex: ex.text)


class WordCounter:
    """A stand-in for a model's `preprocess`: pads token ids to the batch's longest text."""

    def preprocess(self, texts):
        lengths = [len(t.split()) for t in texts]
        longest = max(lengths)
        ids = torch.zeros(len(texts), longest, dtype=torch.long)
        for row, n in enumerate(lengths):
            ids[row, :n] = 1
        return {"input_ids": ids}


def test_batches_use_the_models_preprocess_and_carry_targets():
    data = labelled(10)
    batch = next(iter(data.batches(4, model=WordCounter())))
    assert set(batch.inputs) == {"input_ids"} and batch.inputs["input_ids"].shape[0] == 4
    assert batch.labels.dtype == torch.long and batch.labels.tolist() == data.column("label")[:4]
    assert batch.text == data.column("text")[:4]
    assert len(batch) == 4


def test_length_bucketing_pads_less_and_covers_every_example():
    records = [{"text": "w " * (1 + (i * 37) % 60), "tag": i % 2} for i in range(256)]
    data = Dataset.records(records, text="text", label="tag")
    model = WordCounter()

    def padded_tokens(bucket):
        batches = list(data.batches(16, model=model, shuffle=True, seed=3, bucket=bucket))
        seen = sorted(i for b in batches for i in b.indices)
        assert seen == list(range(256))
        return sum(b.inputs["input_ids"].numel() for b in batches)

    assert padded_tokens(True) < 0.7 * padded_tokens(False)


def test_shuffled_batches_are_fixed_by_the_seed():
    data = labelled(50)
    order = lambda seed: [b.indices for b in data.batches(8, shuffle=True, seed=seed)]
    assert order(1) == order(1) != order(2)
