"""CSV files with a header row: `Dataset.csv("reviews.csv", text="review", label="score")`."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from mlang.data.columns import table_to_dataset
from mlang.data.dataset import Dataset
from mlang.data.loaders.files import existing_file
from mlang.data.errors import data_error


def load(path: str, *, labels: Sequence | None = None, delimiter: str = ",",
         encoding: str = "utf-8", **roles) -> Dataset:
    """Rows of a CSV file; each keyword maps an M role to a column (`text="review"`)."""
    import pandas as pd

    file = existing_file(path)
    try:
        # Only an empty cell is missing: "n/a", "NA" or "null" stay text, so a number column
        # holding one says "expected a number, got 'n/a'" and a text column keeps the words.
        frame = pd.read_csv(file, sep=delimiter, encoding=encoding, keep_default_na=False,
                            na_values=[""])
    except pd.errors.ParserError as error:
        # pandas words it "Expected 3 fields in line 5, saw 4": keep its line number.
        detail = str(error).split("C error: ")[-1].strip()
        raise data_error(f"{file}: malformed CSV: {detail}", field=str(file)) from None
    except pd.errors.EmptyDataError:
        raise data_error(f"{file}: the file is empty (expected a header row)", field=str(file)) from None
    except UnicodeDecodeError as error:
        raise data_error(f"{file}: not {encoding} text (byte {error.start})", field=str(file),
                     hint="pass encoding=... (for example \"latin-1\")") from None
    # Data row i is line i + 2 of the file (line 1 is the header) when no field spans lines.
    return table_to_dataset(frame, roles, source=str(file), labels=labels,
                            where=lambda i: f"row {i + 1} (line {i + 2})")
