"""M builtins of the models stage, registered without importing torch (entry point `mlang.builtins`)."""

from mlang.lang.registry import register_builtin as _register_builtin

# Pretrained models and transfer learning (docs/pretrained.md).
_register_builtin("loadModelFromUrl", "mlang.models.url:load_model_from_url",
                  doc="load a model from a zoo name, registry:NAME[:VERSION|@ALIAS], a path, file:// or http(s)://")
_register_builtin("saveModelFile", "mlang.models.modelfile:save_model_file",
                  doc="write a model as one self-describing .safetensors file (shareable by URL)")
_register_builtin("pretrainedModels", "mlang.models.zoo:zoo_names",
                  doc="the names of the offline model zoo")
# The standard metamodels, written in M (src/mlang/models/stdlib/*.m): `extends TextClassifier`.
for _name in ("TextEmbedder", "TextClassifier", "QuestionAnswerer", "ImageClassifier", "Regressor",
              "SequenceForecaster"):
    _register_builtin(_name, f"mlang.models.stdlib:{_name}", doc=f"the standard {_name} metamodel")

# Models as values: declarations, the layer catalogue, composition, checks (docs/models.md).
from mlang.lang.registry import register_check as _register_check, register_hook as _register_hook
from mlang.models.layers.base import catalogue_exports as _catalogue_exports

_register_hook("declare_model", "mlang.models.declare:declare_model")
for _name, _target in _catalogue_exports().items():
    _register_builtin(_name, _target, doc=f"the {_name} layer of the model catalogue")
_register_builtin("sequentialModel", "mlang.models.compose:sequentialModel",
                  doc="sequentialModel(a, b, ...): a's output feeds b; types checked")
_register_builtin("parallelModel", "mlang.models.compose:parallelModel",
                  doc='parallelModel(a, b, merge="concat"|"sum"|"stack"): one input, merged outputs')
_register_builtin("customModel", "mlang.models.compose:customModel",
                  doc="customModel(f, a, b, ...): f(x, a, b, ...) is the forward pass")
_register_builtin("Loss", "mlang.models.keras:Loss", doc="a training loss by Keras name")
_register_builtin("Metric", "mlang.models.keras:Metric", doc="a metric by Keras name")
_register_builtin("TrainingOptimizer", "mlang.models.keras:TrainingOptimizer",
                  doc="a training algorithm by name: TrainingOptimizer('adam', learning_rate=1e-3)")


def _check_models(module_ast, ctx=None):
    from mlang.models.check import check_models
    return check_models(module_ast, ctx)


_register_check(_check_models)
