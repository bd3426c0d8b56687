"""An in-memory pandas DataFrame: `Dataset.frame(df, text="review", label="score")`."""
from __future__ import annotations

from typing import Sequence

from mlang.data.columns import table_to_dataset
from mlang.data.dataset import Dataset


def load(frame, *, labels: Sequence | None = None, name: str = "dataframe", **roles) -> Dataset:
    """Rows of a DataFrame; each keyword maps an M role to a column."""
    return table_to_dataset(frame, roles, source=name, labels=labels)
