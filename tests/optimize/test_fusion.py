"""Fusion: folded BatchNorm and fused activations give the unfused outputs within 1e-5."""
import torch
from torch import nn

from mlang.optimize import Fusion
from mlang.optimize.layers import FusedActivation


def test_conv_batchnorm_relu_fusion_matches_within_1e_5(cnn):
    x = torch.randn(4, 3, 8, 8)
    expected = cnn(x)
    step = Fusion()
    step.apply(cnn)
    assert isinstance(cnn[1], nn.Identity) and isinstance(cnn[5], nn.Identity)
    assert isinstance(cnn[0], FusedActivation) and isinstance(cnn[2], nn.Identity)
    torch.testing.assert_close(cnn(x), expected, atol=1e-5, rtol=1e-5)
    assert "folded 2 BatchNorm" in step.describe()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in cnn.modules())


def test_linear_batchnorm_and_activation_fusion_matches_within_1e_5():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16, bias=False), nn.BatchNorm1d(16), nn.GELU(),
                          nn.Linear(16, 4), nn.Tanh())
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    model.eval()
    x = torch.randn(5, 8)
    expected = model(x)
    Fusion().apply(model)
    assert model[0].layer.bias is not None  # the folded BatchNorm's shift
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)


def test_untraceable_models_fall_back_to_their_traceable_parts(cnn):
    class DataDependent(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            if x.sum() > 0:  # control flow on values: torch.fx cannot trace this
                return self.body(x)
            return self.body(-x)

    model = DataDependent(cnn).eval()
    x = torch.randn(2, 3, 8, 8)
    expected = model(x)
    step = Fusion()
    step.apply(model)
    assert "could not trace the model" in step.describe()
    assert "folded 2 BatchNorm" in step.describe()
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)


def test_a_shared_activation_module_is_not_fused():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.act = nn.Linear(4, 4), nn.Linear(4, 4), nn.ReLU()

        def forward(self, x):
            return self.act(self.b(self.act(self.a(x))))

    model = Shared()
    x = torch.randn(3, 4)
    expected = model(x)
    Fusion().apply(model)
    assert isinstance(model.act, nn.ReLU)
    torch.testing.assert_close(model(x), expected)
