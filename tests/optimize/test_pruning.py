"""Pruning: exact sparsity for weights, real shape reduction for neurons, channels and heads."""

import pytest
import torch

from mlang.lang.diagnostics import MError
from mlang.optimize import Pruning
from mlang.optimize.pruning import prunable_weights


def zeros_and_total(model):
    weights = prunable_weights(model).values()
    return sum(int((w == 0).sum()) for w in weights), sum(w.numel() for w in weights)


@pytest.mark.parametrize("amount", [0.2, 0.5, 0.9])
def test_global_weight_pruning_zeroes_exactly_the_requested_share(mlp, amount):
    Pruning(strategy="magnitude", percentage=amount, scope="global", target="weights").apply(mlp)
    zeros, total = zeros_and_total(mlp)
    assert zeros == round(amount * total)


def test_global_pruning_removes_the_smallest_weights_across_layers(mlp):
    all_weights = torch.cat([w.detach().abs().flatten() for w in prunable_weights(mlp).values()])
    threshold = all_weights.sort().values[round(0.3 * len(all_weights))]
    Pruning(percentage=0.3).apply(mlp)
    for weight in prunable_weights(mlp).values():
        assert (weight.abs() >= threshold).sum() + (weight == 0).sum() == weight.numel()


def test_local_weight_pruning_prunes_each_layer_by_the_same_share(mlp):
    Pruning(percentage=20, scope="local").apply(mlp)  # 20 means 20 %
    for weight in prunable_weights(mlp).values():
        assert int((weight == 0).sum()) == round(0.2 * weight.numel())


def test_weight_pruning_keeps_shapes_and_leaves_no_masks(mlp):
    shapes = {k: v.shape for k, v in mlp.state_dict().items()}
    step = Pruning(percentage=0.3)
    step.apply(mlp)
    assert {k: v.shape for k, v in mlp.state_dict().items()} == shapes
    assert not any("mask" in k or "orig" in k for k in mlp.state_dict())
    assert "30.0%" in step.describe()


@pytest.mark.parametrize("strategy", ["magnitude", "l1", "l2"])
def test_neuron_pruning_shrinks_linear_layers(mlp, strategy):
    x = torch.randn(5, 16)
    Pruning(strategy=strategy, percentage=0.25, scope="local", target="neurons").apply(mlp)
    assert mlp[0].weight.shape == (48, 16) and mlp[2].weight.shape == (24, 48)
    assert mlp[4].weight.shape == (4, 24)
    assert mlp(x).shape == (5, 4)
    assert mlp.transforms[-1]["transform"] == "prune_structured"


def test_l2_neuron_pruning_keeps_the_largest_rows(mlp):
    norms = mlp[0].weight.detach().norm(dim=1)
    keep = set(norms.argsort(descending=True)[:32].tolist())
    kept_rows = mlp[0].weight.detach()[sorted(keep)]
    Pruning(strategy="l2", percentage=0.5, scope="local", target="neurons").apply(mlp)
    assert torch.equal(mlp[0].weight.detach(), kept_rows)


def test_removing_dead_neurons_does_not_change_outputs():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    with torch.no_grad():
        mlp[0].weight[:16] = 0  # 16 neurons that never fire (ReLU(0 + b) with b < 0)
        mlp[0].bias[:16] = -1
    x = torch.randn(8, 16)
    expected = mlp(x)
    Pruning(strategy="l1", percentage=0.25, scope="local", target="neurons").apply(mlp)
    assert mlp[0].out_features == 48
    torch.testing.assert_close(mlp(x), expected)


def test_channel_pruning_shrinks_convs_batchnorms_and_the_flattened_linear(cnn):
    x = torch.randn(2, 3, 8, 8)
    Pruning(strategy="l1", percentage=0.5, scope="local", target="channels").apply(cnn)
    assert cnn[0].weight.shape == (4, 3, 3, 3) and cnn[1].num_features == 4
    assert cnn[4].weight.shape == (8, 4, 3, 3) and cnn[5].running_mean.shape == (8,)
    assert cnn[8].weight.shape == (10, 8 * 4 * 4)
    assert cnn(x).shape == (2, 10)


def test_head_and_ffn_pruning_shrink_a_bert_encoder(tiny_bert, token_batch):
    Pruning(percentage=0.5, scope="local", target="heads").apply(tiny_bert)
    Pruning(percentage=0.25, scope="global", target="neurons").apply(tiny_bert)
    layer = tiny_bert.bert.encoder.layer[0]
    assert layer.attention.self.query.weight.shape == (16, 32)
    assert layer.attention.self.num_attention_heads == 2
    assert layer.attention.output.dense.weight.shape == (32, 16)
    total_ffn = sum(l.intermediate.dense.out_features for l in tiny_bert.bert.encoder.layer)
    assert total_ffn == 96  # 25 % of 2 × 64 removed, spread globally
    assert tiny_bert(**token_batch).logits.shape == (4, 2)


def test_pruning_a_model_without_the_target_is_an_error(mlp):
    with pytest.raises(MError, match="no prunable heads"):
        Pruning(target="heads").apply(mlp)


@pytest.mark.parametrize("kwargs, field", [({"strategy": "random"}, "strategy"),
                                           ({"scope": "everywhere"}, "scope"),
                                           ({"target": "layers"}, "target"),
                                           ({"percentage": 150}, "percentage")])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(MError) as error:
        Pruning(**kwargs)
    assert error.value.field == field
