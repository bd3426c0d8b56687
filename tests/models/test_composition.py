"""sequentialModel, parallelModel, customModel: checked types; the results are models again."""
import pytest
import torch

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.trust import TrustedCodeWarning
from mlang.models import customModel, dump, parallelModel, restore, sequentialModel
from mlang.models.layers import create_layer
from mlang.models.shapes import ShapeMismatch
from mlang.models.stack import LayerStackModel
from models_m import run_m

pytestmark = pytest.mark.usefixtures("one_torch_thread")

B = T.Sym("B")


def mlp(inputs: int, *widths: int) -> LayerStackModel:
    layers = []
    for width in widths:
        layers += [create_layer("Dense", (width,)), create_layer("ReLU")]
    return LayerStackModel(layers[:-1], T.TensorType("float32", (B, inputs)))


def add_outputs(x, a, b):
    return a(x) + b(x)


def test_sequential_feeds_each_output_to_the_next():
    a, b = mlp(4, 8), mlp(8, 3)
    seq = sequentialModel(a, b)
    x = torch.rand(2, 4)
    assert torch.allclose(seq(x), b(a(x)))
    assert str(seq.input_type) == "Tensor[float32, B, 4]" and str(seq.output_type) == "Tensor[float32, B, 3]"
    assert seq.count_params() == a.count_params() + b.count_params()


def test_sequential_rejects_a_mismatch_stating_both_types():
    with pytest.raises(ShapeMismatch) as err:
        sequentialModel(mlp(4, 8), mlp(6, 3))
    assert err.value.diagnostics[0].message == (
        "shape mismatch in sequentialModel: part 1 (LayerStack) outputs Tensor[float32, B, 8] "
        "but part 2 (LayerStack) expects Tensor[float32, B, 6]")


@pytest.mark.parametrize("merge, shape", [("concat", (2, 7)), ("sum", (2, 3)), ("stack", (2, 2, 3))])
def test_parallel_merges(merge, shape):
    a, b = mlp(4, 3), mlp(4, 3 if merge != "concat" else 4)
    par = parallelModel(a, b, merge=merge)
    x = torch.rand(2, 4)
    out = par(x)
    assert out.shape == shape
    expected = {"concat": lambda: torch.cat([a(x), b(x)], -1), "sum": lambda: a(x) + b(x),
                "stack": lambda: torch.stack([a(x), b(x)], 1)}[merge]()
    assert torch.allclose(out, expected)
    assert tuple(d if isinstance(d, int) else 2 for d in par.output_type.dims) == shape


def test_parallel_merge_errors():
    with pytest.raises(ShapeMismatch, match='merge="sum"\\) needs equal shapes'):
        parallelModel(mlp(4, 3), mlp(4, 5), merge="sum")
    with pytest.raises(MError, match="unknown merge 'add'"):
        parallelModel(mlp(4, 3), mlp(4, 3), merge="add")
    with pytest.raises(ShapeMismatch, match="every part must accept the same input"):
        parallelModel(mlp(4, 3), mlp(5, 3))


def test_custom_model_runs_the_function_over_its_submodels():
    a, b = mlp(4, 3), mlp(4, 3)
    custom = customModel(add_outputs, a, b)
    x = torch.rand(5, 4)
    assert torch.allclose(custom(x), a(x) + b(x))
    assert set(dict(custom.named_parameters())) == {f"parts.{i}.layers.0.{p}" for i in (0, 1) for p in ("weight", "bias")}
    with pytest.raises(MError, match="takes 3 argument\\(s\\) but is given the input and 1 submodel"):
        customModel(add_outputs, a)
    with pytest.raises(MError, match="argument 2 is a int, not a model"):
        customModel(add_outputs, a, 3)


def test_composed_models_compose_again_train_and_save():
    inner = parallelModel(mlp(4, 3), mlp(4, 5), merge="concat")
    model = sequentialModel(inner, mlp(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.rand(16, 4), torch.rand(16, 2)
    losses = []
    for _ in range(20):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    again = restore(dump(model))
    assert type(again) is type(model)
    assert torch.allclose(again(x), model(x))


def test_custom_models_save_when_their_function_is_importable():
    model = customModel(add_outputs, mlp(4, 3), mlp(4, 3))
    with pytest.raises(MError, match="the Python function .*add_outputs"):
        restore(dump(model))  # importing a module named in a file is running code: trusted only
    with pytest.warns(TrustedCodeWarning, match="the Python function .*add_outputs"):
        again = restore(dump(model), trust_code=True)
    x = torch.rand(2, 4)
    assert torch.allclose(again(x), model(x))
    with pytest.raises(MError, match="not importable by name"):
        dump(customModel(lambda x, a: a(x), mlp(4, 3)))


def test_composition_from_m_with_declared_models_and_forward_functions():
    g = run_m("""\
model Left {
    input: Tensor[float32, B, 4]
    Dense(3)
}
model Right {
    input: Tensor[float32, B, 4]
    Dense(3)
}
model Head {
    input: Tensor[float32, B, 3]
    Dense(2)
}
func combine(x, a, b) {
    return a(x) * b(x)
}
both = parallelModel(Left(), Right(), merge="sum")
pipeline = sequentialModel(both, Head())
custom = customModel(combine, Left(), Right())
""")
    x = torch.rand(2, 4)
    assert g["pipeline"](x).shape == (2, 2)
    assert g["custom"](x).shape == (2, 3)
    assert str(g["pipeline"].output_type) == "Tensor[float32, B, 2]"


def test_a_custom_model_with_an_m_function_saves_and_restores():
    g = run_m("""\
model Left {
    input: Tensor[float32, B, 4]
    Dense(3)
}
func weighted(x, a, b) {
    return a(x) * 0.25 + b(x)
}
custom = customModel(weighted, Left(), Left())
""", filename="custom_save.m")
    model = g["custom"]
    with pytest.warns(TrustedCodeWarning, match="the M source of customModel"):
        again = restore(dump(model), trust_code=True)
    x = torch.rand(2, 4)
    assert torch.allclose(again(x), model(x))
