"""The layer catalogue: every layer's shape rule agrees with the torch module its builder makes."""
import pytest
import torch

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.layers import LayerArgError, create_layer, layer_names
from mlang.models.layers.base import Layer, layer_from_config, register_layer
from mlang.models.shapes import ShapeMismatch, propagate
from mlang.models.stack import LayerStackModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")

B = T.Sym("B")


def tensor(*dims, dtype="float32"):
    return T.TensorType(dtype, (B, *dims))


CASES = [
    ("Dense", (7,), {}, tensor(5)),
    ("Dense", (7,), {"activation": "gelu", "bias": False}, tensor(3, 5)),
    ("Linear", (2,), {}, tensor(4)),
    ("Conv1D", (6,), {"kernel": 3}, tensor(2, 20)),
    ("Conv1D", (6,), {"kernel": 4, "stride": 2, "padding": "same"}, tensor(2, 21)),
    ("Conv2D", (8,), {"kernel": 3, "padding": "same"}, tensor(3, 16, 16)),
    ("Conv2D", (8,), {"kernel": (3, 5), "stride": (2, 1), "padding": "same"}, tensor(3, 15, 16)),
    ("Conv2D", (4,), {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2}, tensor(3, 17, 17)),
    ("MaxPool2D", (2,), {}, tensor(3, 9, 9)),
    ("MaxPooling2D", (), {"pool_size": (2, 2), "stride": (2, 2), "padding": "valid"}, tensor(3, 8, 8)),
    ("MaxPool2D", (3,), {"stride": 2, "padding": "same"}, tensor(2, 9, 10)),
    ("AvgPool2D", (3,), {"stride": 2, "padding": "same"}, tensor(2, 9, 10)),
    ("AveragePooling2D", (2,), {}, tensor(2, 8, 8)),
    ("MaxPool1D", (2,), {}, tensor(4, 11)),
    ("AvgPool1D", (3,), {"stride": 1}, tensor(4, 11)),
    ("GlobalAvgPool", (), {}, tensor(6, 5, 5)),
    ("GlobalMaxPooling1D", (), {}, tensor(6, 9)),
    ("BatchNorm", (), {}, tensor(6, 5, 5)),
    ("BatchNormalization", (), {}, tensor(6)),
    ("LayerNorm", (), {}, tensor(7, 12)),
    ("Dropout", (0.3,), {}, tensor(7)),
    ("Activation", ("leaky_relu",), {}, tensor(3, 4)),
    ("ReLU", (), {}, tensor(4)),
    ("GELU", (), {}, tensor(4)),
    ("Tanh", (), {}, tensor(4)),
    ("Sigmoid", (), {}, tensor(4)),
    ("Softmax", (), {"dim": 1}, tensor(4, 2)),
    ("Flatten", (), {}, tensor(3, 4, 5)),
    ("Reshape", ((4, -1),), {}, tensor(12)),
    ("Embedding", (50, 8), {}, tensor(9, dtype="int64")),
    ("LSTM", (10,), {}, tensor(7, 4)),
    ("LSTM", (10,), {"bidirectional": True, "return_sequences": True, "num_layers": 2}, tensor(7, 4)),
    ("GRU", (5,), {"return_sequences": True}, tensor(6, 3)),
    ("MultiHeadAttention", (4,), {}, tensor(6, 16)),
    ("TransformerEncoderLayer", (2,), {"ff_dim": 32}, tensor(5, 8)),
    ("TransformerEncoder", (2, 2), {}, tensor(5, 8)),
]


def concrete(t: T.TensorType, batch: int = 3) -> tuple:
    return tuple(batch if not isinstance(d, int) else d for d in t.dims)


@pytest.mark.parametrize("name, args, kwargs, input_type", CASES, ids=lambda c: str(c)[:40])
def test_shape_rule_matches_the_built_module(name, args, kwargs, input_type):
    layer = create_layer(name, args, kwargs)
    out_type = propagate(input_type, [layer])[0]
    module = layer.build(input_type)
    module.eval()
    shape = concrete(input_type)
    x = torch.randint(0, 50, shape) if input_type.dtype == "int64" else torch.rand(shape)
    with torch.no_grad():
        y = module(x)
    assert tuple(y.shape) == concrete(out_type), f"{layer.describe()}: rule says {out_type}"


def test_residual_wraps_a_sub_stack():
    layer = create_layer("Residual", (create_layer("Dense", (8,)), create_layer("ReLU")))
    x = torch.rand(2, 8)
    module = layer.build(tensor(8))
    assert torch.allclose(module(x), x + module.body(x))
    assert propagate(tensor(8), [layer]) == [tensor(8)]


def test_forecast_wraps_a_forecasting_stack():
    """Forecast's modes are tested through SequenceForecaster (tests/models/test_forecaster.py)."""
    layer = create_layer("Forecast", (create_layer("LSTM", (4,)), create_layer("Dense", (2,))),
                         {"scaling": "window", "target": "returns"})
    seq = T.TensorType("float32", (T.Sym("B"), 5, 1))
    assert propagate(seq, [layer])[0] == T.TensorType("float32", (T.Sym("B"), 2))
    assert layer.build(seq)(torch.rand(3, 5, 1)).shape == (3, 2)
    assert layer_from_config(layer.to_config()) == layer


def test_every_catalogue_layer_is_covered():
    covered = {c[0] for c in CASES} | {"Residual", "Forecast"}
    from mlang.models.layers import layer_class
    classes = {layer_class(n) for n in layer_names() if not isinstance(layer_class(n), str)}
    ours = {c for c in classes if c.__module__.startswith("mlang.models.layers.")}
    assert {c for c in ours if not ({c.NAME, *c.ALIASES} & covered)} == set()


def test_unknown_dims_flow_as_unknown_never_as_errors():
    stack = [create_layer("Conv2D", (4,)), create_layer("Flatten"), create_layer("Dense", (3,))]
    types = propagate(T.TensorType("float32", (B, 3, None, T.Sym("W"))), stack)
    assert types[-1] == T.TensorType("float32", (B, 3))
    assert propagate(T.ANY, stack)[-1] == T.TensorType("float32", None)
    assert propagate(T.TensorType("float32", None), stack)[-1] == T.TensorType("float32", None)


def test_shape_mismatch_states_both_shapes():
    with pytest.raises(ShapeMismatch) as err:
        propagate(tensor(10), [create_layer("LSTM", (4,))])
    assert str(err.value.diagnostics[0].message) == (
        "shape mismatch at LSTM: it expects a 3-d input [B, T, features], but its input is Tensor[float32, B, 10]")
    with pytest.raises(ShapeMismatch, match="cannot reshape 12 elements to \\(5, -1\\)"):
        propagate(tensor(12), [create_layer("Reshape", ((5, -1),))])
    with pytest.raises(ShapeMismatch, match="divisible by num_heads=3"):
        propagate(tensor(4, 16), [create_layer("MultiHeadAttention", (3,))])
    with pytest.raises(ShapeMismatch, match="pool window of 4 larger than the input size 3"):
        propagate(tensor(2, 3, 3), [create_layer("MaxPool2D", (4,))])
    with pytest.raises(ShapeMismatch, match="integer token ids"):
        propagate(tensor(5), [create_layer("Embedding", (10, 4))])


def test_layers_built_without_a_known_size_say_what_to_declare():
    with pytest.raises(MError, match="cannot build without knowing its input features"):
        LayerStackModel([create_layer("Dense", (3,))], T.TensorType("float32", (B, None)))


def test_bad_arguments_are_layer_arg_errors():
    with pytest.raises(LayerArgError, match="Conv2D: kernel must be 2 positive int"):
        create_layer("Conv2D", (3,), {"kernel": (3, 0)})
    with pytest.raises(LayerArgError, match="Dense\\(\\) has no argument 'unit'"):
        create_layer("Dense", (), {"unit": 3})
    with pytest.raises(MError, match="unknown layer 'Dens'"):
        create_layer("Dens", (3,))
    with pytest.raises(LayerArgError, match="Residual: wraps layers, got int 3"):
        create_layer("Residual", (3,))


def test_python_construction_checks_arguments_too():
    from mlang.models.layers.dense import Dense
    with pytest.raises(LayerArgError, match="argument 'units' must be int"):
        Dense("3")


def test_registering_a_layer_is_one_class():
    from dataclasses import dataclass

    @register_layer
    @dataclass
    class Scale(Layer):
        NAME = "TestScale"
        factor: float = 2.0

        def output_type(self, x):
            return x

        def build(self, x):
            factor = self.factor

            class Mul(torch.nn.Module):
                def forward(self, t):
                    return t * factor
            return Mul()

    model = LayerStackModel([create_layer("TestScale", (3.0,)), create_layer("Dense", (2,))], tensor(4))
    assert model(torch.ones(1, 4)).shape == (1, 2)
    assert "TestScale" in layer_names()


def test_layer_config_round_trip():
    layer = create_layer("Residual", (create_layer("Conv2D", (4,), {"kernel": (3, 3), "padding": "same"}),))
    from mlang.models.layers import layer_from_config
    again = layer_from_config(layer.to_config())
    assert again == layer and again.to_config() == layer.to_config()
