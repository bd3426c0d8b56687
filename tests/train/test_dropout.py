"""Training on CPU draws dropout masks in bulk (`mlang.train.dropout`): the same dropout as
torch's (rate, scaling, gradient, seeding), and a model comes out of training exactly as it went in."""
import textwrap

import pytest
import torch
from torch import nn
from transformers import (BertConfig, BertModel, CamembertConfig, CamembertModel, ElectraConfig,
                          ElectraModel, RobertaConfig, RobertaModel, XLMRobertaConfig, XLMRobertaModel)

from mlang.train import dropout as fast

SMALL = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             max_position_embeddings=64)
ENCODERS = {"bert": lambda: BertModel(BertConfig(**SMALL)),
            "roberta": lambda: RobertaModel(RobertaConfig(**SMALL, pad_token_id=1)),
            "xlm-roberta": lambda: XLMRobertaModel(XLMRobertaConfig(**SMALL, pad_token_id=1)),
            "camembert": lambda: CamembertModel(CamembertConfig(**SMALL, pad_token_id=1)),
            "electra": lambda: ElectraModel(ElectraConfig(**SMALL, embedding_size=16))}


def test_drop_zeroes_a_p_share_and_scales_the_rest():
    x = torch.ones(1_000_000)
    y = fast.drop(x, 0.1)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - 0.1) < 0.002
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.9), rtol=1e-4)


def test_drop_passes_the_gradient_through_the_same_mask():
    x = torch.randn(64, 50, requires_grad=True)
    y = fast.drop(x, 0.3)
    y.sum().backward()
    kept = y.detach() != 0
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 1 / 0.7), rtol=1e-4)
    assert torch.all(x.grad[~kept] == 0)


def test_drop_follows_torchs_seed_and_differs_call_to_call():
    x = torch.ones(4096)
    torch.manual_seed(3)
    first, second = fast.drop(x, 0.5), fast.drop(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(fast.drop(x, 0.5), first)
    assert not torch.equal(first, second)


def test_drop_is_identity_outside_training_zeroes_all_at_one_and_rejects_a_bad_rate():
    x = torch.randn(10, requires_grad=True)
    assert fast.drop(x, 0.5, training=False) is x
    assert fast.drop(x, 0.0) is x
    everything = fast.drop(x, 1.0)  # as torch's: nn.Dropout(p=1) gives zeros
    everything.sum().backward()
    assert torch.all(everything == 0) and torch.all(x.grad == 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fast.drop(x, 1.5)


@pytest.mark.parametrize("model_type", sorted(ENCODERS))
def test_encoders_train_with_it_and_compute_what_they_computed(model_type, monkeypatch):
    encoder = ENCODERS[model_type]()
    assert model_type in fast.ATTENTION_TYPES
    torch.manual_seed(0)
    ids = torch.randint(5, 99, (3, 11))
    mask = torch.ones(3, 11, dtype=torch.long)
    mask[1, 6:] = 0
    with torch.no_grad():
        expected = encoder.eval()(input_ids=ids, attention_mask=mask).last_hidden_state
    with fast.cpu_dropout(encoder):
        assert encoder.config._attn_implementation == fast.ATTENTION
        assert all(type(m) is not nn.Dropout for m in encoder.modules())
        with torch.no_grad():  # evaluation inside: no dropout, sdpa as before
            assert torch.allclose(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, expected,
                                  atol=1e-5)
        encoder.train()
        torch.manual_seed(1)
        noisy = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        assert not torch.allclose(noisy, expected, atol=1e-3)  # dropout is on
        noisy.sum().backward()
        # training-mode attention without its masks is the eager attention of evaluation
        monkeypatch.setattr(fast, "dropped", lambda shape, p: (torch.zeros(shape, dtype=torch.bool), 1.0))
        with torch.no_grad():
            assert torch.allclose(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, expected,
                                  atol=1e-5)
    assert encoder.config._attn_implementation == "sdpa"
    assert any(type(m) is nn.Dropout for m in encoder.modules())
    assert all(p.grad is not None for p in encoder.encoder.parameters())


def test_a_model_is_given_back_as_it_was_when_training_fails():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2))
    with pytest.raises(RuntimeError, match="boom"):
        with fast.cpu_dropout(model):
            assert type(model[1]) is fast.CPUDropout
            raise RuntimeError("boom")
    assert type(model[1]) is nn.Dropout


def test_fine_tuning_on_cpu_uses_it_and_leaves_the_model_as_it_was(monkeypatch):
    from mlang.lang.api import run_source

    rates = []
    real = fast.drop
    monkeypatch.setattr(fast, "drop", lambda x, p, training=True: rates.append(p) or real(x, p, training))
    scope = run_source(textwrap.dedent("""
        import python torch
        x = torch.randn(64, 3)
        model Line extends Regressor { num_features = 3; hidden = 16; dropout = 0.25 }
        net = fineTuneModel(Line(), (x, x[:, 0]), epochs=1, batch_size=16, device="cpu", progress=false)
    """), "dropout.m")
    assert rates and set(rates) == {0.25}
    assert all(type(m) is not fast.CPUDropout for m in scope["net"].modules())
    assert any(type(m) is nn.Dropout for m in scope["net"].modules())


def test_attention_gives_the_gradients_of_dropout_then_matmul(monkeypatch):
    torch.manual_seed(0)
    mask = torch.rand(2, 3, 5, 5) < 0.3
    monkeypatch.setattr(fast, "dropped", lambda shape, p: (mask, 1 / 0.7))
    query, key, value = (torch.randn(2, 3, 5, 4, requires_grad=True) for _ in range(3))
    padding = torch.zeros(2, 1, 5, 5)
    padding[1, :, :, 3:] = torch.finfo(torch.float32).min
    module = nn.Module().train()
    ours, _ = fast.attention(module, query, key, value, padding, dropout=0.3)
    ours.square().sum().backward()
    mine = [t.grad.clone() for t in (query, key, value)]
    for t in (query, key, value):
        t.grad = None
    weights = torch.softmax(query @ key.transpose(2, 3) * 0.5 + padding, dim=-1)
    expected = (weights.masked_fill(mask, 0) / 0.7 @ value).transpose(1, 2)
    assert torch.allclose(ours, expected, atol=1e-6)
    expected.square().sum().backward()
    for got, want in zip(mine, (query.grad, key.grad, value.grad)):
        assert torch.allclose(got, want, atol=1e-5)


def test_attention_under_bf16_autocast_stays_finite_where_a_row_is_all_padding():
    query, key, value = (torch.randn(1, 2, 4, 8, requires_grad=True) for _ in range(3))
    padding = torch.zeros(1, 1, 4, 4)
    padding[..., 1, :] = torch.finfo(torch.float32).min  # query 1 may attend to nothing
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output, _ = fast.attention(nn.Module().train(), query, key, value, padding, dropout=0.1)
    output.float().sum().backward()
    assert torch.isfinite(output).all() and all(torch.isfinite(t.grad).all() for t in (query, key, value))
