"""M builtins of the models stage, registered without importing torch (entry point `mlang.builtins`)."""

from mlang.lang.registry import register_builtin as _register_builtin

# Pretrained models and transfer learning (docs/pretrained.md).
_register_builtin("loadModelFromUrl", "mlang.models.url:load_model_from_url",
                  doc="load a model from a zoo name, registry:NAME[:VERSION|@ALIAS], a path, file:// or http(s)://",
                  params="url: str, sha256: str | None = None, *, trust_code=None, cache_dir: str | None = None, "
                         "progress: bool = True, max_bytes: int | None = None, deadline_s: float | None = None, "
                         "**options")
_register_builtin("saveModelFile", "mlang.models.modelfile:save_model_file",
                  doc="write a model as one self-describing .safetensors file (shareable by URL)", params="model, path")
_register_builtin("pretrainedModels", "mlang.models.zoo:zoo_names",
                  doc="the names of the offline model zoo", params="")
# The standard metamodels, written in M (src/mlang/models/stdlib/*.m): `extends TextClassifier`.
# The front end reads their fields from those files (`m_file`).
from mlang.models.stdlib import METAMODELS as _METAMODELS, STDLIB_DIR as _STDLIB_DIR

for _name, _file in _METAMODELS.items():
    _register_builtin(_name, f"mlang.models.stdlib:{_name}", doc=f"the standard {_name} metamodel",
                      m_file=str(_STDLIB_DIR / _file))

# Models as values: declarations, the layer catalogue, composition, checks (docs/models.md).
from mlang.lang.registry import register_check as _register_check, register_hook as _register_hook
from mlang.models.layers.base import catalogue_exports as _catalogue_exports

_register_hook("declare_model", "mlang.models.declare:declare_model")
def _layer_params(name: str):
    """A catalogue layer's parameters are its dataclass fields (its own declaration), read when
    a call of the layer is first checked."""
    def params():
        from mlang.lang.registry import Signature
        from mlang.models.layers.base import keyword_names, layer_class, positional_names, required_names

        cls = layer_class(name)
        varargs = getattr(cls, "VARARGS", None)
        required = set(required_names(cls))
        positional = [] if varargs else [(n, n not in required) for n in positional_names(cls)]
        keyword_only = [(n, n not in required) for n in keyword_names(cls)
                        if n != varargs and n not in dict(positional)]
        return Signature(name, positional, keyword_only, var_positional=bool(varargs))
    return params


for _name, _target in _catalogue_exports().items():
    # the models plugin checks layer calls (mlang.models.check), with the catalogue's messages
    _register_builtin(_name, _target, doc=f"the {_name} layer of the model catalogue", params=_layer_params(_name),
                      stage_checked=True)
_register_builtin("sequentialModel", "mlang.models.compose:sequentialModel",
                  doc="sequentialModel(a, b, ...): a's output feeds b; types checked",
                  params="*models, name: str = 'sequentialModel'")
_register_builtin("parallelModel", "mlang.models.compose:parallelModel",
                  doc='parallelModel(a, b, merge="concat"|"sum"|"stack"): one input, merged outputs',
                  params="*models, merge: str = 'concat', name: str = 'parallelModel'")
_register_builtin("customModel", "mlang.models.compose:customModel",
                  doc="customModel(f, a, b, ...): f(x, a, b, ...) is the forward pass",
                  params="forward_func, *models, input_type=None, output_type=None, name: str = 'customModel'")
_register_builtin("Loss", "mlang.models.keras:Loss", doc="a training loss by Keras name",
                  params="name: str, from_logits: bool = False")
_register_builtin("Metric", "mlang.models.keras:Metric", doc="a metric by Keras name", params="name: str")
_register_builtin("TrainingOptimizer", "mlang.models.keras:TrainingOptimizer",
                  doc="a training algorithm by name: TrainingOptimizer('adam', learning_rate=1e-3)",
                  params="name: str = 'adam', learning_rate: float = 0.001, **options")


def _check_models(module_ast, ctx):
    from mlang.models.check import check_models
    return check_models(module_ast, ctx)


_register_check(_check_models)
