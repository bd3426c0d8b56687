"""Baselines and scores for the S&P 500 case study (sp500.m), on the windows M's loader made.

- `scores(windows, data, predicted)`: MSE and R² of next-day closes on the normalized price scale
  (the loader's z-score, fitted on the training years) and on daily returns (in real prices:
  predicted close / last close - 1 against the true return).
- `random_walk(data)`: tomorrow's close = today's.
- `arima_grid(...)`: ARIMA(p, d, q) by grid search, each order scored by one-step-ahead MSE on a
  validation part of the training years (never the test), the best refitted on the whole training
  part and run one step ahead over the test years with its parameters fixed.
"""
from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
from sklearn.metrics import mean_squared_error, r2_score


def _last_and_truth(data):
    last = np.array([float(x[-1][0]) for x in data.column("x")])
    truth = np.array(data.column("y"), dtype=float)
    return last, truth


def scores(windows, data, predicted) -> dict:
    """{"mse", "r2"} on normalized prices and {"mse_returns", "r2_returns"} on daily returns."""
    last, truth = _last_and_truth(data)
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    normalizer = windows.info["normalizer"]
    last_price, true_price, predicted_price = (normalizer.inverse(v) for v in (last, truth, predicted))
    true_return = true_price / last_price - 1
    predicted_return = predicted_price / last_price - 1
    return {"mse": mean_squared_error(truth, predicted), "r2": r2_score(truth, predicted),
            "mse_returns": mean_squared_error(true_return, predicted_return),
            "r2_returns": r2_score(true_return, predicted_return)}


def random_walk(data) -> list:
    return _last_and_truth(data)[0].tolist()


def series_of(windows) -> np.ndarray:
    """The normalized series the windows were cut from (horizon 1): the first window, then each target."""
    if windows.info.get("horizon") != 1:
        raise ValueError("series_of needs windows with horizon=1")
    first = np.asarray(windows[0].x)[:, 0]
    return np.concatenate([first, np.asarray(windows.column("y"), dtype=float)])


def _one_step(fitted, series: np.ndarray, start: int) -> np.ndarray:
    """One-step-ahead predictions of series[start:] with `fitted`'s parameters, fixed."""
    return np.asarray(fitted.apply(series).predict(start=start, end=len(series) - 1))


def arima_grid(windows, train_count: int, valid_count: int, p=(0, 1, 2), d=(0, 1), q=(0, 1, 2)) -> dict:
    """Grid search over ARIMA orders on the training windows; predictions for the rest.

    `train_count` windows are the training part (of which the last `valid_count` validate).
    Returns the chosen order, each order's validation MSE, and the test predictions (one per
    window after the training part).
    """
    from statsmodels.tsa.arima.model import ARIMA

    series = series_of(windows)
    window = windows.info["window"]
    train_end = window + train_count          # series[:train_end] holds every training target
    fit_end = train_end - valid_count
    started = time.perf_counter()
    grid = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for order in itertools.product(p, d, q):
            trend = "c" if order[1] == 0 else "n"
            try:
                fitted = ARIMA(series[:fit_end], order=order, trend=trend).fit()
                predicted = _one_step(fitted, series[:train_end], fit_end)
                grid[order] = float(mean_squared_error(series[fit_end:train_end], predicted))
            except (ValueError, np.linalg.LinAlgError):
                grid[order] = float("inf")
        best = min(grid, key=grid.get)
        fitted = ARIMA(series[:train_end], order=best, trend="c" if best[1] == 0 else "n").fit()
        predicted = _one_step(fitted, series, train_end)
    return {"order": best, "validation_mse": grid, "predictions": predicted.tolist(),
            "seconds": time.perf_counter() - started}


def period(days, windows, train_count: int) -> str:
    """The test period as "first date – last date" (the targets of the windows after the training part)."""
    dates = days.sort_values("date", kind="stable")["date"].tolist()
    first = windows.info["window"] + windows.info["horizon"] - 1 + train_count
    return f"{dates[first]} – {dates[-1]}"
