"""M builtins of the registry stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin
from mlang.models.url import register_source

register_builtin("save", "mlang.registry.repository:save",
                 doc='save(model, "name", alias=…, tags=…, metrics=…, params=…, parent=…, '
                     'dataset=…) → "name:N" in the model repository',
                 params="model, name: str, *, alias: str | None = None, tags: dict | None = None, metrics=None, "
                        "params: dict | None = None, parent=None, dataset=None")
register_builtin("load", "mlang.registry.repository:load",
                 doc='load("name" | "name:3" | "name@prod") → the saved model', params="ref: str")
register_builtin("listModels", "mlang.registry.repository:list_models",
                 doc="listModels() → the models in the repository; listModels(\"name\") → its versions",
                 params="name: str | None = None")

# loadModelFromUrl("registry:name:3") / ("registry:name@prod")
register_source("registry", "mlang.registry.repository:load_registry_source")
