"""Hyperparameter search: spaces, tuning runs, pruning, resuming, workers (tiny models, iris)."""
import optuna
import pytest
import torch
from rich.console import Console

import mlang as m
from mlang.data import Dataset, split
from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.layers import create_layer
from mlang.models.stack import LayerStackModel
from mlang.train.hpo import (auto_tune_model, choice, define_hyperparam_space, int_range,
                             log_uniform, train_trial, uniform)

FAST = dict(epochs=3, batch_size=16)


def iris_classifier(hidden: int = 8, dropout: float = 0.0, activation: str = "ReLU"):
    """A 4 → hidden → 3 layer stack (savable to the repository)."""
    layers = [create_layer("Dense", (hidden,), {}), create_layer(activation, (), {}),
              create_layer("Dropout", (dropout,), {}), create_layer("Dense", (3,), {})]
    return LayerStackModel(layers, T.TensorType("float32", (T.Sym("B"), 4)))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def iris():
    return split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=True)


def sample(space, count=40, seed=0):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [space.sample(study.ask()) for _ in range(count)]


# ----- spaces ----------------------------------------------------------------------------------

def test_a_space_with_every_parameter_kind_samples_within_its_bounds():
    space = define_hyperparam_space({
        "lr": log_uniform(1e-5, 1e-1),
        "dropout": uniform(0.0, 0.5),
        "hidden": int_range(4, 32, step=4),
        "optimizer": choice("sgd", "adam"),
        "momentum": uniform(0.5, 0.99).when(optimizer="sgd"),
    })
    draws = sample(space)
    for values in draws:
        assert 1e-5 <= values["lr"] <= 1e-1
        assert 0.0 <= values["dropout"] <= 0.5
        assert values["hidden"] in range(4, 33, 4) and isinstance(values["hidden"], int)
        assert values["optimizer"] in ("sgd", "adam")
        # The conditional parameter exists exactly when its condition holds.
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        if "momentum" in values:
            assert 0.5 <= values["momentum"] <= 0.99
    assert {v["optimizer"] for v in draws} == {"sgd", "adam"}
    assert space.names == ["lr", "dropout", "hidden", "optimizer", "momentum"]
    assert "momentum: uniform(0.5, 0.99).when(optimizer='sgd')" in repr(space)


def test_a_discrete_space_is_a_grid_and_a_continuous_one_is_not():
    space = define_hyperparam_space({"hidden": int_range(4, 12, step=4), "act": choice("ReLU", "Tanh"),
                                     "dropout": uniform(0.0, 0.2, step=0.1)})
    assert space.grid() == {"hidden": [4, 8, 12], "act": ["ReLU", "Tanh"], "dropout": [0.0, 0.1, 0.2]}
    assert space.grid_size() == 18
    with pytest.raises(MError, match="grid search needs discrete parameters.*'lr'"):
        define_hyperparam_space({"lr": log_uniform(1e-4, 1e-2)}).grid()


@pytest.mark.parametrize("make, message", [
    (lambda: uniform(1.0, 0.5), "low must be less than high"),
    (lambda: log_uniform(0.0, 1.0), "a log scale needs low > 0"),
    (lambda: int_range(1.5, 4), "intRange: low must be an int"),
    (lambda: choice(), "at least one option"),
    (lambda: choice([1, 2], [3]), "options must be numbers, strings"),
    (lambda: choice(1, 1), "options must be distinct"),
    (lambda: define_hyperparam_space({"lr": 0.1}), "not a distribution"),
    (lambda: define_hyperparam_space({"momentum": uniform(0, 1).when(optimiser="sgd"),
                                      "optimizer": choice("sgd")}),
     "depends on 'optimiser'"),
    (lambda: define_hyperparam_space({"optimizer": choice("sgd", "adam"),
                                      "momentum": uniform(0, 1).when(optimizer="rmsprop")}),
     "never takes that value"),
])
def test_malformed_spaces_are_refused_with_a_clear_error(make, message):
    with pytest.raises(MError, match=message):
        make()


def test_a_condition_on_a_misspelt_parameter_suggests_the_right_name():
    with pytest.raises(MError) as caught:
        define_hyperparam_space({"optimizer": choice("sgd", "adam"),
                                 "momentum": uniform(0, 1).when(optimiser="sgd")})
    assert caught.value.diagnostics[0].hint == "did you mean 'optimizer'?"


# ----- checking a space against the model and the training settings ------------------------------

def test_an_unknown_hyperparameter_is_an_error_naming_it_with_did_you_mean(iris):
    train, valid = iris
    with pytest.raises(MError, match="'hiden' is neither a field of iris_classifier nor a "
                                     "training setting") as caught:
        auto_tune_model(iris_classifier, {"hiden": int_range(4, 8)}, train, valid, trials=1)
    assert caught.value.field == "hiden"
    assert caught.value.diagnostics[0].hint == "did you mean 'hidden'?"


@pytest.mark.parametrize("space, message", [
    ({"hidden": uniform(4.0, 8.0)}, "field 'hidden' of iris_classifier is int"),
    ({"activation": choice(1, 2)}, "field 'activation' of iris_classifier is str"),
    ({"batch_size": uniform(8.0, 32.0)}, "training setting 'batch_size' takes an int"),
    ({"lr": choice("fast", "slow")}, "training setting 'lr' takes a number"),
])
def test_a_distribution_of_the_wrong_type_is_refused_before_training(iris, space, message):
    train, valid = iris
    with pytest.raises(MError, match=message):
        auto_tune_model(iris_classifier, space, train, valid, trials=1)


def test_fixed_settings_and_options_are_checked(iris):
    train, valid = iris
    space = {"lr": log_uniform(1e-3, 1e-1)}
    with pytest.raises(MError, match="unknown argument 'epoch'") as caught:
        auto_tune_model(iris_classifier, space, train, valid, epoch=2)
    assert caught.value.diagnostics[0].hint == "did you mean 'epochs'?"
    with pytest.raises(MError, match="'lr' is both in the space and fixed"):
        auto_tune_model(iris_classifier, space, train, valid, lr=0.1)
    with pytest.raises(MError, match="unknown sampler 'tpee'"):
        auto_tune_model(iris_classifier, space, train, valid, sampler="tpee")
    with pytest.raises(MError, match="unknown pruner"):
        auto_tune_model(iris_classifier, space, train, valid, pruner="mean")
    with pytest.raises(MError, match="needs a model type.*got an instance|not .*\\(\\)"):
        auto_tune_model(iris_classifier(), space, train, valid)
    with pytest.raises(MError, match="'bad name' is not a valid save_as"):
        auto_tune_model(iris_classifier, space, train, valid, save_as="bad name")
    with pytest.raises(MError, match="cannot open the study storage"):
        auto_tune_model(iris_classifier, space, train, valid, storage="nosuchdb://x")


# ----- tuning ----------------------------------------------------------------------------------

def test_a_tuning_run_returns_the_best_model_saved_with_its_trial_and_reproducible(iris):
    train, valid = iris
    space = define_hyperparam_space({"lr": log_uniform(1e-3, 2e-1), "hidden": int_range(4, 16),
                                     "dropout": choice(0.0, 0.1)})
    best = auto_tune_model(iris_classifier, space, train, valid, trials=5, metric="accuracy",
                           seed=3, pruner=None, save_as="iris-tuned", **FAST)
    summary = best.tuning
    assert summary.count("complete") == 5
    assert summary.best_value == max(t.value for t in summary.trials)
    assert m.evaluate(best, valid, metrics=["accuracy"])["accuracy"] == pytest.approx(summary.best_value)

    # The recorded parameters and seed give the same model again.
    again, score = train_trial(iris_classifier, summary.best_params, train, valid,
                               metric="accuracy", seed=summary.best_seed, **FAST)
    assert score == summary.best_value
    for (name, a), b in zip(best.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name

    # Saved to the repository with lineage to its study, trial and parameters.
    assert summary.saved_as == "iris-tuned:1"
    record = m.Repository().resolve("iris-tuned:1")
    assert record.params == pytest.approx(summary.best_params)
    assert record.metrics == {"accuracy": pytest.approx(summary.best_value)}
    assert record.tags["tuning.trial"] == str(summary.best_trial)
    assert record.tags["tuning.study"] == "iris_classifier-accuracy"
    restored = m.load("iris-tuned:1")
    assert m.evaluate(restored, valid, metrics=["accuracy"])["accuracy"] == pytest.approx(summary.best_value)


def test_the_median_pruner_stops_a_hopeless_trial_early(iris):
    train, valid = iris
    space = {"lr": choice(0.05, 1e-7)}
    good, hopeless = {"lr": 0.05}, {"lr": 1e-7}
    settings = dict(epochs=4, batch_size=16, trials=3, seed=0, save_as=False,
                    enqueue=[good, good, hopeless], sampler="random")
    pruned = auto_tune_model(iris_classifier, space, train, valid, pruner="median", **settings)
    last = pruned.tuning.trials[2]
    assert last.params == hopeless and last.state == "pruned"
    assert last.epochs < 4
    # Without a pruner the same trial runs to the end: it was the pruner that stopped it.
    kept = auto_tune_model(iris_classifier, space, train, valid, pruner=None, **settings)
    assert kept.tuning.trials[2].state == "complete" and kept.tuning.trials[2].epochs == 4


def test_an_interrupted_study_resumes_where_it_stopped(iris, tmp_path):
    train, valid = iris
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    built = []

    def interrupted_on_third_trial(hidden: int = 8):
        built.append(hidden)
        if len(built) == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during the third trial
        return iris_classifier(hidden)

    space = {"hidden": int_range(4, 16), "lr": log_uniform(1e-2, 1e-1)}
    options = dict(trials=5, storage=storage, study_name="resumable", seed=0, save_as=False, **FAST)
    with pytest.raises(KeyboardInterrupt):
        auto_tune_model(interrupted_on_third_trial, space, train, valid, **options)
    first = optuna.load_study(study_name="resumable", storage=storage)
    assert [t.state.name for t in first.trials] == ["COMPLETE", "COMPLETE", "FAIL"]

    resumed = auto_tune_model(interrupted_on_third_trial, space, train, valid, **options).tuning
    # Two trials were done before; only three more ran, numbered after the interrupted one.
    assert resumed.finished == 5
    assert [t.number for t in resumed.trials if t.state != "fail"] == [0, 1, 3, 4, 5]
    # (the best model is rebuilt when its trial ran before the interruption)
    assert len(built) == 3 + 3 + (resumed.best_trial < 2)
    # Re-running a finished study trains nothing new, only the best model.
    done = auto_tune_model(interrupted_on_third_trial, space, train, valid, **options).tuning
    assert len(done.trials) == 6 and len(built) == 6 + (resumed.best_trial < 2) + 1


def test_grid_search_visits_every_combination_once_quietly_off_a_terminal(iris, capsys):
    train, valid = iris
    space = {"hidden": choice(4, 8), "lr": choice(0.01, 0.1)}
    best = auto_tune_model(iris_classifier, space, train, valid, trials=4, sampler="grid",
                           pruner=None, seed=0, save_as=False, **FAST)
    visited = {(t.params["hidden"], t.params["lr"]) for t in best.tuning.trials}
    assert visited == {(4, 0.01), (4, 0.1), (8, 0.01), (8, 0.1)}
    assert capsys.readouterr().out == ""  # pytest's stdout is not a terminal: no live table

    console = Console(record=True, width=120)
    console.print(best.tuning)
    table = console.export_text()
    assert f"best trial #{best.tuning.best_trial}" in table
    assert table.count("complete") == 1 + 4  # the title's count, then one row per trial


def test_hyperband_prunes_and_the_live_table_shows_the_trials(iris, capsys):
    train, valid = iris
    space = {"hidden": choice(2, 4, 8, 16), "lr": choice(0.001, 0.01, 0.1, 0.3)}
    best = auto_tune_model(iris_classifier, space, train, valid, trials=8, pruner="hyperband",
                           seed=0, save_as=False, progress=True, epochs=6, batch_size=16)
    assert best.tuning.finished == 8
    pruned = best.tuning.count("pruned")
    assert 1 <= pruned < 8 and best.tuning.count("complete") == 8 - pruned  # weak trials stopped early
    shown = capsys.readouterr().out
    assert f"study iris_classifier-f1: 8/8 trials, best #{best.tuning.best_trial}" in shown
    assert shown.count("hidden=") == 8 and "pruned" in shown and shown.endswith("\n")


def test_workers_share_one_study_across_processes(iris, tmp_path):
    train, valid = iris
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    space = {"hidden": int_range(4, 16), "lr": log_uniform(1e-2, 1e-1)}
    best = auto_tune_model(iris_classifier, space, train, valid, trials=4, workers=2,
                           storage=storage, study_name="shared", seed=0, pruner=None,
                           save_as=False, **FAST)
    summary = best.tuning
    assert summary.finished >= 4 and summary.count("fail") == 0
    study = optuna.load_study(study_name="shared", storage=storage)
    # Both worker processes ran trials (each trial records the host:pid it ran in).
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    # The parent rebuilt the best model from its recorded parameters and seed.
    assert m.evaluate(best, valid, metrics=["f1"])["f1"] == pytest.approx(summary.best_value)
