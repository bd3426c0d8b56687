"""The data stage of M's pipeline (see docs/architecture.md and docs/data.md).

`Dataset` with its loaders (`Dataset.csv`, `.jsonl`, `.parquet`, `.images`, `.squad`,
`.timeseries`, `.rdataset`, `.bbc_news`, `.sklearn`, `.frame`, `.records`), `split`, and batching
with the model's own preprocessing.
"""
from mlang.data.batching import Batch
from mlang.data.dataset import Dataset, Example, split

__all__ = ["Dataset", "Example", "Batch", "split"]
