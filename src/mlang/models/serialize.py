"""Saving and restoring models: `dump(model) -> Artifact` and `restore(artifact) -> MModel`.

An `Artifact` has three parts:
- `config`: JSON that rebuilds the architecture — `{"format": 1, "model": {"kind": ..., ...},
  "task", "labels", "transforms", "input_transforms"}`.  Each model kind is rebuilt by the class registered for it
  with `register_kind(kind, "module:Class")` (layer stacks and compositions here; pretrained
  encoders from the zoo), through `Class.from_config(config, files, prefix)`;
- `tensors`: the state dict (the repository writes it as safetensors);
- `files`: extra blobs a kind needs (tokenizer files, ...), keyed by relative path.

A pass that changes a model's structure (structured pruning, quantization) appends
`{"transform": name, ...}` to `model.transforms`; `restore` rebuilds the architecture, replays
each transform with the function registered by `register_transform(name, replay_fn)` — which
returns the transformed model — and only then loads the tensors.

`"input_transforms"` is the model's input pipeline: the data transforms (`mlang.data.transforms`)
raw inputs go through before `preprocess`, as records `[{"name": "Grayscale", "channels": 3},
{"name": "Resize", "size": [224, 224]}, ...]` — names and parameters only, never code.  `restore`
checks every record with the function the data stage registers (`register_input_check`): a name
that is not an input transform, or a bad parameter, is an error naming the record.  A config
without the key (an older file) has no pipeline.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from mlang.lang.diagnostics import MError

FORMAT_VERSION = 1

_KINDS: dict[str, object] = {
    "layers": "mlang.models.stack:LayerStackModel",
    "sequential": "mlang.models.compose:SequentialModel",
    "parallel": "mlang.models.compose:ParallelModel",
    "custom": "mlang.models.compose:CustomModel",
    "keras": "mlang.models.keras:Model",
    "declared": "mlang.models.instance:DeclaredModel",
}
_TRANSFORMS: dict[str, object] = {}
_INPUT_CHECK: dict[str, object] = {}  # "check": records -> transforms, or an MError


@dataclass
class Artifact:
    """What it takes to rebuild a model: JSON config, named tensors, extra files."""

    config: dict
    tensors: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    origin: str | None = None  # where it was read from, for messages


def register_kind(kind: str, target) -> None:
    """Rebuild models whose config says `"kind": kind` with `target` (a class or "module:Class")."""
    _KINDS[kind] = target


def register_transform(name: str, replay_fn) -> None:
    """`replay_fn(model, record) -> model` re-applies a structural change before tensors load."""
    _TRANSFORMS[name] = replay_fn


def register_input_check(check_fn) -> None:
    """`check_fn(records, where)` (or "module:function") raises an MError for input-transform
    records it does not accept."""
    _INPUT_CHECK["check"] = check_fn


def _resolve(registry: dict, name: str, what: str):
    target = registry.get(name)
    if target is None:
        from mlang.lang.registry import load_stages

        load_stages()  # a stage registers its kinds and transforms when its builtins load
        target = registry.get(name)
    if target is None:
        known = ", ".join(sorted(registry)) or "none"
        raise MError(f"unknown {what} '{name}' in a saved model", field=what,
                     hint=f"known: {known}; is the stage that defines it installed?")
    if isinstance(target, str):
        from mlang.lang.registry import _import_target
        target = registry[name] = _import_target(target)
    return target


def model_config(model, files: dict, prefix: str = "") -> dict:
    """`{"kind": ..., **model.config(...)}`: used for a whole model and for nested parts."""
    kind = getattr(model, "kind", None)
    if kind is None or kind not in _KINDS:
        raise MError(f"a {type(model).__name__} cannot be saved: its kind {kind!r} is not registered",
                     hint="register it with mlang.models.serialize.register_kind")
    return {"kind": kind, **model.config(files, prefix)}


def model_from_config(config: dict, files: dict, prefix: str = ""):
    cls = _resolve(_KINDS, config.get("kind", "?"), "kind")
    body = {k: v for k, v in config.items() if k != "kind"}
    return cls.from_config(body, files, prefix)


def dump(model) -> Artifact:
    """Architecture config, state-dict tensors and extra files of an `MModel`."""
    files: dict[str, bytes] = {}
    config = {
        "format": FORMAT_VERSION,
        "model": model_config(model, files),
        "task": getattr(model, "task", None),
        "labels": getattr(model, "labels", None),
        "transforms": copy.deepcopy(list(getattr(model, "transforms", []))),
        "input_transforms": copy.deepcopy(list(getattr(model, "input_transforms", None) or [])),
    }
    json.dumps(config)  # fail here, not in the repository, when a config is not JSON
    tensors = {name: value.detach().contiguous() for name, value in model.state_dict().items()}
    return Artifact(config, tensors, files)


def restore(artifact: Artifact, *, trust_code=None):
    """Rebuild the model, replay its transforms, then load its tensors (strictly).

    Code the model carries runs only as `trust_code` allows (`mlang.models.trust`)."""
    from mlang.models.trust import check_trust

    config = artifact.config
    if config.get("format") != FORMAT_VERSION:
        raise MError(f"unsupported model format {config.get('format')!r}", field="format",
                     hint=f"this version of M reads format {FORMAT_VERSION}")
    check_trust(config, trust_code, artifact.origin)
    model = model_from_config(config["model"], artifact.files)
    for record in config.get("transforms", []):
        replay = _resolve(_TRANSFORMS, record.get("transform", "?"), "transform")
        model = replay(model, record)
    model.transforms = copy.deepcopy(list(config.get("transforms", [])))
    input_transforms = config.get("input_transforms") or []
    if input_transforms:
        _resolve(_INPUT_CHECK, "check", "input check")(input_transforms, "input_transforms")
    model.input_transforms = copy.deepcopy(list(input_transforms))
    model.task = config.get("task", model.task)
    model.labels = config.get("labels", model.labels)
    missing, unexpected = model.load_state_dict(dict(artifact.tensors), strict=False)
    if missing or unexpected:
        raise MError("saved tensors do not match the rebuilt model: "
                     f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}",
                     field="tensors")
    return model
