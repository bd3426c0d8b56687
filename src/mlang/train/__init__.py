"""The train stage of M's pipeline (see docs/architecture.md and docs/training.md).

`fine_tune_model` (M: `fineTuneModel`), `evaluate`, `predict`, metrics and the evaluation report,
the training history, seeding, and losses / optimizers for hand-written loops.
"""
from mlang.train.evaluate import evaluate, predict
from mlang.train.finetune import fine_tune_model
from mlang.train.history import TrainingHistory, plot_history
from mlang.train.metrics import METRICS
from mlang.train.report import EvaluationReport
from mlang.train.seeding import seed_everything

__all__ = ["fine_tune_model", "evaluate", "predict", "EvaluationReport", "TrainingHistory",
           "plot_history", "seed_everything", "METRICS"]

# Hyperparameter search (docs/hpo.md); torch-free until a study runs.
from mlang.train.hpo import (HyperparamSpace, TrialRecord, TuningSummary, auto_tune_model,  # noqa: E402
                             choice, define_hyperparam_space, int_range, log_uniform,
                             train_trial, uniform)

__all__ += ["define_hyperparam_space", "uniform", "log_uniform", "int_range", "choice",
            "HyperparamSpace", "auto_tune_model", "train_trial", "TuningSummary", "TrialRecord"]
