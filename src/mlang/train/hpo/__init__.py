"""Hyperparameter search: spaces (`defineHyperparamSpace`) and Optuna studies (`autoTuneModel`)."""
from mlang.train.hpo.space import (Choice, HyperparamSpace, IntRange, LogUniform, Param, Uniform,
                                   choice, define_hyperparam_space, int_range, log_uniform,
                                   uniform)
from mlang.train.hpo.tune import TrialRecord, TuningSummary, auto_tune_model, train_trial

__all__ = ["define_hyperparam_space", "uniform", "log_uniform", "int_range", "choice",
           "HyperparamSpace", "Param", "Uniform", "LogUniform", "IntRange", "Choice",
           "auto_tune_model", "train_trial", "TuningSummary", "TrialRecord"]
