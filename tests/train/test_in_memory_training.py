"""Issue 12, item 8: training on tensors and arrays — `fineTuneModel(net, (x, y))`, evaluate and
predict on in-memory data, from M and from Python."""
import textwrap

import numpy as np
import pytest
import torch

import mlang as m
from mlang.lang.api import run_source
from mlang.lang.diagnostics import MError


def test_fine_tune_a_stdlib_regressor_on_a_tensor_pair_from_m():
    scope = run_source(textwrap.dedent("""
        import python torch
        setSeed(0)
        x = torch.randn(128, 3)
        y = x[:, 0] * 2.0 - x[:, 1]
        model Line extends Regressor { num_features = 3; hidden = 16; dropout = 0.0 }
        before = evaluate(Line(), (x, y), metrics=["mse"])["mse"]
        net = fineTuneModel(Line(), (x, y), epochs=20, lr=1e-2, batch_size=32, warmup=0, progress=false)
        after = evaluate(net, (x, y), metrics=["mse"])["mse"]
        values = predict(net, x[:5])
        also = fineTuneModel(Line(), Dataset.tensors(x, y), (x[:16], y[:16]), epochs=1, progress=false)
    """), "tensors.m")
    assert scope["after"] < 0.3 * scope["before"]
    assert len(scope["values"]) == 5 and all(isinstance(v, float) for v in scope["values"])
    assert scope["net"].task == "regression"
    assert "valid_mse" in scope["also"].history.epochs[0]


def test_fine_tune_a_classifier_on_numpy_arrays_from_python():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype(np.float64)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + 1          # class ids 1 and 2 (0 is unused)
    g = run_source(textwrap.dedent("""
        model Tiny {
            input: Tensor[float32, B, 4]
            Dense(16)
            ReLU()
            Dense(3)
        }
    """), "tiny.m")
    m.seed_everything(0)
    net = m.fine_tune_model(g["Tiny"](), (x, y), epochs=15, lr=3e-2, batch_size=16, progress=False)
    assert net.labels == [0, 1, 2] and net.task == "classification"
    report = m.evaluate(net, (x, y), metrics=["accuracy"])
    assert report["accuracy"] > 0.9
    predicted = m.predict(net, x[:20])                     # a [N, 4] array: N inputs
    assert len(predicted) == 20 and sum(p == t for p, t in zip(predicted, y[:20].tolist())) >= 17
    data = m.Dataset.arrays(x, y)
    assert m.predict(net, data, output="ids")[:10] == m.predict(net, x[:10], output="ids")


def test_a_pair_that_does_not_fit_is_an_m_error_naming_the_argument():
    g = run_source("model Two { input: Tensor[float32, B, 2]; Dense(1) }\n", "two.m")
    with pytest.raises(MError) as error:
        m.fine_tune_model(g["Two"](), (torch.zeros(4, 2), torch.zeros(3)), progress=False)
    assert error.value.field == "y" and "x has 4 examples but y has 3" in str(error.value)
    with pytest.raises(MError) as error:
        m.fine_tune_model(g["Two"](), [torch.zeros(4, 2), torch.zeros(4)], progress=False)
    assert error.value.field == "train" and "(x, y)" in error.value.diagnostics[0].hint
    with pytest.raises(MError) as error:
        run_source(textwrap.dedent("""
            import python numpy as np
            model Two { input: Tensor[float32, B, 2]; Dense(1) }
            net = fineTuneModel(Two(), (np.array([["a", "b"]]), np.zeros(1)), progress=false)
        """), "pair.m")
    assert "pair.m:4:" in str(error.value) and "x must hold numbers, got text" in str(error.value)


def test_predict_on_a_tensor_of_inputs_needs_class_names_like_a_list_does():
    g = run_source("model Two { input: Tensor[float32, B, 2]; Dense(3) }\n", "two.m")
    net = g["Two"]()
    net.task = "classification"
    with pytest.raises(MError, match="no class names"):
        m.predict(net, torch.zeros(4, 2))
    assert len(m.predict(net, torch.zeros(4, 2), output="ids")) == 4
    net.labels = ["a", "b", "c"]
    assert set(m.predict(net, np.zeros((4, 2), dtype=np.float32))) <= {"a", "b", "c"}
