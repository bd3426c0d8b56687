"""M builtins of the train stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin

register_builtin("fineTuneModel", "mlang.train.finetune:fine_tune_model",
                 doc="fineTuneModel(model, train, valid=none, epochs=3, lr=5e-5, batch_size=16, ...)")
register_builtin("evaluate", "mlang.train.evaluate:evaluate",
                 doc="evaluate(model, data, metrics=[\"accuracy\", \"f1\"]) -> report")
register_builtin("predict", "mlang.train.evaluate:predict",
                 doc="predict(model, data) -> predictions (class names, numbers or answers)")
register_builtin("plotHistory", "mlang.train.history:plot_history",
                 doc="plotHistory(model, \"history.png\"): training curves as a PNG")
register_builtin("setSeed", "mlang.train.seeding:seed_everything",
                 doc="setSeed(7): seed Python, numpy and torch")

# For hand-written training loops (DESIGN §1).
for _name in ("CrossEntropyLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss"):
    register_builtin(_name, f"mlang.train.losses:{_name}")
for _name in ("Adam", "AdamW", "SGD"):
    register_builtin(_name, f"mlang.train.optimizers:{_name}")
