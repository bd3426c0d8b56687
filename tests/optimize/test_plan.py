"""The execution plan: `optimize(goal=…)` measures candidate plans and keeps the best within the
accuracy budget; the plan travels with the model (save/load) and the Engine runs it by default."""
import textwrap

import pytest
import torch

import mlang as m
from mlang.engine import Engine
from mlang.lang.api import run_source
from mlang.lang.diagnostics import MError
from mlang.optimize import ModelOptimizer, Quantization, execution_plan, optimization_report
from mlang.optimize.layers import Int8Linear

CPU_CANDIDATES = ["fp32 eager", "int8 eager (torch kernels)", "fp32 ONNX Runtime",
                  "int8 ONNX Runtime (per-channel)", "fp32 torch.compile"]


def classifier():
    torch.manual_seed(0)
    model = m.Model()
    model.add(m.Dense(64, input_shape=(16,)))
    model.add(m.Activation("relu"))
    model.add(m.Dense(4))
    model.task, model.labels = "classification", ["a", "b", "c", "d"]
    return model.eval()


def labelled(model, rows=96):
    """Inputs with the fp32 model's own labels: fp32 scores 1.0."""
    x = torch.randn(rows, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return x, model(x).argmax(1)


def test_goal_speed_measures_every_candidate_and_the_engine_runs_the_chosen_one(one_torch_thread):
    model = classifier()
    optimized = ModelOptimizer().optimize(model, goal="speed", eval_data=labelled(model), show=False)
    report = optimization_report(optimized)
    assert [c["name"] for c in report.candidates] == CPU_CANDIDATES
    by_name = {c["name"]: c for c in report.candidates}
    for name in CPU_CANDIDATES[:4]:  # every built candidate has speed, size and error figures
        assert {"throughput", "size_bytes", "label_agreement", "min_cosine"} <= set(by_name[name])
    assert "cold compile" in by_name["fp32 torch.compile"]["reason"]  # skipped, and why
    chosen = [c for c in report.candidates if c["status"] == "chosen"]
    assert len(chosen) == 1 and chosen[0]["name"] == report.plan["candidate"]
    assert chosen[0]["metric_value"] >= 1.0 - 0.01  # within the default budget of one point
    faster = [c for c in report.candidates if c.get("throughput", 0) > chosen[0]["throughput"]]
    assert all(c["status"] == "rejected" for c in faster)  # only the budget beats speed
    plan = execution_plan(optimized)
    assert (plan.backend, plan.precision) == (chosen[0]["backend"], chosen[0]["precision"])
    engine = Engine(device="cpu").load_model(optimized)
    x = torch.randn(8, 16)
    outputs = engine.run(x)
    assert engine.backend.name == plan.backend  # the plan, by default
    assert Engine(device="cpu", backend="eager").load_model(optimized).backend.name == "eager"  # override
    assert (outputs.argmax(1) == optimized(x).argmax(1)).float().mean() >= 0.75
    assert "candidate plans" in report.table() and "plan:" in report.table()


def test_the_plan_is_saved_and_loaded_with_the_model(one_torch_thread):
    model = classifier()
    optimized = ModelOptimizer().optimize(model, goal="memory", inputs=torch.randn(32, 16), show=False)
    plan = execution_plan(optimized)
    assert plan.precision == "int8"  # int8 is a quarter of the bytes, within the default budget
    assert any(isinstance(layer, Int8Linear) for layer in optimized.modules())
    back = m.load(m.save(optimized, "planned"))
    assert execution_plan(back) == plan
    assert Engine(device="cpu").load_model(back).backend.name == plan.backend


def test_a_candidate_outside_the_budget_is_rejected_and_says_why(one_torch_thread):
    """Inputs whose first feature is 1000× the others: int8 activations (one scale per batch)
    round the small features away, so the int8 plans disagree with fp32 and are rejected."""
    model = classifier()
    with torch.no_grad():
        model.layers[0].weight[:, 0] = 0.0  # the huge feature does not matter in fp32
    x = torch.randn(96, 16, generator=torch.Generator().manual_seed(2))
    x[:, 0] = 1000.0
    optimized = ModelOptimizer().optimize(model, goal="speed", inputs=x, show=False)
    report = optimization_report(optimized)
    int8 = [c for c in report.candidates if c["precision"] == "int8"]
    assert int8 and all(c["status"] == "rejected" for c in int8)
    assert all("with fp32 <" in c["reason"] for c in int8)
    assert execution_plan(optimized).precision == "fp32"


def test_explicit_passes_are_the_plan_and_only_their_realisation_is_chosen(one_torch_thread):
    model = classifier()
    optimized = ModelOptimizer([Quantization(bits=8)]).optimize(
        model, goal="speed", inputs=torch.randn(32, 16), show=False, repeats=1)
    report = optimization_report(optimized)
    assert [c["name"] for c in report.candidates] == [
        "fp32 eager (before your passes)", "your passes, eager", "your passes, ONNX Runtime int8"]
    plan = execution_plan(optimized)
    assert plan.precision == "int8" and plan.backend in ("eager", "onnx-int8")  # one int8 concept
    assert isinstance(optimized.layers[0], Int8Linear)


def test_bad_options_are_errors_naming_the_field(one_torch_thread):
    model = classifier()
    with pytest.raises(MError) as error:
        ModelOptimizer().optimize(model, goal="speed", inputs=torch.randn(4, 16), budget=-1)
    assert error.value.field == "budget"
    with pytest.raises(MError) as error:
        ModelOptimizer().optimize(model, goal="speed", inputs=torch.randn(4, 16), candidates=["tpu"])
    assert error.value.field == "candidates"
    with pytest.raises(MError) as error:
        ModelOptimizer().optimize(model, goal="fastest")
    assert error.value.field == "goal"


# An M program's start: a small iris classifier, trained (`clf`), with its `train_set` and `test_set`.
TRAINED_TINY = textwrap.dedent('''
        iris = Dataset.sklearn("iris")
        train_set, test_set = split(iris, 0.7, seed=7, stratify=true)
        model Tiny {
            input: Tensor[float32, B, 4]
            Dense(32)
            ReLU()
            Dense(3)
        }
        setSeed(0)
        clf = fineTuneModel(Tiny(), train_set, epochs=20, lr=3e-2, batch_size=16, progress=false)
''')


def test_optimize_in_m_chooses_a_plan_that_engine_and_save_keep(one_torch_thread):
    scope = run_source(TRAINED_TINY + textwrap.dedent("""
        fast = optimize(clf, goal="latency", eval_data=test_set, budget=0.02)
        back = load(save(fast, "tiny_fast"))
        engine = Engine(device="cpu")
        engine.load_model(back)
        out = engine.run(test_set)
    """), "plan_test.m")
    fast, back = scope["fast"], scope["back"]
    report = optimization_report(fast)
    chosen = next(c for c in report.candidates if c["status"] == "chosen")
    assert "latency_ms_batch1" in chosen
    assert chosen["metric_value"] >= report.before["metric_value"] - 0.02
    assert execution_plan(back) == execution_plan(fast)
    assert scope["engine"].backend.name == execution_plan(fast).backend
    assert scope["out"].shape == (45, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here: the CUDA plans need one")
def test_on_a_gpu_the_plan_logic_picks_half_precision_and_cuda():
    model = classifier()
    optimized = ModelOptimizer().optimize(model, goal="speed", inputs=torch.randn(32, 16), show=False)
    report = optimization_report(optimized)
    names = [c["name"] for c in report.candidates]
    assert "fp16 eager" in names and "fp16 torch.compile" in names
    plan = execution_plan(optimized)
    assert plan.device == "cuda"
    engine = Engine(device="cuda").load_model(optimized)
    assert engine.run(torch.randn(4, 16)).shape == (4, 4)


PRUNED = "pruned 20% FFN + recovery, int8 ONNX Runtime"


def test_training_data_adds_the_pruned_and_distilled_candidate_measured_and_reported(one_torch_thread):
    model = classifier()
    optimized = ModelOptimizer().optimize(model, goal="speed", data=labelled(model, 192),
                                          eval_data=labelled(model), show=False)
    report = optimization_report(optimized)
    assert [c["name"] for c in report.candidates] == CPU_CANDIDATES + [PRUNED]
    by_name = {c["name"]: c for c in report.candidates}
    pruned = by_name[PRUNED]
    assert (pruned["backend"], pruned["precision"]) == ("onnx-int8", "int8")
    assert pruned["status"] in ("chosen", "rejected", "measured")
    assert {"throughput", "size_bytes"} <= set(pruned)
    # evaluation stops at the fastest plan within budget: a slower one is measured, not scored
    assert ("metric_value" in pruned) is (pruned["status"] != "measured")
    # 20 % fewer hidden neurons, then int8: smaller than the int8 plan of the unpruned model
    assert pruned["size_bytes"] < by_name["int8 ONNX Runtime (per-channel)"]["size_bytes"]
    assert PRUNED in report.table()
    no_data = ModelOptimizer().optimize(model, goal="speed", eval_data=labelled(model), show=False)
    assert PRUNED not in [c["name"] for c in optimization_report(no_data).candidates]


def test_optimize_in_m_with_training_data_reports_the_pruned_candidate(one_torch_thread):
    scope = run_source(TRAINED_TINY + textwrap.dedent("""
        fast = optimize(clf, goal="speed", data=train_set, eval_data=test_set, budget=0.05)
    """), "prune_plan_test.m")
    report = optimization_report(scope["fast"])
    pruned = next(c for c in report.candidates if c["name"] == PRUNED)
    assert pruned["throughput"] > 0 and pruned["metric_value"] is not None
    assert pruned["status"] == "chosen" or pruned["reason"]  # a rejected candidate says why
