"""Dataset loaders: one module per source format, each exposing `load(source, **options) -> Dataset`.

Adding a format is one file here and one line in `LOADERS`; `Dataset.<format>(...)` then calls it.
"""
from __future__ import annotations

import importlib
from typing import Callable

LOADERS = {
    "csv": "mlang.data.loaders.csv",
    "jsonl": "mlang.data.loaders.jsonl",
    "parquet": "mlang.data.loaders.parquet",
    "frame": "mlang.data.loaders.frame",
    "records": "mlang.data.loaders.records",
    "images": "mlang.data.loaders.images",
    "squad": "mlang.data.loaders.squad",
    "timeseries": "mlang.data.loaders.timeseries",
    "rdataset": "mlang.data.loaders.rdataset",
    "bbc_news": "mlang.data.loaders.bbc_news",
    "sklearn": "mlang.data.loaders.sklearn_data",
    # One file for both in-memory forms: torch tensors and numpy arrays.
    "tensors": "mlang.data.loaders.arrays",
    "arrays": "mlang.data.loaders.arrays",
}


def loader(fmt: str) -> Callable:
    """The `load` function of a format's loader module."""
    return importlib.import_module(LOADERS[fmt]).load
