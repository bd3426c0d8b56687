"""The train stage of M's pipeline (see docs/architecture.md and docs/training.md).

`fine_tune_model` (M: `fineTuneModel`), `evaluate`, `predict`, metrics and the evaluation report,
the training history, seeding, losses / optimizers for hand-written loops, and hyperparameter
search (docs/hpo.md).  Names are imported on first use (`mlang.lang.exports`).
"""
from mlang.lang.exports import lazy_exports

_EXPORTS = {
    "fine_tune_model": "mlang.train.finetune",
    "evaluate": "mlang.train.evaluation",
    "predict": "mlang.train.evaluation",
    "EvaluationReport": "mlang.train.report",
    "TrainingHistory": "mlang.train.history",
    "plot_history": "mlang.train.history",
    "seed_everything": "mlang.train.seeding",
    "METRICS": "mlang.train.metrics",
    "define_hyperparam_space": "mlang.train.hpo.space",
    "uniform": "mlang.train.hpo.space",
    "log_uniform": "mlang.train.hpo.space",
    "int_range": "mlang.train.hpo.space",
    "choice": "mlang.train.hpo.space",
    "HyperparamSpace": "mlang.train.hpo.space",
    "auto_tune_model": "mlang.train.hpo.tune",
    "train_trial": "mlang.train.hpo.tune",
    "TuningSummary": "mlang.train.hpo.tune",
    "TrialRecord": "mlang.train.hpo.tune",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
