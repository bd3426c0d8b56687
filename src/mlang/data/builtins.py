"""M builtins of the data stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin

register_builtin("Dataset", "mlang.data.dataset:Dataset",
                 doc="Datasets: Dataset.csv(path, text=..., label=...), .jsonl, .parquet, .images, "
                     ".squad, .timeseries, .rdataset, .bbc_news, .sklearn")
register_builtin("split", "mlang.data.dataset:split",
                 doc="split(data, 0.8, seed=7, stratify=true) -> (first, rest)")
