"""The MModel contract other stages rely on: inputs in any form, example inputs, summary, task."""
import numpy as np
import pytest
import torch
from PIL import Image

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models import MModel
from mlang.models.layers import create_layer
from mlang.models.stack import LayerStackModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")

B = T.Sym("B")


def tabular():
    return LayerStackModel([create_layer("Dense", (2,))], T.TensorType("float32", (B, 3)))


def test_forward_accepts_tensors_dicts_keywords_arrays_and_raw_examples():
    model = tabular()
    x = torch.rand(4, 3)
    expected = model(x)
    assert torch.equal(model({"x": x}), expected)
    assert torch.equal(model(x=x), expected)
    assert torch.allclose(model(x.numpy().astype(np.float64)), expected)
    assert torch.allclose(model([[float(v) for v in row] for row in x]), expected)
    assert model.preprocess([[1, 2, 3], [4, 5, 6]])["x"].shape == (2, 3)


def test_image_models_preprocess_pil_images_and_arrays():
    model = LayerStackModel([create_layer("GlobalAvgPool")], T.ImageType(3, 16, 16))
    pil = Image.fromarray(np.full((20, 24, 3), 255, dtype=np.uint8))
    gray = np.zeros((16, 16), dtype=np.uint8)
    features = model.preprocess([pil, gray])
    assert features["x"].shape == (2, 3, 16, 16)
    assert torch.allclose(model([pil]), torch.ones(1, 3))


def test_example_inputs_are_a_valid_batch():
    assert tabular().example_inputs(5)["x"].shape == (5, 3)
    ids = LayerStackModel([create_layer("Embedding", (10, 4))], T.TensorType("int64", (B, 7)))
    batch = ids.example_inputs()
    assert batch["x"].dtype == torch.int64 and ids(**batch).shape == (2, 7, 4)
    with pytest.raises(MError, match="cannot make example inputs"):
        MModel().example_inputs()


def test_summary_lists_layers_shapes_and_totals():
    text = tabular().summary(print_fn=None)
    assert "0: Dense(2)" in text and "(None, 2)" in text
    assert "Total params: 8" in text and "Non-trainable params: 0" in text


def test_it_is_a_torch_module():
    model = tabular()
    assert isinstance(model, torch.nn.Module) and len(list(model.parameters())) == 2
    model.to(torch.float64)
    assert model(torch.rand(1, 3, dtype=torch.float64)).dtype == torch.float64
    assert set(model.state_dict()) == {"layers.0.weight", "layers.0.bias"}
    assert model.task is None and model.labels is None and model.transforms == []


def test_bad_inputs_are_m_errors():
    with pytest.raises(MError, match="examples have different shapes"):
        tabular().preprocess([[1, 2, 3], [1, 2]])
    with pytest.raises(MError, match="was called with no input"):
        tabular()()
