"""Property: whenever the checker accepts a random layer stack, building and running it works and
gives exactly the shape the checker predicted (the shape rules never lie)."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlang.lang import types as T
from mlang.models.layers import create_layer
from mlang.models.shapes import ShapeMismatch, propagate
from mlang.models.stack import LayerStackModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")

B = T.Sym("B")

layer_specs = st.one_of(
    st.builds(lambda f, k, s, p: ("Conv2D", (f,), {"kernel": k, "stride": s, "padding": p}),
              st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.sampled_from(["valid", "same", 1])),
    st.builds(lambda f, k, s, p: ("Conv1D", (f,), {"kernel": k, "stride": s, "padding": p}),
              st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.sampled_from(["valid", "same"])),
    st.builds(lambda n, k, s, p: (n, (k,), {"stride": s, "padding": p}),
              st.sampled_from(["MaxPool2D", "AvgPool2D", "MaxPool1D", "AvgPool1D"]),
              st.integers(1, 3), st.sampled_from([None, 1, 2]), st.sampled_from(["valid", "same"])),
    st.builds(lambda u: ("Dense", (u,), {}), st.integers(1, 6)),
    st.sampled_from([("Flatten", (), {}), ("ReLU", (), {}), ("GlobalAvgPool", (), {}), ("BatchNorm", (), {}),
                     ("LayerNorm", (), {}), ("Dropout", (0.1,), {})]),
    st.builds(lambda s: ("Reshape", (s,), {}), st.sampled_from([(-1,), (2, -1), (4, -1), (3, 2, -1)])),
)

input_types = st.one_of(
    st.builds(lambda c, h, w: T.TensorType("float32", (B, c, h, w)), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)),
    st.builds(lambda c, l: T.TensorType("float32", (B, c, l)), st.integers(1, 3), st.integers(1, 12)),
    st.builds(lambda f: T.TensorType("float32", (B, f)), st.integers(1, 8)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(input_types, st.lists(layer_specs, min_size=1, max_size=5))
def test_accepted_stacks_run_with_the_predicted_shape(input_type, specs):
    layers = [create_layer(name, args, kwargs) for name, args, kwargs in specs]
    try:
        predicted = propagate(input_type, layers)[-1]
    except ShapeMismatch:
        return  # rejected before running: nothing to compare
    model = LayerStackModel(layers, input_type).eval()
    x = torch.rand(2, *input_type.dims[1:])
    with torch.no_grad():
        out = model(x)
    expected = tuple(2 if i == 0 else d for i, d in enumerate(predicted.dims))
    assert tuple(out.shape) == expected, f"{[l.describe() for l in layers]} on {input_type}"


argument_values = st.one_of(st.integers(-3, 70), st.floats(-1, 2, allow_nan=False).map(lambda f: round(f, 2)),
                            st.sampled_from(['"same"', '"valid"', '"relu"', '"x"', "true", "none", "(2, 2)",
                                             "(3,)", "[1, 2, 3]", "n", "n * 2", "(2, -1)"]))
layer_names_or_typos = st.sampled_from(["Dense", "Conv2D", "Conv1D", "MaxPool2D", "AvgPool1D", "Flatten",
                                        "Reshape", "Embedding", "LSTM", "GRU", "MultiHeadAttention",
                                        "TransformerEncoder", "Residual", "Activation", "Dropout", "BatchNorm",
                                        "Dens", "conv2d", "Softmax", "GlobalMaxPool"])
keyword_names = st.sampled_from(["kernel", "stride", "padding", "units", "rate", "bogus", "num_heads", "shape",
                                 "return_sequences", "dim", "activation"])


@st.composite
def model_sources(draw):
    lines = ["model Fuzz {", "    input: " + draw(st.sampled_from(
        ["Tensor[float32, B, 8]", "Image[3, 8, 8]", "Tensor[int64, B, T]", "Text", "Tensor[float32, B, T, 8]"])),
        "    n: int = " + str(draw(st.integers(-1, 9)))]
    for _ in range(draw(st.integers(0, 5))):
        args = [str(draw(argument_values)) for _ in range(draw(st.integers(0, 3)))]
        kwargs = [f"{draw(keyword_names)}={draw(argument_values)}" for _ in range(draw(st.integers(0, 2)))]
        lines.append(f"    {draw(layer_names_or_typos)}({', '.join(args + kwargs)})")
    lines.append("}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_sources())
def test_the_model_checker_never_crashes(source):
    from models_m import plugin_only

    for diagnostic in plugin_only(source):
        assert diagnostic.span is not None and diagnostic.span.line >= 1 and diagnostic.message
