"""Python records (a list of dicts): `Dataset.records([{"t": "hi", "y": 1}], text="t", label="y")`."""
from __future__ import annotations

from typing import Sequence

from mlang.data.columns import table_to_dataset
from mlang.data.dataset import Dataset
from mlang.data.errors import data_error


def load(records: list, *, labels: Sequence | None = None, name: str = "records", **roles) -> Dataset:
    """One example per record; each keyword maps an M role to a key."""
    import pandas as pd

    if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict) for r in records):
        raise data_error("Dataset.records expects a list of dicts", field="records")
    return table_to_dataset(pd.DataFrame.from_records(list(records)), roles, source=name,
                            labels=labels)
