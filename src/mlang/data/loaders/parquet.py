"""Parquet files: `Dataset.parquet("data.parquet", features=["a", "b"], target="price")`."""
from __future__ import annotations

from typing import Sequence

from mlang.data.columns import table_to_dataset
from mlang.data.dataset import Dataset
from mlang.data.loaders.files import existing_file
from mlang.data.errors import data_error


def load(path: str, *, labels: Sequence | None = None, **roles) -> Dataset:
    """Rows of a Parquet file; each keyword maps an M role to a column."""
    import pandas as pd
    import pyarrow

    file = existing_file(path)
    try:
        frame = pd.read_parquet(file)
    except (pyarrow.ArrowException, OSError) as error:
        raise data_error(f"{file}: not a readable Parquet file ({error})", field=str(file)) from None
    return table_to_dataset(frame, roles, source=str(file), labels=labels)
