"""Small models the optimize tests share: an MLP, a CNN with BatchNorm, a tiny BERT classifier."""
import pytest
import torch
from torch import nn


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.GELU(),
                         nn.Linear(32, 4)).eval()


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding="same"), nn.BatchNorm2d(16), nn.ReLU(), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10))
    with torch.no_grad():  # BatchNorm statistics that are not the identity, as after training
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 2)
                module.bias.uniform_(-0.5, 0.5)
    return model.eval()


@pytest.fixture
def tiny_bert():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=32,
                        num_labels=2)
    return BertForSequenceClassification(config).eval()


@pytest.fixture
def token_batch():
    torch.manual_seed(1)
    return {"input_ids": torch.randint(1, 100, (4, 12)),
            "attention_mask": torch.ones(4, 12, dtype=torch.long)}
