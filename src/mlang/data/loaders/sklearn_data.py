"""Datasets bundled with scikit-learn: `Dataset.sklearn("iris")`, `Dataset.sklearn("diabetes")`.

Tabular sets give `features` (a list of floats per row) and `label` (classification) or `target`
(regression); `digits` gives 8x8 images as 64 features.
"""
from __future__ import annotations

from mlang.data.dataset import Dataset
from mlang.data.errors import data_error

CLASSIFICATION = ("iris", "wine", "breast_cancer", "digits")
REGRESSION = ("diabetes",)


def load(name: str) -> Dataset:
    """The named bundled set (one of iris, wine, breast_cancer, digits, diabetes)."""
    from sklearn import datasets

    if name not in CLASSIFICATION + REGRESSION:
        raise data_error(f"unknown scikit-learn dataset {name!r}", field="name",
                     hint="known: " + ", ".join(CLASSIFICATION + REGRESSION))
    bunch = getattr(datasets, f"load_{name}")()
    features = bunch.data.astype("float32").tolist()
    if name in CLASSIFICATION:
        names = [str(n) for n in getattr(bunch, "target_names", sorted(set(bunch.target)))]
        examples = [{"features": f, "label": int(t)} for f, t in zip(features, bunch.target)]
        return Dataset(examples, labels=names, source=f"sklearn:{name}")
    examples = [{"features": f, "target": float(t)} for f, t in zip(features, bunch.target)]
    return Dataset(examples, source=f"sklearn:{name}")
