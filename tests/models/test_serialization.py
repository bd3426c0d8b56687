"""dump / restore: architecture as JSON, tensors as a state dict, kinds and transforms pluggable."""
import json

import pytest
import torch

import mlang as m
from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models import Artifact, dump, register_transform, restore
from mlang.models.layers import create_layer
from mlang.models.stack import LayerStackModel
from mlang.models.trust import TrustedCodeWarning
from models_m import run_m

pytestmark = pytest.mark.usefixtures("one_torch_thread")

B = T.Sym("B")


def small_cnn():
    layers = [create_layer("Conv2D", (4,), {"kernel": 3, "padding": "same"}), create_layer("BatchNorm"),
              create_layer("ReLU"), create_layer("MaxPool2D", (2,)),
              create_layer("Residual", (create_layer("Conv2D", (4,), {"padding": "same"}),)),
              create_layer("Flatten"), create_layer("Dense", (3,))]
    return LayerStackModel(layers, T.ImageType(3, 8, 8), task="classification", labels=["a", "b", "c"])


def test_a_layer_stack_round_trips_exactly():
    model = small_cnn().eval()
    artifact = dump(model)
    json.dumps(artifact.config)  # the config is JSON
    assert artifact.config["model"]["kind"] == "layers"
    assert set(artifact.tensors) == set(model.state_dict())
    again = restore(artifact).eval()
    x = torch.rand(2, 3, 8, 8)
    assert torch.equal(again(x), model(x))
    assert again.task == "classification" and again.labels == ["a", "b", "c"]
    assert again.input_type == model.input_type and again.output_type == model.output_type


def test_declared_and_keras_models_round_trip():
    g = run_m("""\
model Seq {
    input: Tensor[int64, B, 12]
    output: Tensor[float32, B, 2]
    Embedding(30, 8)
    TransformerEncoder(1, num_heads=2, dropout=0.0)
    GRU(6)
    Dense(2)
}
s = Seq()
""")
    x = torch.randint(0, 30, (3, 12))
    declared = g["s"].eval()
    assert torch.allclose(restore(dump(declared)).eval()(x), declared(x), atol=1e-6)
    keras_model = m.Model([m.Conv2D(2, kernel=3, input_shape=(6, 6, 1)), m.Flatten(), m.Dense(2)])
    again = restore(dump(keras_model))
    image = torch.rand(2, 6, 6, 1)
    assert torch.allclose(again(image), keras_model(image))


def test_transforms_are_replayed_before_tensors_load():
    def replay_halve(model, record):
        first = model.layers[0]
        model.layers[0] = torch.nn.Linear(first.in_features, record["units"])
        model.layers[2] = torch.nn.Linear(record["units"], model.layers[2].out_features)
        return model

    register_transform("test_shrink", replay_halve)
    model = LayerStackModel([create_layer("Dense", (8,)), create_layer("ReLU"), create_layer("Dense", (2,))],
                            T.TensorType("float32", (B, 4)))
    replay_halve(model, {"units": 4})  # a structural pass did this, and recorded it
    model.transforms.append({"transform": "test_shrink", "units": 4})
    again = restore(dump(model))
    assert again.layers[0].out_features == 4 and again.transforms == model.transforms
    x = torch.rand(2, 4)
    assert torch.equal(again(x), model(x))


def test_unknown_kinds_transforms_and_formats_are_clear_errors():
    artifact = dump(small_cnn())
    with pytest.raises(MError, match="unknown transform 'nope'"):
        restore(Artifact({**artifact.config, "transforms": [{"transform": "nope"}]}, artifact.tensors))
    with pytest.raises(MError, match="unknown kind 'martian'"):
        restore(Artifact({**artifact.config, "model": {"kind": "martian"}}, artifact.tensors))
    with pytest.raises(MError, match="unsupported model format 7"):
        restore(Artifact({**artifact.config, "format": 7}, artifact.tensors))
    tensors = dict(artifact.tensors)
    tensors.pop(next(iter(tensors)))
    with pytest.raises(MError, match="saved tensors do not match"):
        restore(Artifact(artifact.config, tensors))


def test_models_with_forward_blocks_and_submodels_round_trip():
    g = run_m("""\
model Encoder {
    input: Tensor[float32, B, 4]
    Dense(6)
    Tanh()
}
func mix(a, b) {
    return a * 0.5 + b
}
model Head {
    input: Tensor[float32, B, 4]
    output: Tensor[float32, B, num_out]
    encoder: Model = Encoder()
    num_out: int = 3
    forward(x) {
        h = encoder(x)
        return self.layers(mix(h, h))
    }
    Dense(num_out)
}
h = Head(num_out=2)
print("not re-run on restore")
""")
    model = g["h"]
    artifact = dump(model)
    assert artifact.config["model"]["kind"] == "declared"
    with pytest.raises(MError, match="carries code"):
        restore(artifact)  # its M source would run: only when trusted (tests/models/test_trust.py)
    with pytest.warns(TrustedCodeWarning, match="the M source of Head"):
        again = restore(artifact, trust_code=True)
    x = torch.rand(3, 4)
    assert again.num_out == 2 and again(x).shape == (3, 2)
    assert torch.allclose(again(x), model(x))
    assert set(again.state_dict()) == set(model.state_dict())
