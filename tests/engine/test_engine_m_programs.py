"""The engine and serving as an M program uses them: `Engine`, `export`, `serve` builtins."""
import numpy as np
import onnxruntime as ort
import torch

from mlang.lang import check_source, run_source

PROGRAM = """
import python torch
model Tiny {
    input: Tensor[float32, B, 8]
    Dense(16)
    ReLU()
    Dense(3)
}
clf = Tiny()
export(clf, "tiny.onnx")
engine = Engine(device="cpu", batch_size=4)
engine.load_model(clf)
data = torch.randn(10, 8)
outputs = engine.run(data)
engine.save_model("tiny.bin")
"""


def test_an_m_program_runs_exports_and_saves_a_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope = run_source(PROGRAM, filename=str(tmp_path / "engine.m"))
    clf, data, outputs = scope["clf"], scope["data"], scope["outputs"]
    with torch.inference_mode():
        assert torch.allclose(outputs, clf(data), atol=1e-6)
    session = ort.InferenceSession(str(tmp_path / "tiny.onnx"))
    got = session.run(None, {"x": data.numpy()})[0]
    assert np.abs(got - outputs.numpy()).max() <= 1e-4
    assert (tmp_path / "tiny.bin").is_file()


def test_serve_builtin_arguments_are_checked_before_anything_runs(tmp_path):
    source = 'model Tiny {\n    input: Tensor[float32, B, 8]\n    Dense(3)\n}\nserve(Tiny(), prot=8000)\n'
    diagnostics = check_source(source, filename=str(tmp_path / "serve.m"))
    assert any("prot" in d.message and d.span.line == 5 for d in diagnostics), diagnostics
    assert check_source(source.replace("prot", "port"), filename=str(tmp_path / "serve.m")) == []
