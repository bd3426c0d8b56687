"""The optimizer pipeline: the paper's snippet, goals, the report, and the M `optimize` block."""
import textwrap

import pytest
import torch

import mlang as m
from mlang.lang.api import run_source
from mlang.lang.diagnostics import MError
from mlang.optimize import (Fusion, ModelOptimizer, Pruning, Quantization,
                            optimization_report)
from mlang.optimize.layers import Int8Conv2d, Int8Linear


def test_the_papers_optimizer_snippet_runs_as_written():
    model = m.Model()
    model.add(m.Conv2D(32, kernel=(3, 3), stride=(1, 1), padding='same', input_shape=(64, 64, 3)))
    model.add(m.Activation('relu'))
    model.add(m.MaxPooling2D(pool_size=(2, 2), stride=(2, 2), padding='valid'))
    model.compile(optimizer=m.Optimizer('adam', learning_rate=0.001),
                  loss=m.Loss('binary_crossentropy'), metrics=[m.Metric('accuracy')])
    optimizer = m.Optimizer()
    optimizer.add(m.Pruning(strategy='magnitude', percentage=0.2, scope='global', target='weights'))
    optimizer.add(m.Quantization(bits=8, scope='global', method='linear'))
    optimized_model = optimizer.optimize(model, order='sequential', goal='speed')

    x = torch.rand(2, 64, 64, 3)
    assert optimized_model(x).shape == model(x).shape == (2, 32, 32, 32)
    conv = optimized_model.layers[0]
    assert isinstance(conv, Int8Conv2d)
    assert float((conv.weight_int8 == 0).float().mean()) >= 0.2  # the pruned 20 % stay zero
    report = optimized_model.optimization_report
    assert report.after["nonzero"] < report.before["nonzero"]
    assert report.after["size_bytes"] < 0.4 * report.before["size_bytes"]  # incl. headers
    assert isinstance(model.layers[0], torch.nn.Conv2d)  # the original is left as it was


def test_the_report_has_every_figure_and_prints_a_table(mlp):
    data = (torch.randn(40, 16), torch.randint(0, 4, (40,)))
    optimized = ModelOptimizer([Quantization(bits=8)]).optimize(
        mlp, inputs=torch.randn(4, 16), eval_data=data, show=False, repeats=2)
    report = optimization_report(optimized)
    for key in ("parameters", "nonzero", "size_bytes", "latency_ms_batch1",
                "latency_ms_batch32", "throughput", "metric_value"):
        assert key in report.before and key in report.after
    assert report.before["parameters"] == report.after["parameters"] == 3300  # weights + biases
    assert report.before["metric"] == "accuracy"
    assert abs(report.after["metric_value"] - report.before["metric_value"]) <= 0.1
    table = report.table()
    assert "serialized size" in table and "latency batch 32" in table and "accuracy" in table
    assert "int8 per-channel" in table


def test_auto_order_runs_pruning_before_fusion_and_quantization(mlp):
    optimizer = ModelOptimizer([Quantization(bits=8), Fusion(),
                                Pruning(percentage=0.25, target="neurons")])
    optimized = optimizer.optimize(mlp, order="auto", measure_figures=False, show=False)
    assert [p.name for p in optimizer.passes] == ["quantize", "fuse", "prune"]  # as added
    assert optimized[0].layer.out_features < 64  # pruned, then fused, then int8
    assert isinstance(optimized[0].layer, Int8Linear)


def test_bad_goal_and_bad_pass_are_errors(mlp):
    with pytest.raises(MError) as error:
        ModelOptimizer().optimize(mlp, goal="fast")
    assert error.value.field == "goal"
    with pytest.raises(MError, match="cannot add a str to an optimizer") as error:
        ModelOptimizer().add("prune")
    assert error.value.field == "pass"


def test_the_optimize_block_in_m(tmp_path):
    scope = run_source(textwrap.dedent("""
        iris = Dataset.sklearn("iris")
        train_set, test_set = split(iris, 0.7, seed=7, stratify=true)

        model Tiny {
            input: Tensor[float32, B, 4]
            Dense(32)
            ReLU()
            Dense(16)
            ReLU()
            Dense(3)
        }

        setSeed(0)
        clf = fineTuneModel(Tiny(), train_set, epochs=20, lr=3e-2, batch_size=16, progress=false)
        small = optimize(clf, goal="speed", calibration=train_set, eval_data=test_set) {
            prune(strategy="l2", percentage=0.25, scope="local", target="neurons")
            quantize(bits=8, scope="global", method="linear")
            fuse()
        }
        default = optimize(clf, goal="memory")
        ref = save(small, "tiny_small")
        back = load(ref)
    """), "optimize_test.m")
    small, back = scope["small"], scope["back"]
    report = small.optimization_report
    assert [line.split(":")[0] for line in report.passes] == ["prune", "quantize", "fuse"]
    assert report.after["metric_value"] >= report.before["metric_value"] - 0.1
    assert report.after["size_bytes"] < 0.5 * report.before["size_bytes"]  # headers included
    x = torch.randn(6, 4)
    torch.testing.assert_close(back(x), small(x))
    assert optimization_report(back).to_dict() == report.to_dict()
    assert "measured" in scope["default"].optimization_report.notes[0]
    assert back.execution_plan == small.execution_plan  # the realisation chosen travels too


def test_an_optimize_block_with_a_non_pass_statement_is_an_error():
    with pytest.raises(MError, match="lists passes"):
        run_source(textwrap.dedent("""
            model Tiny {
                input: Tensor[float32, B, 4]
                Dense(3)
            }
            small = optimize(Tiny()) {
                1 + 2
            }
        """), "bad_block.m")
