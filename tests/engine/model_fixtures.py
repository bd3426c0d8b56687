"""Builders for the M models engine and server tests use (importable from both test folders)."""
from __future__ import annotations

import torch

import mlang as m


def make_tiny_classifier(labels=("a", "b", "c")):
    """A layer stack: Tensor[float32, B, 8] → 3 class logits."""
    torch.manual_seed(0)
    model = m.Model()
    model.add(m.Dense(16, input_shape=(8,)))
    model.add(m.Activation("relu"))
    model.add(m.LayerNormalization())
    model.add(m.Dense(3))
    model.task, model.labels = "classification", list(labels)
    return model.eval()


def make_minilm_classifier(labels=("negative", "positive")):
    """all-MiniLM-L6-v2 (mean pooled, from the zoo) then a fresh 2-class Dense head: Text → logits."""
    torch.manual_seed(0)
    head = m.Model()
    head.add(m.Dense(2, input_shape=(384,)))
    model = m.sequentialModel(m.load_pretrained("minilm-l6", max_length=128), head, name="MiniLMClassifier")
    model.task, model.labels = "classification", list(labels)
    return model.eval()
