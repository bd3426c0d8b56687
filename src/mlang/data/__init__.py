"""The data stage of M's pipeline (see docs/architecture.md and docs/data.md).

`Dataset` with its loaders (`Dataset.csv`, `.jsonl`, `.parquet`, `.images`, `.squad`,
`.timeseries`, `.rdataset`, `.bbc_news`, `.sklearn`, `.frame`, `.records`), `split`, and batching
with the model's own preprocessing.  Names are imported on first use (`mlang.lang.exports`).
"""
from mlang.lang.exports import lazy_exports

_EXPORTS = {
    "Dataset": "mlang.data.dataset",
    "Example": "mlang.data.dataset",
    "Batch": "mlang.data.batching",
    "split": "mlang.data.dataset",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
