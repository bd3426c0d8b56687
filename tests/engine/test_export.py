"""Export (ONNX, TorchScript, safetensors) through `export`, the `m export` command and model files."""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

import mlang as m
from mlang.engine import Engine, export
from mlang.engine.cli import app as export_app
from mlang.lang.diagnostics import MError


@pytest.fixture
def layer_stack():
    torch.manual_seed(0)
    model = m.Model()
    model.add(m.Conv2D(8, kernel=(3, 3), padding="same", input_shape=(16, 16, 3)))
    model.add(m.Activation("relu"))
    model.add(m.MaxPooling2D(pool_size=(2, 2)))
    model.add(m.Flatten())
    model.add(m.Dense(4))
    return model.eval()


def onnx_outputs(path, features):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: t.numpy() for name, t in features.items()})[0]


def test_layer_stack_onnx_matches_torch_with_a_dynamic_batch(layer_stack, tmp_path):
    path = export(layer_stack, tmp_path / "stack.onnx")
    for batch_size in (1, 7):
        features = layer_stack.example_inputs(batch_size)
        with torch.inference_mode():
            expected = layer_stack(**features).numpy()
        got = onnx_outputs(path, features)
        assert got.shape == (batch_size, 4)
        assert np.abs(got - expected).max() <= 1e-4
    sidecar = json.loads((tmp_path / "stack.onnx.json").read_text())
    assert sidecar["inputs"][0]["name"] == "x" and sidecar["inputs"][0]["shape"][0] == "batch"


def test_minilm_classifier_onnx_matches_torch_with_dynamic_batch_and_length(minilm_classifier, tmp_path):
    path = export(minilm_classifier, tmp_path / "minilm.onnx")
    texts = ["short", "a noticeably longer review that talks about the food, the staff and the prices",
             "medium sized sentence here", "fine"]
    features = minilm_classifier.preprocess(texts)
    with torch.inference_mode():
        expected = minilm_classifier(**features).numpy()
    assert np.abs(onnx_outputs(path, features) - expected).max() <= 1e-4
    inputs = {i.name: i.shape for i in ort.InferenceSession(str(path)).get_inputs()}
    assert inputs == {name: ["batch", "sequence"] for name in features}
    sidecar = json.loads((tmp_path / "minilm.onnx.json").read_text())
    tokenizer = [name for name in sidecar["files"] if name.endswith("tokenizer.json")]
    assert tokenizer and (tmp_path / tokenizer[0]).is_file()  # what Java / C++ callers tokenize with
    assert sidecar["labels"] == minilm_classifier.labels


def test_transformer_attention_is_exported_as_eager_without_per_layer_masking(tmp_path):
    import onnx
    from transformers import PreTrainedModel

    # token states (pooling="none") are exported as the transformer computes them, not packed
    encoder = m.load_pretrained("minilm-l6", max_length=128, pooling="none").eval()
    path = export(encoder, tmp_path / "minilm.onnx")
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    # SDPA's export adds a Where and an IsNaN per layer; eager masks the scores with one Add
    assert ops.count("Softmax") == 6 and ops.count("IsNaN") == 0 and ops.count("Where") < 6
    implementations = {module.config._attn_implementation for module in encoder.modules()
                       if isinstance(module, PreTrainedModel)}
    assert implementations == {"sdpa"}  # torch keeps running SDPA after the export


def test_a_bert_encoders_token_wise_layers_are_exported_on_its_real_tokens_only(minilm_classifier, tmp_path):
    """The graph packs the batch's real tokens into one [tokens, features] matrix for the
    projections and feed-forward layers (padding costs them nothing); only the attention's scores
    see [batch, heads, sequence, sequence].  Its outputs on a padded batch are checked by
    test_minilm_classifier_onnx_matches_torch_with_dynamic_batch_and_length."""
    import onnx

    path = export(minilm_classifier, tmp_path / "minilm.onnx")
    graph = onnx.shape_inference.infer_shapes(onnx.load(str(path))).graph
    weights = {tensor.name for tensor in graph.initializer}
    ranks = {value.name: len(value.type.tensor_type.shape.dim) for value in graph.value_info}
    products = [node for node in graph.node
                if node.op_type in ("MatMul", "Gemm") and node.input[1] in weights]
    encoder = 6 * 6  # 6 layers: query, key, value, attention output, feed-forward in and out
    assert len(products) == encoder + 1  # + the classifier head
    # [tokens, features], never [batch, sequence, features]
    assert [ranks.get(node.input[0]) for node in products] == [2] * len(products)
    assert [node.op_type for node in graph.node].count("NonZero") == 1  # the real tokens, found once


def test_torchscript_export_matches_torch(layer_stack, tmp_path):
    path = export(layer_stack, tmp_path / "stack.pt", format="torchscript")
    features = layer_stack.example_inputs(3)
    with torch.inference_mode():
        assert torch.allclose(torch.jit.load(str(path))(features["x"]), layer_stack(**features), atol=1e-5)


def test_export_refuses_a_graph_that_differs_from_the_model(tmp_path):
    class CountsCalls(torch.nn.Module):
        """Python state changes the result on every call: tracing freezes one call's value."""

        def __init__(self):
            super().__init__()
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return x * self.calls

    with pytest.raises(MError, match=r"ONNX export of CountsCalls differs from torch by"):
        export(CountsCalls(), tmp_path / "bad.onnx", example=torch.ones(2, 3))
    assert list(tmp_path.iterdir()) == []  # nothing left that looks like a good export


def test_unknown_format_is_an_error(layer_stack, tmp_path):
    with pytest.raises(MError, match="unknown export format 'tflite'") as error:
        export(layer_stack, tmp_path / "x.tflite", format="tflite")
    assert "onnx, torchscript, safetensors" in error.value.format()


def test_save_model_writes_one_file_that_load_model_reads_back(layer_stack, tmp_path):
    x = torch.rand(3, 16, 16, 3)
    engine = Engine(device="cpu").load_model(layer_stack)
    expected = engine.run(x)
    path = engine.save_model(tmp_path / "model.bin")
    assert list(tmp_path.iterdir()) == [path]
    again = Engine(device="cpu").load_model(str(path))
    assert torch.allclose(again.run(x), expected, atol=1e-6)


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.bin"
    path.write_bytes(b"not a model")
    with pytest.raises(MError, match="notes.bin: not a readable M model file"):
        Engine(device="cpu").load_model(path)


def test_m_export_command_writes_a_verified_onnx_file(layer_stack, tmp_path):
    source = export(layer_stack, tmp_path / "stack.safetensors")
    target = tmp_path / "out" / "stack.onnx"
    result = CliRunner().invoke(export_app, [str(source), "--format", "onnx", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "verified against torch" in result.output
    features = layer_stack.example_inputs(2)
    with torch.inference_mode():
        assert np.abs(onnx_outputs(target, features) - layer_stack(**features).numpy()).max() <= 1e-4


def test_m_export_reports_errors_as_diagnostics(tmp_path):
    result = CliRunner().invoke(export_app, [str(tmp_path / "missing"), "--format", "onnx"])
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


# ----- the execution plan's precision ------------------------------------------------------------
INT8_OPS = {"DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul", "QLinearMatMul"}


def graph_ops(path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


def planned_classifier(backend: str):
    """A 16-feature classifier with the plan `optimize` attaches when it chooses `backend`."""
    from mlang.optimize.plan import ExecutionPlan, attach_plan

    torch.manual_seed(0)
    model = m.Model()
    model.add(m.Dense(64, input_shape=(16,)))
    model.add(m.Activation("relu"))
    model.add(m.Dense(4))
    model.task, model.labels = "classification", ["a", "b", "c", "d"]
    attach_plan(model.eval(), ExecutionPlan(backend, "int8" if "int8" in backend else "fp32", "cpu", "speed"))
    return model


def test_m_export_of_an_onnx_int8_plan_writes_the_int8_graph_the_plan_runs(tmp_path):
    model = planned_classifier("onnx-int8")
    m.save(model, "planned")  # the registry, then the shell, as a user goes
    target = tmp_path / "planned.onnx"
    result = CliRunner().invoke(export_app, ["planned", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert graph_ops(target) & INT8_OPS, graph_ops(target)
    sidecar = json.loads((tmp_path / "planned.onnx.json").read_text())
    assert sidecar["precision"] == "int8" and sidecar["execution_plan"]["backend"] == "onnx-int8"
    assert not (tmp_path / "planned.fp32.onnx").exists()  # the intermediate fp32 graph is gone
    x = torch.randn(64, 16, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        expected = model(x).argmax(1).numpy()
    assert (onnx_outputs(target, {"x": x}).argmax(1) == expected).mean() >= 0.95
    # the graph the plan's backend runs (one batch: int8 activations are scaled per batch)
    engine = Engine(device="cpu", batch_size=64).load_model(model)
    assert np.abs(engine.run(x).numpy() - onnx_outputs(target, {"x": x})).max() <= 1e-5


def test_precision_overrides_the_plan_and_is_checked(tmp_path):
    fp32 = export(planned_classifier("onnx-int8"), tmp_path / "fp32.onnx", precision="fp32")
    assert not graph_ops(fp32) & INT8_OPS
    assert json.loads((tmp_path / "fp32.onnx.json").read_text())["precision"] == "fp32"
    int8 = export(planned_classifier("eager"), tmp_path / "int8.onnx", precision="int8")
    assert graph_ops(int8) & INT8_OPS
    with pytest.raises(MError, match="unknown export precision 'int4'") as error:
        export(planned_classifier("eager"), tmp_path / "x.onnx", precision="int4")
    assert error.value.field == "precision"
    with pytest.raises(MError, match="an int8 torchscript export is not supported"):
        export(planned_classifier("eager"), tmp_path / "x.pt", precision="int8")


def test_an_int8_graph_far_from_fp32_is_refused_and_leaves_no_file(tmp_path):
    """Inputs whose first feature is 1000x the others: one activation scale per batch rounds the
    rest away, so the int8 graph's outputs point elsewhere than fp32's."""
    model = planned_classifier("onnx-int8")
    example = torch.randn(4, 16, generator=torch.Generator().manual_seed(4))
    example[:, 0] *= 1000
    with pytest.raises(MError, match="min cosine .* with torch fp32") as error:
        export(model, tmp_path / "far.onnx", example={"x": example})
    assert "precision='fp32'" in error.value.format()
    assert list(tmp_path.iterdir()) == []


def test_an_m_program_exports_what_optimize_planned(tmp_path, one_torch_thread):
    from mlang.lang.api import run_source

    scope = run_source(f"""
        import python torch
        model Net {{
            input: Tensor[float32, B, 16]
            output: Tensor[float32, B, 4]
            Dense(64)
            ReLU()
            Dense(4)
        }}
        net = Net()
        fast = optimize(net, goal="speed", inputs=torch.randn(64, 16))
        export(fast, "{tmp_path / 'fast.onnx'}")
    """.replace("\n        ", "\n"), "export_plan.m")
    from mlang.engine.exporter import graph_precision

    sidecar = json.loads((tmp_path / "fast.onnx.json").read_text())
    assert sidecar["precision"] == graph_precision(scope["fast"])
    assert bool(graph_ops(tmp_path / "fast.onnx") & INT8_OPS) == (sidecar["precision"] == "int8")
