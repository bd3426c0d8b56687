"""M builtins of the models stage, registered without importing torch (entry point `mlang.builtins`)."""

from mlang.lang.registry import register_builtin as _register_builtin

# Pretrained models and transfer learning (docs/pretrained.md).
_register_builtin("loadModelFromUrl", "mlang.models.url:load_model_from_url",
                  doc="load a model from a zoo name, registry:NAME[:VERSION|@ALIAS], a path, file:// or http(s)://")
_register_builtin("saveModelFile", "mlang.models.url:save_model_file",
                  doc="write a model as one self-describing .safetensors file (shareable by URL)")
_register_builtin("pretrainedModels", "mlang.models.zoo:zoo_names",
                  doc="the names of the offline model zoo")
