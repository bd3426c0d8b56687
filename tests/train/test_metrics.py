"""Metrics equal scikit-learn's on the same predictions; QA scores follow SQuAD's definition."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import metrics as sk

from mlang.lang.diagnostics import MError
from mlang.train.metrics import METRICS, exact_match, resolve_metric, token_f1


@pytest.mark.parametrize("num_classes,seed", [(2, 0), (2, 1), (3, 2), (5, 3)])
def test_classification_metrics_match_sklearn(num_classes, seed):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, num_classes, 200).tolist()
    # Predictions that are right 60 % of the time, and never predict the last class.
    pred = [t if rng.random() < 0.6 else int(rng.integers(0, num_classes - 1)) for t in true]
    compute = lambda name: METRICS[name].compute(pred, true, num_classes)
    assert compute("accuracy") == pytest.approx(sk.accuracy_score(true, pred))
    for score, reference in (("precision", sk.precision_score), ("recall", sk.recall_score),
                             ("f1", sk.f1_score)):
        averages = ["macro", "micro", "weighted"] + (["binary"] if num_classes == 2 else [])
        for average in averages:
            expected = reference(true, pred, average=average, zero_division=0)
            assert compute(f"{score}_{average}") == pytest.approx(expected), (score, average)
        assert compute(score) == pytest.approx(reference(true, pred, average="macro", zero_division=0))
    assert compute("confusion_matrix") == sk.confusion_matrix(true, pred, labels=range(num_classes)).tolist()


def test_macro_average_skips_classes_absent_from_both_sides():
    true, pred = [0, 0, 1, 1], [0, 1, 1, 1]
    assert METRICS["f1"].compute(pred, true, 4) == pytest.approx(sk.f1_score(true, pred, average="macro"))


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(4)
    true = rng.normal(size=100)
    pred = true + rng.normal(scale=0.5, size=100)
    assert METRICS["mse"].compute(pred, true, None) == pytest.approx(sk.mean_squared_error(true, pred))
    assert METRICS["mae"].compute(pred, true, None) == pytest.approx(sk.mean_absolute_error(true, pred))
    assert METRICS["rmse"].compute(pred, true, None) == pytest.approx(sk.root_mean_squared_error(true, pred))
    assert METRICS["r2"].compute(pred, true, None) == pytest.approx(sk.r2_score(true, pred))
    assert METRICS["r2"].compute([2.0, 2.0], [2.0, 2.0], None) == sk.r2_score([2.0, 2.0], [2.0, 2.0])


def test_qa_exact_match_and_token_f1():
    references = [{"text": ["the Eiffel Tower", "Eiffel Tower"], "answer_start": [0, 4]},
                  {"text": ["in 1889"], "answer_start": [3]},
                  {"text": [], "answer_start": []}]  # unanswerable: the right answer is ""
    predictions = ["Eiffel tower.", "1889", ""]
    assert exact_match(predictions, references) == pytest.approx(2 / 3)
    # "1889" vs "in 1889": precision 1, recall 1/2 → F1 2/3.
    assert token_f1(predictions, references) == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert token_f1(["Paris"], [{"text": [], "answer_start": []}]) == 0.0


def test_metric_names_are_checked_against_the_task():
    assert resolve_metric("f1", "qa").compute is not METRICS["f1"].compute
    with pytest.raises(MError, match="did you mean 'accuracy'"):
        resolve_metric("acuracy", "classification")
    with pytest.raises(MError, match="scores regression"):
        resolve_metric("mse", "classification")
    with pytest.raises(MError, match="two classes"):
        METRICS["f1_binary"].compute([0, 1, 2], [0, 1, 2], 3)



@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=40))))
def test_f1_and_precision_match_sklearn_on_any_predictions(case):
    num_classes, pairs = case
    true, pred = [t for t, _ in pairs], [p for _, p in pairs]
    for average in ("macro", "micro", "weighted"):
        for score, reference in (("f1", sk.f1_score), ("precision", sk.precision_score),
                                 ("recall", sk.recall_score)):
            expected = reference(true, pred, average=average, zero_division=0)
            assert METRICS[f"{score}_{average}"].compute(pred, true, num_classes) == pytest.approx(expected)
