"""The models stage of M's pipeline (see docs/architecture.md).

Names are exported lazily (`mlang.lang.exports`): `import mlang.models` does not import torch;
the first use of a name imports the module that defines it.  Each entry maps a public name to
"module:attr".
"""
from __future__ import annotations

from mlang.lang.exports import lazy_exports

_EXPORTS: dict[str, str] = {
    # the IR and the module contract
    "ModelSpec": "mlang.models.spec:ModelSpec",
    "FieldSpec": "mlang.models.spec:FieldSpec",
    "MModel": "mlang.models.module:MModel",
    "LayerStackModel": "mlang.models.stack:LayerStackModel",
    # serialization
    "Artifact": "mlang.models.serialize:Artifact",
    "dump": "mlang.models.serialize:dump",
    "restore": "mlang.models.serialize:restore",
    "register_transform": "mlang.models.serialize:register_transform",
    "register_kind": "mlang.models.serialize:register_kind",
    # the layer catalogue
    "Layer": "mlang.models.layers.base:Layer",
    "register_layer": "mlang.models.layers.base:register_layer",
    "register_layer_target": "mlang.models.layers.base:register_layer_target",
    "layer_names": "mlang.models.layers.base:layer_names",
    # declarations, composition and the paper's model-description API (docs/models.md)
    "declare_model": "mlang.models.declare:declare_model",
    "ModelClass": "mlang.models.declare:ModelClass",
    "DeclaredModel": "mlang.models.instance:DeclaredModel",
    "check_models": "mlang.models.check:check_models",
    "sequentialModel": "mlang.models.compose:sequentialModel",
    "parallelModel": "mlang.models.compose:parallelModel",
    "customModel": "mlang.models.compose:customModel",
    "SequentialModel": "mlang.models.compose:SequentialModel",
    "ParallelModel": "mlang.models.compose:ParallelModel",
    "CustomModel": "mlang.models.compose:CustomModel",
    "Model": "mlang.models.keras:Model",
    "Loss": "mlang.models.keras:Loss",
    "Metric": "mlang.models.keras:Metric",
    "TrainingOptimizer": "mlang.models.keras:TrainingOptimizer",
    "History": "mlang.models.keras:History",
    # pretrained models and transfer learning (docs/pretrained.md)
    "load_model_from_url": "mlang.models.url:load_model_from_url",
    "save_model_file": "mlang.models.modelfile:save_model_file",
    "register_source": "mlang.models.url:register_source",
    "download": "mlang.models.url:download",
    "load_pretrained": "mlang.models.zoo:load_pretrained",
    "zoo_names": "mlang.models.zoo:zoo_names",
    "register_zoo_entry": "mlang.models.zoo:register_zoo_entry",
    "TextEncoderModel": "mlang.models.zoo.text_encoder:TextEncoderModel",
    "EfficientNetLite0": "mlang.models.zoo.efficientnet:EfficientNetLite0",
    "DlibFaceEmbedder": "mlang.models.zoo.dlib_face:DlibFaceEmbedder",
    # the standard metamodels, written in M: stdlib_metamodel("TextClassifier")(num_labels=5)
    "stdlib_metamodel": "mlang.models.stdlib:metamodel",
}

# Every catalogue layer, by its name and aliases (m.Dense, m.Conv2D, m.MaxPooling2D, ...).
from mlang.models.layers.base import catalogue_exports as _catalogue_exports  # noqa: E402

_EXPORTS.update({k: v for k, v in _catalogue_exports().items() if k not in _EXPORTS})

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


# The zoo (torch-free) registers its serialization kinds and pretrained layers on import, so a
# saved fine-tuned model restores in a process that never named a zoo model.
from mlang.models import zoo as _zoo  # noqa: E402,F401
