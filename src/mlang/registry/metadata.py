"""What a version records besides its artifacts: framework versions, dataset fingerprint, and
metrics / hyperparameters / tags normalised to JSON."""
from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from mlang.lang.diagnostics import MError

FRAMEWORKS = ("m-lang", "torch", "transformers", "tokenizers", "safetensors")


def framework_versions() -> dict[str, str]:
    """Python and the package versions that produced an artifact (read without importing them)."""
    return dict(_installed_versions())


@functools.lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    # Reading package metadata costs ~8 ms a package; it cannot change within a process.
    found = {"python": platform.python_version()}
    for package in FRAMEWORKS:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return tuple(found.items())


def to_json(value, what: str):
    """`value` as plain JSON (numbers from numpy/torch scalars become Python numbers)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): to_json(item, f"{what}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item, f"{what}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 0) == 0:
        return to_json(item(), what)
    raise MError(f"{type(value).__name__} value cannot be recorded as JSON", field=what,
                 hint="record numbers, strings, booleans, lists or dicts")


def metrics_dict(metrics) -> dict:
    """A metrics mapping, or an evaluation report: its `metrics` mapping, else `to_dict()`."""
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        inner = getattr(metrics, "metrics", None)
        convert = getattr(metrics, "to_dict", None)
        if isinstance(inner, Mapping):
            metrics = inner
        elif callable(convert):
            metrics = convert()
    if not isinstance(metrics, Mapping):
        raise MError(f"metrics must be a dict of name → value, not {type(metrics).__name__}",
                     field="metrics", hint='for example metrics={"accuracy": 0.91}')
    return to_json(metrics, "metrics")


def params_dict(params) -> dict:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise MError(f"params must be a dict of hyperparameter → value, not "
                     f"{type(params).__name__}", field="params", hint='for example params={"lr": 2e-5}')
    return to_json(params, "params")


def tags_dict(tags) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise MError(f"tags must be a dict of name → text, not {type(tags).__name__}",
                     field="tags", hint='for example tags={"team": "nlp"}')
    for key in tags:
        if not isinstance(key, str) or not key.strip():
            raise MError(f"tag name {key!r} must be non-empty text", field="tags")
    return {key: str(value) for key, value in tags.items()}


def _hash_file(path: Path, digest) -> None:
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)


def dataset_fingerprint(dataset) -> dict | None:
    """A record of which data a model was trained on.

    A path (file or folder) is hashed by content; a mapping is taken as a ready fingerprint; an
    object with a `fingerprint` (attribute or method) uses it; any other sized iterable of
    examples (an M `Dataset`) is hashed row by row in order.
    """
    if dataset is None:
        return None
    if isinstance(dataset, Mapping):
        return to_json(dataset, "dataset")
    if isinstance(dataset, (str, Path)):
        return _path_fingerprint(Path(dataset))
    given = getattr(dataset, "fingerprint", None)
    if given is not None:
        value = given() if callable(given) else given
        record = {"sha256": str(value)}
    else:
        try:
            rows = iter(dataset)
        except TypeError:
            raise MError(f"cannot fingerprint a {type(dataset).__name__} as a dataset",
                         field="dataset", hint="pass a Dataset, a file or folder path, or a dict")
        digest = hashlib.sha256()
        count = 0
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, default=repr).encode())
            digest.update(b"\n")
            count += 1
        record = {"sha256": digest.hexdigest(), "rows": count}
    name = getattr(dataset, "name", None)
    if isinstance(name, str):
        record["name"] = name
    if "rows" not in record and hasattr(dataset, "__len__"):
        record["rows"] = len(dataset)
    return record


def _path_fingerprint(path: Path) -> dict:
    if path.is_file():
        digest = hashlib.sha256()
        _hash_file(path, digest)
        return {"path": str(path), "sha256": digest.hexdigest(), "bytes": path.stat().st_size}
    if path.is_dir():
        digest = hashlib.sha256()
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(str(file.relative_to(path)).encode() + b"\0")
            _hash_file(file, digest)
        return {"path": str(path), "sha256": digest.hexdigest(), "files": len(files)}
    return {"name": str(path)}
