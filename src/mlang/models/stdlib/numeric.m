// M's standard numeric metamodels.

// Tabular regression: a feature vector per example → num_outputs values.
metamodel Regressor {
    input: Tensor[float32, B, num_features]
    output: Tensor[float32, B, num_outputs]
    num_features: int  // abstract: bind it (the number of input columns)
    num_outputs: int = 1
    hidden: int = 64
    dropout: float = 0.1
    Dense(hidden, activation="relu")
    Dropout(dropout)
    Dense(hidden, activation="relu")
    Dense(num_outputs)
}

// Sequence forecasting: a window of past steps → the next `horizon` values of the first feature
// (an LSTM encoder).  For non-stationary series (prices): scaling = "window" standardizes each
// window by its own mean and std; target = "returns" predicts the change from the window's last
// value (starting from the random walk).  Predictions are always in the data's units.
metamodel SequenceForecaster {
    input: Tensor[float32, B, window, num_features]
    output: Tensor[float32, B, horizon]
    window: int = 30
    num_features: int = 1
    horizon: int = 1
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    target: str = "level"  // "level" | "returns"
    scaling: str = "global"  // "global" (the data as given) | "window"
    Forecast(
        LSTM(hidden_size, num_layers=num_layers, dropout=dropout),
        Dense(horizon),
        target=target,
        scaling=scaling,
    )
}
