"""A Hugging Face hub name (`"bert-base-uncased"`, `"org/model"`) as a text encoder, where the
network allows: downloaded into the standard hub cache (so `HF_HOME` and a warm cache work as for
transformers), safetensors weights only, at a pinned revision.

`revision=` pins a branch, tag or commit; the model's `source` records the commit the download
resolved to (`"bert-base-uncased@<commit>"`), so a saved model says exactly what it came from.
With `HF_HUB_OFFLINE=1` (M's tests and scripts set it) nothing is downloaded: the error says
so and lists the offline models.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from mlang.lang.diagnostics import MError

# What a text encoder needs; never pickled weights (`pytorch_model.bin`) or code (`*.py`).
ALLOWED_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "1_Pooling/*"]
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def is_hub_name(name: str) -> bool:
    return isinstance(name, str) and _REPO_ID.fullmatch(name) is not None and ".." not in name


def offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def download(name: str, revision: str | None = None) -> Path:
    """The local snapshot folder of hub repository `name` at `revision`."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(name, revision=revision, allow_patterns=ALLOWED_FILES))
    except Exception as error:  # noqa: BLE001 - the hub client raises many types; all mean "not here"
        raise MError(f"cannot download {name!r} from the Hugging Face hub: {error}",
                     field="pretrained_model",
                     hint="check the name and the network; offline, use a model of M's zoo "
                          "or a local Hugging Face directory") from None
    if not any(folder.glob("*.safetensors")):
        raise MError(f"{name!r} on the Hugging Face hub publishes no safetensors weights",
                     field="pretrained_model",
                     hint="M never loads pickled weights (pytorch_model.bin); pick a revision or "
                          "a model that has model.safetensors")
    return folder


def load(name: str, revision: str | None = None, **options):
    from mlang.models.zoo import hf_directory

    folder = download(name, revision)
    model = hf_directory.load(str(folder), **options)
    model.source = f"{name}@{folder.name}"  # the snapshot folder is named by its commit
    return model
