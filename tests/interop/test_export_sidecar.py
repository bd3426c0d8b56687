"""The sidecar `m export` writes beside every graph (`MODEL.json`): one format for onnx,
torchscript and aoti, every field documented in docs/interop/README.md, and preprocessing
parameters that reproduce M's own preprocessing — for text (the tokenizer, truncation, padding)
and for images (size, resize, crop, channel order, layout, scale, mean, std)."""
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from interop_support import REPO, sidecar, token_inputs

DOC = REPO / "docs" / "interop" / "README.md"
PER_FORMAT = {"export_format", "file", "files", "preprocessing"}  # name the file, so differ by format


def comparable(info: dict) -> dict:
    common = {key: value for key, value in info.items() if key not in PER_FORMAT}
    prep = {key: value for key, value in info["preprocessing"].items() if key != "tokenizer"}
    return {**common, "preprocessing": prep}


def test_one_sidecar_format_for_every_graph_format(exported):
    stack = {format: sidecar(exported("stack", format)) for format in ("onnx", "torchscript", "aoti")}
    assert comparable(stack["onnx"]) == comparable(stack["torchscript"]) == comparable(stack["aoti"])
    assert [info["export_format"] for info in stack.values()] == ["onnx", "torchscript", "aoti"]
    assert stack["aoti"]["file"] == "stack.pt2"
    text = {format: sidecar(exported("minilm", format)) for format in ("onnx", "torchscript")}
    assert comparable(text["onnx"]) == comparable(text["torchscript"])
    for format, info in text.items():
        assert info["preprocessing"]["tokenizer"] == f"minilm{'.onnx' if format == 'onnx' else '.pt'}" \
                                                     ".files/tokenizer/tokenizer.json"


def test_the_sidecar_says_what_a_caller_needs(exported, models):
    info = sidecar(exported("stack", "aoti"))
    assert info["format"] == "mlang.export/1"
    assert info["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 8]}]
    assert info["outputs"] == [{"name": "output", "dtype": "float32", "shape": ["batch", 3]}]
    assert info["task"] == "classification" and info["labels"] == ["low", "mid", "high"]
    assert info["preprocessing"] == {"kind": "tensor"}
    text = sidecar(exported("minilm", "torchscript"))
    assert [(i["name"], i["dtype"], i["shape"]) for i in text["inputs"]] == [
        (name, "int64", ["batch", "sequence"]) for name in ("input_ids", "token_type_ids", "attention_mask")]
    assert text["outputs"] == [{"name": "output", "dtype": "float32", "shape": ["batch", 2]}]
    assert text["labels"] == ["negative", "positive"] and text["input_type"] == "Text"
    prep = text["preprocessing"]
    assert (prep["kind"], prep["max_length"], prep["pad_token_id"], prep["padding"]) == ("text", 128, 0, "longest")


def test_the_text_parameters_reproduce_ms_tokenization(exported, models):
    """Tokenizing with the exported tokenizer.json and the sidecar's parameters gives exactly the
    tensors the model's own preprocess gives — the long text truncated at max_length included."""
    from mlang.models.modelfile import read_model_file

    path = exported("minilm", "onnx")
    texts = models["minilm"].inputs
    expected = read_model_file(models["minilm"].file).preprocess(texts)
    got = token_inputs(path, texts)
    assert set(got) == set(expected)
    for name, values in got.items():
        assert values == expected[name].tolist(), name


def documented_fields() -> set[str]:
    """The field names in the sidecar tables of docs/interop/README.md."""
    text = DOC.read_text()
    section = text[text.index("## The sidecar"):]
    section = section[:section.index("\n## ", 4)]
    return set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.M))


def test_every_sidecar_field_is_documented(exported):
    from mlang.engine.exporter import preprocessing
    from mlang.engine.runnable import Runnable
    from mlang.models.zoo.efficientnet import EfficientNetLite0

    fields = documented_fields()
    infos = [sidecar(exported("stack", "onnx")), sidecar(exported("minilm", "onnx"))]
    keys = {key for info in infos for key in info}
    keys |= {key for info in infos for key in info["preprocessing"]}
    keys |= set(preprocessing(Runnable(EfficientNetLite0()), "m.onnx.files"))
    keys |= {key for info in infos for spec in info["inputs"] + info["outputs"] for key in spec}
    assert keys - fields == set(), "undocumented sidecar fields"


# ----- images ----------------------------------------------------------------------------------
def photo(width: int, height: int) -> Image.Image:
    pixels = np.random.default_rng(5).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def prepare_image(image: Image.Image, prep: dict) -> np.ndarray:
    """What a caller in another language does with the sidecar's image parameters (here in numpy
    and PIL): resize, crop, channel order, scale, mean/std, layout."""
    height, width = prep["size"]
    resize = prep["resize"]
    if "shorter_side" in resize:
        assert resize["interpolation"] == "bicubic (PIL)"
        scale = resize["shorter_side"] / min(image.size)
        image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.BICUBIC)
        array = np.asarray(image, dtype=np.float32)
    else:
        assert resize["interpolation"] == "bilinear (align_corners=False)"
        chw = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
        if tuple(chw.shape[2:]) != (height, width):
            chw = torch.nn.functional.interpolate(chw * prep["scale"], size=(height, width), mode="bilinear",
                                                  align_corners=False) / prep["scale"]
        array = chw[0].permute(1, 2, 0).numpy()
    if prep["crop"] == "center":
        top, left = (array.shape[0] - height) // 2, (array.shape[1] - width) // 2
        array = array[top:top + height, left:left + width]
    assert prep["channel_order"] == "RGB"
    array = (array * prep["scale"] - np.array(prep["mean"])) / np.array(prep["std"])
    array = array.astype(np.float32)
    return array if prep["layout"] == "NHWC" else array.transpose(2, 0, 1)


def test_image_parameters_reproduce_efficientnets_preprocessing():
    from mlang.engine.exporter import preprocessing
    from mlang.engine.runnable import Runnable
    from mlang.models.zoo.efficientnet import EfficientNetLite0

    model = EfficientNetLite0()  # the preprocessing does not depend on the weights
    prep = preprocessing(Runnable(model), "m.onnx.files")
    assert (prep["kind"], prep["size"], prep["channel_order"], prep["layout"]) == ("image", [224, 224], "RGB", "NCHW")
    assert prep["in_graph_normalization"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    for image in (photo(300, 200), photo(256, 400)):
        expected = model.preprocess([image])["x"][0].numpy()
        assert np.abs(prepare_image(image, prep) - expected).max() <= 1e-6


def test_image_parameters_of_a_channels_last_layer_stack():
    import mlang as m
    from mlang.engine.exporter import preprocessing
    from mlang.engine.runnable import Runnable

    model = m.Model()
    model.add(m.Conv2D(4, kernel=(3, 3), padding="same", input_shape=(16, 16, 3)))
    model.add(m.Flatten())
    model.add(m.Dense(2))
    prep = preprocessing(Runnable(model.eval()), "m.onnx.files")
    assert (prep["size"], prep["layout"], prep["crop"], prep["mean"], prep["std"]) == \
           ([16, 16], "NHWC", None, [0.0] * 3, [1.0] * 3)
    for image in (photo(16, 16), photo(24, 20)):
        expected = model.preprocess([image])["x"][0].numpy()
        assert np.abs(prepare_image(image, prep) - expected).max() <= 1e-5


@pytest.mark.slow
def test_efficientnet_from_a_raw_image_through_the_sidecar_and_onnx_runtime(tmp_path):
    """The whole image contract: `m export` of EfficientNet-Lite0, a raw image prepared from the
    sidecar alone, ONNX Runtime → the Python model's logits on that image within 1e-4."""
    import onnxruntime as ort

    import mlang as m
    from mlang.cli import main
    from mlang.engine.artifact import save_artifact

    model = m.load_pretrained("efficientnet-lite0")
    file = save_artifact(model, tmp_path / "effnet.bin")
    assert main(["export", str(file), "--format", "onnx", "-o", str(tmp_path / "effnet.onnx")]) == 0
    info = json.loads((tmp_path / "effnet.onnx.json").read_text())
    image = photo(320, 240)
    session = ort.InferenceSession(str(tmp_path / "effnet.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {info["inputs"][0]["name"]: prepare_image(image, info["preprocessing"])[None]})[0]
    with torch.inference_mode():
        expected = model([image]).numpy()
    assert np.abs(got - expected).max() <= 1e-4


def test_m_export_names_the_sidecar_and_offers_aoti(models, tmp_path, capsys):
    from mlang.cli import main

    target = tmp_path / "stack.pt"
    assert main(["export", str(models["stack"].file), "--format", "torchscript", "-o", str(target)]) == 0
    assert f"wrote {target}.json" in capsys.readouterr().out
    assert main(["export", str(models["stack"].file), "--format", "tflite"]) == 1
    assert "onnx, torchscript, safetensors, aoti" in capsys.readouterr().err


@pytest.mark.slow
def test_an_aoti_export_with_a_frozen_batch_is_refused(tmp_path):
    """A forward that turns the batch size into a Python number traces to a package frozen to
    that batch: verification on another batch size refuses it, and nothing is left behind."""
    from mlang.engine import export
    from mlang.lang.diagnostics import MError

    class FixedBatch(torch.nn.Module):
        def forward(self, x):
            return x * int(x.shape[0])

    with pytest.raises(MError, match=r"AOTInductor export of FixedBatch gives shape \[2, 3\], torch gives \[3, 3\]"):
        export(FixedBatch(), tmp_path / "fixed.pt2", example=torch.ones(2, 3))
    assert list(tmp_path.iterdir()) == []
