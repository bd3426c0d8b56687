"""Hyperparameter search from M: `m check` finds a bad space at its line; a program tunes a model."""
import pytest

import mlang as m
from mlang.lang.diagnostics import MError

MODEL = """\
model IrisNet {
    input: Tensor[float32, B, 4]
    hidden: int = 8
    dropout: float = 0.0
    Dense(hidden)
    ReLU()
    Dropout(dropout)
    Dense(3)
}
data = Dataset.sklearn("iris")
train_set, valid_set = split(data, 0.7, seed=1, stratify=true)
"""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def diagnostics(source):
    return [(d.span.line, d.span.column, d.message, d.hint) for d in m.check_source(source, "tune.m")]


def test_m_check_reports_each_bad_hyperparameter_at_its_line_and_column():
    source = MODEL + (
        "space = defineHyperparamSpace({hiden: intRange(4, 16), lr: logUniform(1e-3, 1e-1),\n"
        "                               dropout: uniform(0.5, 0.1), batch_size: choice(8.5, 16)})\n"
        "best = autoTuneModel(IrisNet, space, train_set, valid_set, trials=2)\n"
        "other = autoTuneModel(IrisNet, {hidden: uniform(4.0, 16.0)}, train_set, valid_set)\n")
    assert diagnostics(source) == [
        (12, 32, "hyperparameter 'hiden' is neither a field of IrisNet nor a training setting",
         "did you mean 'hidden'?"),
        (13, 41, "uniform(0.5, 0.1): low must be less than high",
         "write uniform(low, high) with low < high"),
        (13, 60, "hyperparameter 'batch_size' is choice(8.5, 16), but training setting "
                 "'batch_size' takes an int", "use intRange(low, high) or choice() of ints"),
        (15, 33, "hyperparameter 'hidden' is uniform(4.0, 16.0), but field 'hidden' of IrisNet "
                 "is int: 4.0 is a float", "use intRange(low, high) or choice() of ints"),
    ]


def test_m_check_stays_silent_where_the_space_or_the_model_is_not_known_statically():
    source = MODEL + (
        "space = defineHyperparamSpace({hidden: intRange(4, 16)})\n"
        "space = defineHyperparamSpace({hiddenn: intRange(4, 16)})\n"  # assigned twice
        "again = autoTuneModel(IrisNet, space, train_set, valid_set)\n"
        "low = 4\n"
        "dyn = autoTuneModel(IrisNet, {hidden: intRange(low, 16)}, train_set, valid_set)\n")
    assert diagnostics(source) == []


def test_an_m_program_tunes_a_declared_model_and_saves_the_best():
    source = MODEL + (
        "space = defineHyperparamSpace({hidden: intRange(4, 16), lr: logUniform(1e-2, 1e-1),\n"
        "                               dropout: choice(0.0, 0.2)})\n"
        "best = autoTuneModel(IrisNet, space, train_set, valid_set, trials=3, epochs=2,\n"
        "                     batch_size=16, seed=0, save_as=\"irisnet\")\n"
        "report = evaluate(best, valid_set, metrics=[\"f1\"])\n")
    scope = m.run_source(source, "tune.m")
    summary = scope["best"].tuning
    assert summary.count("complete") + summary.count("pruned") == 3
    assert set(summary.best_params) == {"hidden", "lr", "dropout"}
    assert scope["best"].hidden == summary.best_params["hidden"]
    assert scope["report"]["f1"] == pytest.approx(summary.best_value)
    assert summary.saved_as == "irisnet:1"
    assert m.Repository().resolve("irisnet:1").params == pytest.approx(summary.best_params)


def test_a_space_built_at_run_time_is_still_checked_against_the_model_before_training():
    source = MODEL + (
        "levels = [\"low\", \"high\"]\n"
        "best = autoTuneModel(IrisNet, {dropout: choice(levels)}, train_set, valid_set)\n")
    with pytest.raises(MError, match="field 'dropout' of IrisNet is float: 'low' is a str"):
        m.run_source(source, "tune.m")


def test_m_check_knows_the_fields_a_model_inherits_from_a_standard_metamodel():
    source = MODEL + (
        "model Wider extends TextClassifier { num_labels = 3 }\n"
        "best = autoTuneModel(Wider, {dropout: uniform(0.0, 0.5), anything: choice(1, 2)}, train_set, valid_set)\n")
    found = diagnostics(source)
    assert [(line, message) for line, _, message, _ in found] == [
        (13, "hyperparameter 'anything' is neither a field of Wider nor a training setting")]
