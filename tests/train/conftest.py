"""Tiny models that follow the MModel contract (preprocess + compute), and tiny data, for fast tests."""
import zlib

import pytest
import torch
from torch import nn

from mlang.data import Dataset
from mlang.models.module import MModel

POSITIVE = ["good", "great", "tasty", "lovely", "fresh", "excellent"]
NEGATIVE = ["bad", "awful", "stale", "bland", "terrible", "soggy"]
FILLER = ["the", "food", "was", "really", "quite", "and", "very", "tea", "coffee", "snack"]


class BagOfWordsClassifier(MModel):
    """Hashed word embeddings, mean-pooled, then a linear head: a text classifier in miniature."""

    def __init__(self, num_labels=2, vocab=512, dim=16):
        super().__init__(task="classification")
        self.vocab = vocab
        self.encoder = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, num_labels)

    def preprocess(self, inputs):
        ids = [[zlib.crc32(w.encode()) % (self.vocab - 1) + 1 for w in text.split()] or [0]
               for text in inputs]
        longest = max(len(row) for row in ids)  # dynamic padding: the batch's longest text
        input_ids = torch.zeros(len(ids), longest, dtype=torch.long)
        mask = torch.zeros(len(ids), longest)
        for row, tokens in enumerate(ids):
            input_ids[row, :len(tokens)] = torch.tensor(tokens)
            mask[row, :len(tokens)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def compute(self, input_ids, attention_mask):
        vectors = self.encoder(input_ids) * attention_mask[..., None]
        pooled = vectors.sum(1) / attention_mask.sum(1, keepdim=True).clamp(min=1)
        return self.head(pooled)


class LinearRegressor(MModel):
    def __init__(self, features):
        super().__init__(task="regression")
        self.encoder = nn.Linear(features, 16)
        self.head = nn.Linear(16, 1)

    def compute(self, x):
        return self.head(torch.tanh(self.encoder(x)))


def sentiment_records(count, seed=0, flip=False):
    """Short reviews whose label is decided by one sentiment word among filler words."""
    generator = torch.Generator().manual_seed(seed)
    records = []
    for i in range(count):
        positive = i % 2 == 0
        words = POSITIVE if positive else NEGATIVE
        pick = lambda pool: pool[int(torch.randint(len(pool), (1,), generator=generator))]
        filler = [pick(FILLER) for _ in range(int(torch.randint(2, 8, (1,), generator=generator)))]
        filler.insert(int(torch.randint(len(filler), (1,), generator=generator)), pick(words))
        label = "pos" if positive != flip else "neg"
        records.append({"review": " ".join(filler), "score": label})
    return records


@pytest.fixture
def sentiment():
    """(train, valid) tiny sentiment datasets with labels ["neg", "pos"]."""
    train = Dataset.records(sentiment_records(96, seed=1), text="review", label="score")
    valid = Dataset.records(sentiment_records(40, seed=2), text="review", label="score",
                            labels=train.labels)
    return train, valid
