"""SequenceForecaster's modes for non-stationary series (issue 14): `scaling = "window"` and
`target = "returns"`, through fit, evaluate, predict, save/load and the Engine."""
import math

import numpy as np
import pytest
import torch

import mlang as m
from mlang.lang.diagnostics import MError
from mlang.models import stdlib

from models_m import check_m, run_m


@pytest.fixture(autouse=True)
def _threads(one_torch_thread):
    return


def test_returns_start_at_the_random_walk():
    torch.manual_seed(0)
    forecaster = stdlib.SequenceForecaster(window=8, target="returns", scaling="window")
    windows = torch.randn(6, 8, 1).cumsum(dim=1) + 100.0
    assert torch.allclose(forecaster(windows)[:, 0], windows[:, -1, 0], atol=1e-4)


def test_window_scaling_follows_the_level_and_the_scale_of_each_window():
    torch.manual_seed(0)
    forecaster = stdlib.SequenceForecaster(window=10, scaling="window").eval()
    window = torch.randn(4, 10, 1)
    shifted = forecaster(window * 50.0 + 1000.0)
    assert torch.allclose(shifted, forecaster(window) * 50.0 + 1000.0, rtol=1e-4, atol=1e-2)
    plain = stdlib.SequenceForecaster(window=10).eval()  # scaling="global": no such invariance
    assert not torch.allclose(plain(window * 50.0 + 1000.0), plain(window) * 50.0 + 1000.0, atol=1.0)


def test_a_flat_window_is_not_divided_by_zero():
    forecaster = stdlib.SequenceForecaster(window=5, scaling="window", target="returns")
    out = forecaster(torch.full((2, 5, 1), 7.0))
    assert torch.isfinite(out).all() and torch.allclose(out, torch.full((2, 1), 7.0))


def test_unknown_modes_are_errors_naming_the_choices():
    with pytest.raises(MError, match="unknown target 'return'") as error:
        stdlib.SequenceForecaster(target="return")
    assert "target is one of: level, returns" in str(error.value)
    with pytest.raises(MError, match="unknown scaling 'local'"):
        stdlib.SequenceForecaster(scaling="local")


def test_m_check_accepts_the_fields_and_rejects_a_bad_type():
    ok = "model F extends SequenceForecaster { window = 12; scaling = \"window\"; target = \"returns\" }\n"
    assert check_m(ok) == []
    bad = check_m("model F extends SequenceForecaster { scaling = 3 }\n")
    assert bad and "scaling" in bad[0].message


TRENDING = """
setSeed(1)
steps = [i * 1.0 for i in range(400)]
prices = [100.0 * 1.01 ** t + 3.0 * math.sin(t / 3.0) for t in steps]
windows = Dataset.timeseries(prices, window=12, train_fraction=0.5)
train_set, test_set = split(windows, 0.5)
model Forecaster extends SequenceForecaster { window = 12; hidden_size = 16; MODES }
forecaster = fineTuneModel(Forecaster(), train_set, epochs=6, lr=1e-2, batch_size=32, warmup=0.0, seed=1)
report = evaluate(forecaster, test_set, metrics=["mse"])
predicted = predict(forecaster, test_set)
walk = [float(x[-1][0]) for x in test_set.column("x")]
truth = test_set.column("y")
walk_mse = sum([(a - b) ** 2 for a, b in zip(walk, truth)]) / len(truth)
save(forecaster, "trend")
reloaded = load("trend")
engine = Engine()
engine.load_model(reloaded)
engine.prepare_data(torch.stack([torch.as_tensor(x) for x in test_set.column("x")]))
by_engine = engine.run()
"""


def _trending(modes: str) -> dict:
    return run_m("import python math\nimport python torch\n" + TRENDING.replace("MODES", modes),
                 "forecast_modes.m")


def test_a_series_beyond_the_training_range_needs_window_scaling():
    """Prices in the test half lie far above every training price: the plain forecaster cannot
    reach them; window scaling with returns follows them, and every path predicts the same."""
    scaled = _trending('scaling = "window"; target = "returns"')
    plain = _trending("")
    assert scaled["report"]["mse"] < scaled["walk_mse"] < plain["report"]["mse"]
    predicted = np.array(scaled["predicted"])
    assert np.allclose(predicted, np.array(scaled["by_engine"]).reshape(-1), rtol=1e-4, atol=1e-4)
    assert math.isclose(float(np.mean((predicted - np.array(scaled["truth"])) ** 2)),
                        scaled["report"]["mse"], rel_tol=1e-4)
    reloaded_predicted = m.predict(scaled["reloaded"], scaled["test_set"])
    assert np.allclose(reloaded_predicted, predicted, atol=1e-5)


def test_onnx_export_of_the_scaled_forecaster_matches_torch(tmp_path):
    from mlang.engine.exporter import export

    torch.manual_seed(0)
    forecaster = stdlib.SequenceForecaster(window=6, hidden_size=4, target="returns", scaling="window")
    torch.nn.init.normal_(list(forecaster.parameters())[-2])  # not the random walk: a real check
    export(forecaster, tmp_path / "forecaster", format="onnx")  # verifies ONNX Runtime against torch
    assert (tmp_path / "forecaster.json").exists()
