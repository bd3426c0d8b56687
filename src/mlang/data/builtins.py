"""M builtins of the data stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin
from mlang.models.serialize import register_input_check

# `Dataset.<format>(...)`: the parameters of each loader's `load` (mlang.data.loaders.LOADERS;
# tests/lang/test_builtin_signatures.py checks both).  `**roles` map M roles to columns by name.
LOADER_PARAMS = {
    "csv": "path: str, *, labels: Sequence | None = None, delimiter: str = ',', encoding: str = 'utf-8', "
           "**roles: str | list",
    "jsonl": "path: str, *, labels: Sequence | None = None, encoding: str = 'utf-8', **roles: str | list",
    "parquet": "path: str, *, labels: Sequence | None = None, **roles: str | list",
    "frame": "frame, *, labels: Sequence | None = None, name: str = 'dataframe', **roles: str | list",
    "records": "records: list, *, labels: Sequence | None = None, name: str = 'records', **roles: str | list",
    "images": "root: str, *, size: Sequence[int] | int | None = None, labels: Sequence | None = None, "
              "extensions: Sequence[str] = ..., transform: Sequence = ()",
    "squad": "path: str, *, check_offsets: bool = True",
    "timeseries": "source, *, column: str | Sequence[str] = 'value', target: str | None = None, window: int = 30, "
                  "horizon: int = 1, train_fraction: float = 0.8, normalize: str | None = 'zscore', "
                  "order_by: str | None = None",
    "rdataset": "package: str, item: str, *, labels: Sequence | None = None, **roles: str | list",
    "bbc_news": "",
    "sklearn": "name: str",
    "tensors": "x, y=None, *, labels: Sequence | None = None, task: str | None = None, name: str | None = None",
    "arrays": "x, y=None, *, labels: Sequence | None = None, task: str | None = None, name: str | None = None",
}

register_builtin("Dataset", "mlang.data.dataset:Dataset",
                 doc="Datasets: Dataset.csv(path, text=..., label=...), .jsonl, .parquet, .images, "
                     ".squad, .timeseries, .rdataset, .bbc_news, .sklearn",
                 params="examples, *, input_column: str | None = None, target_column: str | None = None, "
                        "labels: Sequence | None = None, source: str | None = None, decoders: dict | None = None, "
                        "ordered: bool = False, info: dict | None = None, transform: Sequence = ()",
                 members=LOADER_PARAMS)
register_builtin("split", "mlang.data.dataset:split",
                 doc="split(data, 0.8, seed=7, stratify=true) -> (first, rest)",
                 params="dataset, fraction: float = 0.8, seed: int = 0, stratify: bool = False, shuffle: bool = True")

# Image transforms (data/transforms.py): `Dataset.images(path, transform=[...])`, `data.transform(...)`.
for _name, _doc, _params in (
        ("Grayscale", "Grayscale(channels=3): grey levels (repeated to 3 channels)", "channels: int = 3"),
        ("Resize", "Resize(224) or Resize((height, width))", "size"),
        ("CenterCrop", "CenterCrop(size): the central size x size", "size"),
        ("RandomHorizontalFlip", "RandomHorizontalFlip(p=0.5): augmentation, training only", "p: float = 0.5"),
        ("RandomCrop", "RandomCrop(scale=0.8): a random crop resized back; training only", "scale: float = 0.8"),
        ("ColorJitter", "ColorJitter(brightness=0, contrast=0, saturation=0); training only",
         "brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0"),
        ("Normalize", "Normalize(mean, std): the image as a normalized tensor [C, H, W]",
         "mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)")):
    register_builtin(_name, f"mlang.data.transforms:{_name}", doc=_doc, params=_params)
# A saved model's input pipeline is checked against these transforms when it is read.
register_input_check("mlang.data.transforms:from_records")
