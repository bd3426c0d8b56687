"""M builtins of the train stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin, register_check

register_builtin("fineTuneModel", "mlang.train.finetune:fine_tune_model",
                 doc="fineTuneModel(model, train, valid=none, epochs=3, lr=5e-5, batch_size=16, ...)",
                 params="model, train, valid=None, *, epochs: int = 3, lr: float = 5e-05, batch_size: int = 16, "
                        "weight_decay: float = 0.01, warmup: float = 0.1, gradient_accumulation: int = 1, "
                        "max_forward_tokens: int | None = None, "
                        "max_grad_norm: float | None = 1.0, freeze: str | Sequence[str] | None = None, "
                        "freeze_encoder: bool = False, freeze_embeddings: bool = False, cache_frozen: bool = False, "
                        "metric: str | None = None, "
                        "early_stopping: int | bool | None = None, restore_best: bool = True, "
                        "seed: int | None = 0, device=None, precision: str = 'auto', checkpoint_dir: str | None = None, "
                        "progress: bool | None = None, log_every: int = 10, eval_batch_size: int | None = None, "
                        "max_steps: int | None = None, callbacks: Sequence[Callable] = (), resume: bool = False, "
                        "checkpoint_every: int | None = None, devices: int = 1")
register_builtin("evaluate", "mlang.train.evaluation:evaluate",
                 doc="evaluate(model, data, metrics=[\"accuracy\", \"f1\"]) -> report",
                 params="model, data, metrics: Sequence[str] | None = None, batch_size: int = 32")
register_builtin("predict", "mlang.train.evaluation:predict",
                 doc="predict(model, data) -> predictions (class names, numbers or answers)",
                 params="model, data, batch_size: int = 32, output: str = 'labels'")
register_builtin("plotHistory", "mlang.train.history:plot_history",
                 doc="plotHistory(model, \"history.png\"): training curves as a PNG",
                 params="history, path: str = 'history.png'")
register_builtin("setSeed", "mlang.train.seeding:seed_everything",
                 doc="setSeed(7): seed Python, numpy and torch", params="seed: int")

# Where this process stands in multi-process training (`m run --nproc N`, `devices=N`), for side
# effects only one process should have (printing, writing files).
register_builtin("rank", "mlang.train.distributed:rank",
                 doc="rank() -> this process's rank in distributed training (0 when not distributed)", params="")
register_builtin("worldSize", "mlang.train.distributed:world_size",
                 doc="worldSize() -> the number of training processes (1 when not distributed)", params="")
register_builtin("isMainProcess", "mlang.train.distributed:is_main_process",
                 doc="isMainProcess() -> true on rank 0, the process that should print and save", params="")

# For hand-written training loops (DESIGN §1).
_LOSS_PARAMS = {  # torch.nn's own parameters
    "CrossEntropyLoss": "weight=None, size_average=None, ignore_index: int = -100, reduce=None, "
                        "reduction: str = 'mean', label_smoothing: float = 0.0",
    "MSELoss": "size_average=None, reduce=None, reduction: str = 'mean'",
    "L1Loss": "size_average=None, reduce=None, reduction: str = 'mean'",
    "BCEWithLogitsLoss": "weight=None, size_average=None, reduce=None, reduction: str = 'mean', pos_weight=None",
}
for _name, _params in _LOSS_PARAMS.items():
    register_builtin(_name, f"mlang.train.losses:{_name}", params=_params)
register_builtin("Adam", "mlang.train.optimizers:Adam",
                 params="parameters, lr: float = 0.001, weight_decay: float = 0.0, betas=(0.9, 0.999), eps: float = 1e-08")
register_builtin("AdamW", "mlang.train.optimizers:AdamW",
                 params="parameters, lr: float = 0.001, weight_decay: float = 0.01, betas=(0.9, 0.999), eps: float = 1e-08")
register_builtin("SGD", "mlang.train.optimizers:SGD",
                 params="parameters, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0, "
                        "nesterov: bool = False")

# Hyperparameter search (docs/hpo.md).
register_builtin("defineHyperparamSpace", "mlang.train.hpo.space:define_hyperparam_space",
                 doc="defineHyperparamSpace({lr: logUniform(1e-5, 1e-3), dropout: choice(0.1, 0.3)})",
                 params="params: dict | None = None, **more")
register_builtin("uniform", "mlang.train.hpo.space:uniform", doc="uniform(low, high, step=none)",
                 params="low: float, high: float, step: float | None = None")
register_builtin("logUniform", "mlang.train.hpo.space:log_uniform", doc="logUniform(low, high)",
                 params="low: float, high: float")
register_builtin("intRange", "mlang.train.hpo.space:int_range",
                 doc="intRange(low, high, step=1, log=false)", params="low: int, high: int, step: int = 1, log: bool = False")
register_builtin("choice", "mlang.train.hpo.space:choice", doc="choice(a, b, ...)", params="*options")
register_builtin("autoTuneModel", "mlang.train.hpo.tune:auto_tune_model",
                 doc="autoTuneModel(Model, space, train, valid, trials=20, metric=\"f1\", "
                     "sampler=\"tpe\", pruner=\"median\", workers=1, storage=none) -> best model",
                 params="model_type, space, train, valid, *, trials: int = 20, timeout: float | None = None, "
                        "metric: str = 'f1', direction: str | None = None, sampler='tpe', pruner='median', "
                        "workers: int = 1, storage=None, study_name: str | None = None, seed: int | None = None, "
                        "same_seed: bool = False, save_as: str | bool = True, enqueue: list | None = None, "
                        "progress: bool | None = None, heartbeat_s: int = 30, **settings")
register_builtin("trainTrial", "mlang.train.hpo.tune:train_trial",
                 doc="trainTrial(Model, params, train, valid, metric=\"f1\", seed=0) -> (model, score)",
                 params="model_type, params: dict, train, valid, *, metric: str = 'f1', seed: int = 0, on_epoch=None, "
                        "**settings")


def _check_spaces(module_ast, ctx):
    """`m check`: hyperparameter spaces against the fields of the model they tune."""
    from mlang.train.hpo.check import check_spaces
    return check_spaces(module_ast, ctx)


register_check(_check_spaces)
