"""Hyperparameter search: spaces (`defineHyperparamSpace`) and Optuna studies (`autoTuneModel`).

Names are imported on first use (`mlang.lang.exports`).
"""
from mlang.lang.exports import lazy_exports

_EXPORTS = {
    "define_hyperparam_space": "mlang.train.hpo.space",
    "uniform": "mlang.train.hpo.space",
    "log_uniform": "mlang.train.hpo.space",
    "int_range": "mlang.train.hpo.space",
    "choice": "mlang.train.hpo.space",
    "HyperparamSpace": "mlang.train.hpo.space",
    "Param": "mlang.train.hpo.space",
    "Uniform": "mlang.train.hpo.space",
    "LogUniform": "mlang.train.hpo.space",
    "IntRange": "mlang.train.hpo.space",
    "Choice": "mlang.train.hpo.space",
    "auto_tune_model": "mlang.train.hpo.tune",
    "train_trial": "mlang.train.hpo.tune",
    "TuningSummary": "mlang.train.hpo.tune",
    "TrialRecord": "mlang.train.hpo.tune",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
