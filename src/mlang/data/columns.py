"""Typed column mapping shared by the table loaders (CSV, JSONL, Parquet, bundled tables).

`Dataset.csv("reviews.csv", text="review", label="score")` maps M roles (the keyword names) to
the file's columns (the values).  Each role has a type that every value is checked against; a
value of the wrong type is an `MError` naming the file, the row and the column.
"""
from __future__ import annotations

import difflib
import math
from typing import Any, Callable, Sequence

from mlang.data.dataset import Dataset
from mlang.data.errors import data_error
from mlang.lang.diagnostics import MError

# Role → the kind of value it holds.  Roles not listed here are copied unchecked.
ROLE_KINDS = {
    "text": "text", "question": "text", "context": "text",
    "label": "category",
    "target": "number", "y": "number",
    "features": "numbers", "x": "numbers",
}


def table_to_dataset(frame, roles: dict[str, Any], *, source: str,
                     where: Callable[[int], str] = lambda i: f"row {i + 1}",
                     labels: Sequence | None = None) -> Dataset:
    """A dataset whose examples hold the mapped, type-checked columns of a pandas DataFrame.

    `roles` maps role → column name (or a list of names for `features`).  With no roles, every
    column is kept under its own name.  `where(i)` words the position of data row `i` in errors.
    """
    if not roles:
        roles = {name: name for name in frame.columns}
    columns = {str(c): c for c in frame.columns}
    values: dict[str, list] = {}
    for role, spec in roles.items():
        names = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        for name in names:
            if str(name) not in columns:
                raise _missing_column(name, columns, source, role)
        kind = ROLE_KINDS.get(role)
        if kind == "numbers" or (role in ("features", "x") and len(names) > 1):
            values[role] = _numbers(frame, names, columns, source, where)
        else:
            if len(names) != 1:
                raise data_error(f"role {role!r} takes one column, got {len(names)}: {names}",
                             field=role)
            column = list(frame[columns[str(names[0])]])
            values[role] = _check_column(column, kind, str(names[0]), source, where)
    label_names = None
    if "label" in values:
        values["label"], label_names = encode_labels(values["label"], labels, source,
                                                     str(roles["label"]), where)
    count = len(frame)
    examples = [{role: column[i] for role, column in values.items()} for i in range(count)]
    return Dataset(examples, labels=label_names, source=source)


def encode_labels(values: list, labels: Sequence | None, source: str, column: str,
                  where: Callable[[int], str]) -> tuple[list[int], list]:
    """Label values → contiguous ids; the class names in id order.

    With `labels` given (for example a training set's `labels`, to give a test set the same
    mapping) every value must be one of them.
    """
    if labels is None:
        labels = sorted(set(values), key=lambda v: (type(v).__name__, v))
    index = {label: i for i, label in enumerate(labels)}
    ids = []
    for i, value in enumerate(values):
        if value not in index:
            raise data_error(f"{source}: {where(i)}, column {column!r}: label {value!r} is not one of "
                         f"{list(labels)}", field=column)
        ids.append(index[value])
    return ids, list(labels)


def _check_column(column: list, kind: str | None, name: str, source: str,
                  where: Callable[[int], str]) -> list:
    if kind is None:
        return [_plain(v) for v in column]
    checked = []
    for i, value in enumerate(column):
        value = _plain(value)
        if _is_missing(value):
            if kind == "text":
                checked.append("")
                continue
            raise data_error(f"{source}: {where(i)}, column {name!r}: missing value", field=name)
        if kind == "text" and not isinstance(value, str):
            raise data_error(f"{source}: {where(i)}, column {name!r}: expected text, got "
                         f"{type(value).__name__} {value!r}", field=name)
        if kind == "number":
            value = _to_float(value, source, where(i), name)
        if kind == "category" and isinstance(value, float) and value.is_integer():
            value = int(value)
        checked.append(value)
    return checked


def _numbers(frame, names: list, columns: dict, source: str, where) -> list:
    """The listed numeric columns of each row as one list of floats per row.

    A cell may hold a number or a list (or array) of numbers: one list-valued column keeps its
    shape (a list of lists stays one), several columns are joined end to end.  Every row must
    come out the same shape.
    """
    rows = [[] for _ in range(len(frame))]
    single = len(names) == 1
    for name in names:
        for i, value in enumerate(frame[columns[str(name)]]):
            numbers = _cell_numbers(value, source, where(i), str(name))
            if single and isinstance(numbers, list):
                rows[i] = numbers
            elif isinstance(numbers, list):
                rows[i].extend(_flat(numbers))
            else:
                rows[i].append(numbers)
    _check_same_shape(rows, names, source, where)
    return rows


def _cell_numbers(value, source: str, position: str, name: str):
    """A float, or (for a list / array cell) a nested list of floats."""
    import numpy as np

    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim > 0):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            shown = repr(list(value) if isinstance(value, np.ndarray) else value)
            raise data_error(f"{source}: {position}, column {name!r}: expected numbers, got "
                             f"{shown[:80]}", field=name) from None
        if array.size == 0:
            raise data_error(f"{source}: {position}, column {name!r}: an empty list of numbers",
                             field=name)
        if np.isnan(array).any():
            raise data_error(f"{source}: {position}, column {name!r}: missing value in the list",
                             field=name)
        return array.tolist()
    value = _plain(value)
    if _is_missing(value):
        raise data_error(f"{source}: {position}, column {name!r}: missing value", field=name)
    return _to_float(value, source, position, name)


def _flat(values: list) -> list:
    return [v for item in values for v in (_flat(item) if isinstance(item, list) else [item])]


def _shape(value) -> tuple:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def _check_same_shape(rows: list, names: list, source: str, where) -> None:
    if not rows:
        return
    first = _shape(rows[0])
    for i, row in enumerate(rows):
        shape = _shape(row)
        if shape != first:
            column = names[0] if len(names) == 1 else ", ".join(map(str, names))
            raise data_error(f"{source}: {where(i)}, column {column!r}: {_describe(shape)} but "
                             f"{where(0)} has {_describe(first)}", field=str(names[0]),
                             hint="every example's features need the same shape; pad or trim them")


def _describe(shape: tuple) -> str:
    if len(shape) == 1:
        return f"{shape[0]} number{'s' if shape[0] != 1 else ''}"
    return "shape [" + ", ".join(map(str, shape)) + "]"


def _to_float(value, source: str, position: str, name: str) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise data_error(f"{source}: {position}, column {name!r}: expected a number, got {value!r}",
                     field=name) from None
    if math.isnan(number):
        raise data_error(f"{source}: {position}, column {name!r}: missing value", field=name)
    return number


def _plain(value):
    """numpy scalars → Python scalars, so examples hold plain values."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _missing_column(name, columns: dict, source: str, role: str) -> MError:
    close = difflib.get_close_matches(str(name), list(columns), n=1)
    hint = f"did you mean {close[0]!r}?" if close else None
    return data_error(f"{source}: no column {str(name)!r} for role {role!r} "
                  f"(columns: {', '.join(columns)})", field=str(name), hint=hint)
