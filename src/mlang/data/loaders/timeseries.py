"""Numeric time series as sliding windows: `Dataset.timeseries(prices, column="close", window=30)`.

Each example is `x`: the `window` most recent values (shape `[window, n_columns]`) and `y`: the
target column `horizon` steps after the window.  Values are normalized with statistics fitted on
the first `train_fraction` of the series only, so the held-out future never leaks into training.
The dataset is ordered: `split` cuts it chronologically.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mlang.data.dataset import Dataset
from mlang.data.errors import data_error


@dataclass
class Normalizer:
    """Per-column affine scaling fitted on the training part: `(v - shift) / scale`."""

    method: str
    columns: list[str]
    shift: list[float]
    scale: list[float]

    @classmethod
    def fit(cls, values, columns: list[str], method: str | None) -> "Normalizer":
        import numpy as np

        if method is None:
            shift, scale = np.zeros(values.shape[1]), np.ones(values.shape[1])
        elif method == "zscore":
            shift, scale = values.mean(axis=0), values.std(axis=0)
        elif method == "minmax":
            shift, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        else:
            raise data_error(f"unknown normalization {method!r} (use \"zscore\", \"minmax\" or none)",
                         field="normalize")
        scale = np.where(scale == 0, 1.0, scale)
        return cls(method or "none", columns, [float(s) for s in shift], [float(s) for s in scale])

    def transform(self, values):
        import numpy as np

        return (values - np.asarray(self.shift)) / np.asarray(self.scale)

    def inverse(self, values, column: str | None = None):
        """Normalized values of one column (the target by default) back in original units."""
        import numpy as np

        index = self.columns.index(column) if column else 0
        return np.asarray(values, dtype=float) * self.scale[index] + self.shift[index]


def load(source, *, column: str | Sequence[str] = "value", target: str | None = None,
         window: int = 30, horizon: int = 1, train_fraction: float = 0.8,
         normalize: str | None = "zscore", order_by: str | None = None) -> Dataset:
    """Sliding windows over a series from a CSV/Parquet path, a DataFrame, a Dataset or numbers.

    `column` names the value column(s) (each window holds all of them); `target` the column to
    predict (default: the first); `order_by` a column to sort by first (for example a date).
    """
    import numpy as np

    columns = [column] if isinstance(column, str) else list(column)
    target = target or columns[0]
    if target not in columns:
        raise data_error(f"target {target!r} must be one of the window columns {columns}", field="target")
    if window < 1 or horizon < 1:
        raise data_error(f"window and horizon must be >= 1 (got {window}, {horizon})", field="window")
    if not 0.0 < train_fraction <= 1.0:
        raise data_error(f"train_fraction must be in (0, 1], got {train_fraction}", field="train_fraction")
    frame, name = _frame(source, columns)
    if order_by is not None:
        if order_by not in frame.columns:
            raise data_error(f"{name}: no column {order_by!r} to order by", field=order_by)
        frame = frame.sort_values(order_by, kind="stable").reset_index(drop=True)
    values = _numeric(frame, columns, name)
    count = len(values) - window - horizon + 1
    if count < 2:
        raise data_error(f"{name}: {len(values)} values are too few for window={window}, "
                     f"horizon={horizon}", field="window")
    fitted = max(int(len(values) * train_fraction), 1)
    normalizer = Normalizer.fit(values[:fitted], columns, normalize)
    scaled = normalizer.transform(values).astype(np.float32)
    target_index = columns.index(target)
    examples = [{"x": scaled[i:i + window], "y": float(scaled[i + window + horizon - 1, target_index])}
                for i in range(count)]
    return Dataset(examples, input_column="x", target_column="y", source=name, ordered=True,
                   info={"normalizer": normalizer, "target": target, "window": window,
                         "horizon": horizon, "fitted_rows": fitted})


def _frame(source, columns: list[str]):
    """The series as a DataFrame, and a name for errors."""
    import numpy as np
    import pandas as pd

    if isinstance(source, Dataset):
        return pd.DataFrame.from_records(source.examples), source.source or "dataset"
    if isinstance(source, pd.DataFrame):
        return source, "dataframe"
    if isinstance(source, (str, Path)):
        from mlang.data.loaders.files import existing_file

        file = existing_file(source)
        reader = pd.read_parquet if file.suffix == ".parquet" else pd.read_csv
        try:
            return reader(file), str(file)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise data_error(f"{file}: malformed file: {error}", field=str(file)) from None
    array = np.asarray(source, dtype=object)
    if array.ndim == 1 and len(columns) == 1:
        return pd.DataFrame({columns[0]: list(array)}), "series"
    raise data_error(f"Dataset.timeseries: cannot read a series from {type(source).__name__}",
                 field="source", hint="pass a file path, a DataFrame, a Dataset or a list of numbers")


def _numeric(frame, columns: list[str], name: str):
    import numpy as np

    from mlang.data.columns import _to_float

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise data_error(f"{name}: no column {missing[0]!r} (columns: "
                     f"{', '.join(map(str, frame.columns))})", field=missing[0])
    rows = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        for i, value in enumerate(frame[column]):
            rows[i, j] = _to_float(value, name, f"row {i + 1}", column)
    return rows
