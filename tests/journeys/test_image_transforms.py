"""The image-transform journey, as a user takes it.

`m run images.m` fine-tunes a small CNN on 40x30 colour pictures read through
`Grayscale(channels=1)`, `Resize(12)`, augmentation and `Normalize(0.5, 0.5)`, and saves it to the
registry.  The model keeps the deterministic transforms as its input pipeline (never the random
ones), so `m serve` answers a picture posted at its ORIGINAL size and mode with the label
`predict` gives in-process, `Engine` and a `load`ed model prepare raw pictures the same way, and
`m export` records the pipeline in its sidecar.  A model file naming anything but an input
transform is refused when read.
"""
import base64
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from mlang.cli import main

PROGRAM = Path(__file__).with_name("images.m")
PIPELINE = [{"name": "Grayscale", "channels": 1}, {"name": "Resize", "size": [12, 12]},
            {"name": "Normalize", "mean": [0.5], "std": [0.5]}]


def picture(seed: int, bright_top: bool) -> np.ndarray:
    """images.m's `picture`: 30x40 RGB noise with the top or the bottom half brighter."""
    pixels = np.random.default_rng(seed).integers(0, 120, (30, 40, 3))
    (pixels[:15] if bright_top else pixels[15:])[...] += 120
    return pixels.astype(np.uint8)


# Colour and grey pictures of the original size; none of them was trained on.
PICTURES = [picture(200 + i, i % 2 == 0) for i in range(6)]
PICTURES.append(np.asarray(Image.fromarray(picture(300, False)).convert("L")))
EXPECTED = ["top", "bottom"] * 3 + ["bottom"]


def m_command(*args, home: Path, **kwargs):
    env = {**os.environ, "M_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "mlang", *args], env=env, text=True, **kwargs)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("images") / "m_home"
    run = m_command("run", str(PROGRAM), home=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output
    assert "accuracy │ 1.0000" in output, output
    assert str(PIPELINE) in output, output  # the random transforms are not the model's
    assert "['top', 'bottom']" in output, output
    return home


@pytest.fixture
def repository(home, monkeypatch):
    monkeypatch.setenv("M_HOME", str(home))
    return home


def png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def serve_and_post(ref: str, home: Path, inputs: list) -> dict:
    server = m_command("serve", ref, "--port", "0", home=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = None
        for line in server.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                url = found.group(0)
                break
        assert url, "m serve did not say where it listens"
        answer = httpx.post(f"{url}/v1/models/{ref}/predict", json={"inputs": inputs}, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0


def test_served_model_prepares_original_pictures_as_predict_does(repository):
    import mlang as m

    model = m.load("brightness")
    assert model.input_transforms == PIPELINE
    labels = m.predict(model, PICTURES)
    assert labels == EXPECTED
    scores = m.predict(model, PICTURES, output="probabilities")

    served = serve_and_post("brightness", repository, [png(p) for p in PICTURES])
    assert served["labels"] == labels
    served_scores = torch.tensor(served["outputs"]).softmax(dim=1)
    assert torch.allclose(served_scores, torch.tensor(scores), atol=1e-5)


def test_engine_and_model_file_apply_the_saved_pipeline(repository, tmp_path):
    import mlang as m
    from mlang.models.modelfile import read_artifact

    model = m.load("brightness")
    expected = torch.tensor(m.predict(model, PICTURES, output="probabilities"))
    file = tmp_path / "brightness.safetensors"
    assert main(["export", "brightness", "--format", "safetensors", "-o", str(file)]) == 0
    assert read_artifact(file).config["input_transforms"] == PIPELINE
    for source in ("brightness", str(file)):
        outputs = m.Engine(device="cpu", backend="eager").load_model(source).run(PICTURES)
        assert torch.allclose(outputs.softmax(dim=1), expected, atol=1e-5)
    loaded = m.load_model_from_url(str(file))
    assert m.predict(loaded, PICTURES) == EXPECTED


def test_export_records_the_pipeline_for_other_languages(repository, tmp_path):
    """The transforms are PIL operations, not graph ops: the sidecar lists them, and a caller that
    applies them (here with M's own classes) and then feeds the graph gets the model's outputs."""
    import onnxruntime as ort

    import mlang as m
    from mlang.data.transforms import from_records

    onnx_file = tmp_path / "brightness.onnx"
    assert main(["export", "brightness", "--format", "onnx", "-o", str(onnx_file)]) == 0
    sidecar = json.loads(Path(f"{onnx_file}.json").read_text())
    assert sidecar["input_transforms"] == PIPELINE
    steps = from_records(sidecar["input_transforms"])
    batch = torch.stack([m.data.transforms.apply_transforms(steps, p, augment=False) for p in PICTURES])
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {sidecar["inputs"][0]["name"]: batch.numpy()})[0]
    expected = m.Engine(device="cpu", backend="eager").load_model("brightness").run(PICTURES)
    assert np.abs(got - expected.numpy()).max() <= 1e-4


@pytest.mark.parametrize("records, field, says", [
    ([{"name": "RandomCrop", "scale": 0.9}], "input_transforms[0].name", "augmentation"),
    ([{"name": "os.system", "command": "true"}], "input_transforms[0].name", "not an input transform"),
    ([{"name": "Resize", "size": [12, 12], "code": "print()"}], "input_transforms[0].code", "no parameter"),
    ([{"name": "Resize", "size": -3}], "input_transforms[0].size", "positive int"),
    ([{"name": "Normalize"}, {"name": "Resize", "size": 4}], "input_transforms", "last"),
    ("Resize", "input_transforms", "list"),
])
def test_a_model_file_names_only_input_transforms(repository, tmp_path, records, field, says):
    """The saved pipeline is data — names checked against the transform registry, parameters by
    each transform — never code: anything else is refused when the file is read."""
    import mlang as m
    from mlang.models.modelfile import read_artifact, write_artifact

    file = tmp_path / "brightness.safetensors"
    assert main(["export", "brightness", "--format", "safetensors", "-o", str(file)]) == 0
    artifact = read_artifact(file)
    artifact.config["input_transforms"] = records
    write_artifact(artifact, file)
    with pytest.raises(m.MError) as error:
        m.load_model_from_url(str(file))
    assert error.value.field == field
    assert says in str(error.value)


BRIGHTNESS = """
model Brightness {
    input: Image[1, 12, 12]
    Conv2D(4, kernel=3)
    ReLU()
    Flatten()
    Dense(2)
}
"""


def test_python_api_journey(tmp_path, monkeypatch):
    """The same journey from Python: train with transforms, save, load, predict and serve raw
    pictures; a model trained on a `map`ped dataset keeps the transforms `map` applied."""
    import mlang as m

    monkeypatch.setenv("M_HOME", str(tmp_path / "home"))
    Brightness = m.run_source(BRIGHTNESS, "brightness.m")["Brightness"]
    pictures = m.Dataset([{"image": picture(i, i % 2 == 0), "label": i % 2} for i in range(48)],
                         labels=["top", "bottom"])
    data = pictures.transform(m.Grayscale(channels=1), m.Resize(12), m.RandomHorizontalFlip(),
                              m.Normalize(0.5, 0.5))
    m.set_seed(0)
    model = m.fine_tune_model(Brightness(), data, epochs=8, lr=0.01, batch_size=8)
    assert model.input_transforms == PIPELINE
    m.save(model, "py-brightness")
    loaded = m.load("py-brightness")
    assert m.predict(loaded, PICTURES) == m.predict(model, PICTURES) == EXPECTED
    # A dataset without transforms of its own is read through the model's; one with keeps its own.
    raw = m.Dataset([{"image": p, "label": EXPECTED.index(label)} for p, label in zip(PICTURES, EXPECTED)],
                    labels=["top", "bottom"])
    assert m.evaluate(loaded, raw, metrics=["accuracy"])["accuracy"] == 1.0
    assert m.evaluate(loaded, data, metrics=["accuracy"])["accuracy"] >= 0.9

    mapped = data.map(lambda example: {"image": example.image, "label": example.label})
    again = m.fine_tune_model(Brightness(), mapped, epochs=1, lr=0.01, batch_size=8)
    assert again.input_transforms == PIPELINE

    with m.Server("py-brightness", port=0) as server:
        answer = httpx.post(f"{server.url}/v1/models/{server.name}/predict",
                            json={"inputs": [png(p) for p in PICTURES]}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == EXPECTED


@pytest.mark.slow
def test_data_parallel_training_hands_back_the_pipeline():
    """`devices=2` trains in two worker processes; the model handed back keeps the pipeline."""
    import mlang as m

    Brightness = m.run_source(BRIGHTNESS, "brightness.m")["Brightness"]
    data = m.Dataset([{"image": picture(i, i % 2 == 0), "label": i % 2} for i in range(16)],
                     labels=["top", "bottom"])
    data = data.transform(m.Grayscale(channels=1), m.Resize(12), m.Normalize(0.5, 0.5))
    model = m.fine_tune_model(Brightness(), data, epochs=1, lr=0.01, batch_size=4, devices=2)
    assert model.input_transforms == PIPELINE
    assert m.Engine(device="cpu", backend="eager").load_model(model).run(PICTURES).shape == (len(PICTURES), 2)
