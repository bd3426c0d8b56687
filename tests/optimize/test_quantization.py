"""Quantization: int8 Linear/Conv/LSTM/GRU/Embedding, 16-bit weights, sizes and closeness."""
import pytest
import torch
from torch import nn

from mlang.lang.diagnostics import MError
from mlang.optimize import Quantization
from mlang.optimize.layers import Int8Conv2d, Int8Embedding, Int8Linear, Int8RNN
from mlang.optimize.passes import OptimizationContext
from mlang.optimize.report import serialized_size


def relative_error(actual, expected):
    return float((actual - expected).detach().norm() / expected.detach().norm())


def test_int8_linear_layers_stay_close_and_keep_shapes(mlp):
    x = torch.randn(64, 16)
    expected = mlp(x)
    step = Quantization(bits=8, scope="global", method="linear")
    step.apply(mlp)
    assert all(isinstance(mlp[i], Int8Linear) for i in (0, 2, 4))
    assert mlp[0].weight_int8.shape == (64, 16) and mlp[0].weight_int8.dtype == torch.int8
    assert mlp(x).shape == expected.shape
    assert relative_error(mlp(x), expected) < 0.03
    assert "3 Linear (dynamic)" in step.describe()


def test_per_channel_weights_beat_per_tensor_on_uneven_rows():
    torch.manual_seed(0)
    layer = nn.Linear(64, 32)
    with torch.no_grad():
        layer.weight[:4] *= 50  # a few rows with large weights, as outlier channels have
    x = torch.randn(128, 64)
    errors = {}
    for per_channel in (True, False):
        quantized = Int8Linear.from_float(layer, per_channel=per_channel)
        ordinary_rows = slice(4, None)
        errors[per_channel] = relative_error(quantized.dequantized_weight()[ordinary_rows],
                                             layer.weight[ordinary_rows])
    assert errors[True] < errors[False] / 5


def test_int8_shrinks_the_serialized_weights_about_four_times(mlp):
    before = serialized_size(mlp)
    Quantization(bits=8).apply(mlp)
    assert serialized_size(mlp) < 0.4 * before


def test_int8_embedding_tables_are_weight_only():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(50, 16), nn.Linear(16, 2))
    ids = torch.randint(0, 50, (3, 7))
    expected = model(ids)
    Quantization(bits=8).apply(model)
    assert isinstance(model[0], Int8Embedding)
    assert relative_error(model(ids), expected) < 0.03
    assert isinstance(model[0].weight, torch.Tensor) and model[0].weight.shape == (50, 16)


def test_embeddings_can_stay_float():
    model = nn.Sequential(nn.Embedding(50, 16), nn.Linear(16, 2))
    Quantization(bits=8, embeddings=False).apply(model)
    assert isinstance(model[0], nn.Embedding) and isinstance(model[1], Int8Linear)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_layers_run_in_int8(kind):
    torch.manual_seed(0)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(8, 16, num_layers=2, batch_first=True)
            self.head = nn.Linear(16, 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    model = Recurrent().eval()
    x = torch.randn(4, 10, 8)
    expected = model(x)
    Quantization(bits=8).apply(model)
    assert isinstance(model.rnn, Int8RNN) and model.rnn.weight_ih_l0_int8.dtype == torch.int8
    assert relative_error(model(x), expected) < 0.05


def test_static_int8_convolutions_use_calibration_data(cnn):
    torch.manual_seed(0)
    calibration = torch.randn(64, 3, 8, 8)
    x = torch.randn(16, 3, 8, 8)
    expected = cnn(x)
    step = Quantization(bits=8)
    step.apply(cnn, OptimizationContext(calibration=calibration))
    assert isinstance(cnn[0], Int8Conv2d) and isinstance(cnn[4], Int8Conv2d)
    assert relative_error(cnn(x), expected) < 0.08
    assert "2 Conv2d (static)" in step.describe()


def test_without_calibration_convolutions_are_weight_only_and_the_pass_says_so(cnn):
    x = torch.randn(4, 3, 8, 8)
    expected = cnn(x)
    step = Quantization(bits=8)
    step.apply(cnn)
    assert isinstance(cnn[0], Int8Conv2d) and not cnn[0].static
    assert "weight-only" in step.describe() and "calibration" in step.describe()
    assert relative_error(cnn(x), expected) < 0.03


def test_static_linear_without_calibration_is_an_error(mlp):
    with pytest.raises(MError) as error:
        Quantization(bits=8, method="static").apply(mlp)
    assert error.value.field == "calibration"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_16_bit_weights_halve_the_size_and_stay_close(mlp, dtype):
    x = torch.randn(8, 16)
    expected, before = mlp(x), serialized_size(mlp)
    Quantization(bits=16, dtype=dtype).apply(mlp)
    stored = [t for k, t in mlp.state_dict().items() if k.endswith("original")]
    assert len(stored) == 3 and all(t.dtype == getattr(torch, dtype) for t in stored)
    assert serialized_size(mlp) < 0.6 * before
    assert mlp(x).dtype == torch.float32
    assert relative_error(mlp(x), expected) < (0.01 if dtype == "float16" else 0.03)


def test_local_scope_quantizes_only_the_named_layers(mlp):
    Quantization(bits=8, scope="local", layers=["0", "2"]).apply(mlp)
    assert isinstance(mlp[0], Int8Linear) and isinstance(mlp[2], Int8Linear)
    assert isinstance(mlp[4], nn.Linear)


def test_bad_bits_are_refused():
    with pytest.raises(MError) as error:
        Quantization(bits=4)
    assert error.value.field == "bits"
