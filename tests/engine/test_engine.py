"""The Engine through its public interface: devices, data, batching, backends, profiling."""
import json
import warnings

import numpy as np
import pytest
import torch

from mlang.data import Dataset
from mlang.engine import DeviceFallbackWarning, Engine
from mlang.lang.diagnostics import MError


def reference(model, x):
    with torch.inference_mode():
        return model(x)


def test_gpu_name_without_a_gpu_falls_back_to_cpu_with_one_warning(tiny_classifier):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: nothing to fall back from")
    with pytest.warns(DeviceFallbackWarning, match="'cuda:3' requested but no GPU is present"):
        engine = Engine(device="cuda:3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second engine on the same name stays quiet
        again = Engine(device="cuda:3")
    assert engine.device.type == again.device.type == "cpu"
    x = torch.randn(5, 8)
    assert torch.allclose(engine.load_model(tiny_classifier).run(x), reference(tiny_classifier, x))


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "GPU-0"])
def test_unknown_device_is_an_error_naming_the_choices(name):
    with pytest.raises(MError, match="unknown device") as error:
        Engine(device=name)
    assert "'cuda:N'" in error.value.format()


@pytest.mark.parametrize("make", [
    lambda x: x,                                 # a tensor
    lambda x: x.numpy(),                         # a numpy array
    lambda x: [row.tolist() for row in x],       # a list of examples
    lambda x: {"x": x},                          # already-preprocessed features
    lambda x: Dataset([{"features": row.numpy(), "label": 0} for row in x], input_column="features"),
])
def test_run_batches_any_data_and_keeps_row_order(tiny_classifier, make):
    x = torch.randn(23, 8)
    engine = Engine(device="cpu").load_model(tiny_classifier).set_batch_size(4)
    output = engine.prepare_data(make(x)).run()
    assert output.shape == (23, 3)
    assert torch.allclose(output, reference(tiny_classifier, x), atol=1e-6)


def test_texts_are_bucketed_by_length_and_returned_in_input_order(minilm_classifier):
    texts = ["short", "a much longer sentence about a restaurant with slow service and cold soup",
             "medium length text here", "ok", "the best pizza in town, would come back"]
    engine = Engine(device="cpu", batch_size=2).load_model(minilm_classifier)
    output = engine.run(texts)
    with torch.inference_mode():
        one_by_one = torch.cat([minilm_classifier(**minilm_classifier.preprocess([t])) for t in texts])
    assert torch.allclose(output, one_by_one, atol=1e-4)


def test_profile_json_is_a_chrome_trace_with_the_engine_batches(tiny_classifier, tmp_path):
    path = tmp_path / "profile.json"
    engine = Engine(device="cpu", batch_size=8).load_model(tiny_classifier).enable_profiling(path)
    engine.run(torch.randn(20, 8))
    trace = json.loads(path.read_text())
    names = {event.get("name") for event in trace["traceEvents"]}
    assert {"engine.batch[0]", "engine.batch[2]"} <= names
    assert any(name and name.startswith("aten::") for name in names)  # torch ops inside the batches


@pytest.mark.parametrize("backend", ["onnx", pytest.param("compile", marks=pytest.mark.slow)])
def test_backends_match_eager(tiny_classifier, backend):
    x = torch.randn(13, 8)
    output = Engine(device="cpu", backend=backend, batch_size=5).load_model(tiny_classifier).run(x)
    assert torch.allclose(output, reference(tiny_classifier, x), atol=1e-4)


def test_onnx_graph_is_exported_once_and_cached_by_model_hash(tiny_classifier, m_home):
    Engine(device="cpu", backend="onnx").load_model(tiny_classifier).run(torch.randn(2, 8))
    cached = sorted((m_home / "cache" / "onnx").glob("*.onnx"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    Engine(device="cpu", backend="onnx").load_model(tiny_classifier).run(torch.randn(2, 8))
    assert cached[0].stat().st_mtime_ns == stamp
    with torch.no_grad():
        next(tiny_classifier.parameters()).add_(1.0)  # a changed weight is a different model
    Engine(device="cpu", backend="onnx").load_model(tiny_classifier).run(torch.randn(2, 8))
    assert len(list((m_home / "cache" / "onnx").glob("*.onnx"))) == 2


def test_auto_backend_measures_candidates_and_says_which_it_chose(tiny_classifier, capsys):
    engine = Engine(device="cpu", backend="auto").load_model(tiny_classifier)
    x = torch.randn(16, 8)
    output = engine.prepare_data(x).run()
    assert torch.allclose(output, reference(tiny_classifier, x), atol=1e-3)
    choice = engine.choice
    assert choice.chosen in choice.seconds and engine.backend.name == choice.chosen
    assert "eager" in choice.seconds
    assert f"backend '{choice.chosen}' chosen" in capsys.readouterr().err


def test_auto_rejects_backends_outside_the_tolerance(tiny_classifier):
    engine = Engine(device="cpu", backend="auto", tolerance=1e-9).load_model(tiny_classifier)
    engine.run(torch.randn(8, 8))
    assert engine.choice.chosen == "eager"
    assert "onnx-int8" in engine.choice.rejected


def test_settings_are_validated():
    engine = Engine(device="cpu")
    with pytest.raises(MError, match="batch size must be a positive integer"):
        engine.set_batch_size(0)
    with pytest.raises(MError, match="number of threads"):
        engine.set_num_threads(-1)
    with pytest.raises(MError, match="unknown backend 'tensorrt'"):
        Engine(backend="tensorrt")
    with pytest.raises(MError, match="no model loaded"):
        engine.run([1.0])
    with pytest.raises(MError, match="expected a model"):
        engine.load_model(42)


def test_the_onnx_backend_runs_where_m_home_cannot_be_written(tiny_classifier, tmp_path, monkeypatch):
    """A read-only or full repository is still served: derived graphs go to a private temp folder."""
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("M_HOME", str(blocked / "home"))  # a part of the path is a file
    x = torch.randn(3, 8)
    out = Engine(device="cpu", backend="onnx").load_model(tiny_classifier).run(x)
    assert torch.allclose(torch.as_tensor(out), tiny_classifier(x), atol=1e-5)
    assert not (blocked / "home").exists()


def test_run_without_data_says_how_to_give_it(tiny_classifier):
    with pytest.raises(MError, match="no data to run on") as error:
        Engine(device="cpu").load_model(tiny_classifier).run()
    assert "prepare_data" in error.value.format()


def test_unsupported_data_is_an_error(tiny_classifier):
    with pytest.raises(MError, match="cannot run a model on data of type object"):
        Engine(device="cpu").load_model(tiny_classifier).prepare_data(object())


def test_set_num_threads_applies_to_torch(tiny_classifier):
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1  # a change the test can see
    try:
        engine = Engine(device="cpu").set_num_threads(wanted)
        assert torch.get_num_threads() == wanted and engine.num_threads == wanted
    finally:
        torch.set_num_threads(before)


def test_images_go_through_the_models_own_preprocessing(tmp_path):
    from PIL import Image

    from mlang.lang import run_source

    source = "model Cnn {\n    input: Image[3, 16, 16]\n    Conv2D(4, kernel=3, padding=\"same\")\n" \
             "    Flatten()\n    Dense(2)\n}\ncnn = Cnn()\n"
    cnn = run_source(source, filename=str(tmp_path / "cnn.m"))["cnn"].eval()
    pixels = np.random.default_rng(0).integers(0, 256, (5, 24, 20, 3), dtype=np.uint8)
    images = [Image.fromarray(p) for p in pixels]      # another size than declared: resized
    output = Engine(device="cpu", batch_size=2).load_model(cnn).run(images)
    with torch.inference_mode():
        assert torch.allclose(output, cnn(**cnn.preprocess(images)), atol=1e-6)
    assert output.shape == (5, 2)
