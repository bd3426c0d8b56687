"""M builtins of the train stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin, register_check

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

# Where this process stands in multi-process training (`m run --nproc N`, `devices=N`), for side
# effects only one process should have (printing, writing files).
register_builtin("rank", "mlang.train.distributed:rank",
                 doc="rank() -> this process's rank in distributed training (0 when not distributed)")
register_builtin("worldSize", "mlang.train.distributed:world_size",
                 doc="worldSize() -> the number of training processes (1 when not distributed)")
register_builtin("isMainProcess", "mlang.train.distributed:is_main_process",
                 doc="isMainProcess() -> true on rank 0, the process that should print and save")

# For hand-written training loops (DESIGN §1).
for _name in ("CrossEntropyLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss"):
    register_builtin(_name, f"mlang.train.losses:{_name}")
for _name in ("Adam", "AdamW", "SGD"):
    register_builtin(_name, f"mlang.train.optimizers:{_name}")

# Hyperparameter search (docs/hpo.md).
register_builtin("defineHyperparamSpace", "mlang.train.hpo.space:define_hyperparam_space",
                 doc="defineHyperparamSpace({lr: logUniform(1e-5, 1e-3), dropout: choice(0.1, 0.3)})")
register_builtin("uniform", "mlang.train.hpo.space:uniform", doc="uniform(low, high, step=none)")
register_builtin("logUniform", "mlang.train.hpo.space:log_uniform", doc="logUniform(low, high)")
register_builtin("intRange", "mlang.train.hpo.space:int_range",
                 doc="intRange(low, high, step=1, log=false)")
register_builtin("choice", "mlang.train.hpo.space:choice", doc="choice(a, b, ...)")
register_builtin("autoTuneModel", "mlang.train.hpo.tune:auto_tune_model",
                 doc="autoTuneModel(Model, space, train, valid, trials=20, metric=\"f1\", "
                     "sampler=\"tpe\", pruner=\"median\", workers=1, storage=none) -> best model")
register_builtin("trainTrial", "mlang.train.hpo.tune:train_trial",
                 doc="trainTrial(Model, params, train, valid, metric=\"f1\", seed=0) -> (model, score)")


def _check_spaces(module_ast, ctx=None):
    """`m check`: hyperparameter spaces against the fields of the model they tune."""
    from mlang.train.hpo.check import check_spaces
    return check_spaces(module_ast, ctx)


register_check(_check_spaces)
