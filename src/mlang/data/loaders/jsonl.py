"""JSON Lines files (one JSON object per line): `Dataset.jsonl("data.jsonl", text="body", label="tag")`."""
from __future__ import annotations

import json
from typing import Sequence

from mlang.data.columns import table_to_dataset
from mlang.data.dataset import Dataset
from mlang.data.loaders.files import existing_file
from mlang.data.errors import data_error


def load(path: str, *, labels: Sequence | None = None, encoding: str = "utf-8", **roles) -> Dataset:
    """One example per non-blank line; each keyword maps an M role to a field."""
    import pandas as pd

    file = existing_file(path)
    records, lines = [], []
    with open(file, encoding=encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise data_error(f"{file}:{number}:{error.colno}: invalid JSON: {error.msg}",
                             field=str(file)) from None
            if not isinstance(record, dict):
                raise data_error(f"{file}: line {number}: expected a JSON object, got "
                             f"{type(record).__name__}", field=str(file))
            records.append(record)
            lines.append(number)
    if not records:
        raise data_error(f"{file}: no records (the file is empty)", field=str(file))
    frame = pd.DataFrame.from_records(records)
    return table_to_dataset(frame, roles, source=str(file), labels=labels,
                            where=lambda i: f"line {lines[i]}")
