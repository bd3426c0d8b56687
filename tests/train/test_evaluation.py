"""evaluate() reports, predict(), and the hand-written training loop of DESIGN §1."""
import math
import json

import pytest
import torch

from mlang.data import Dataset
from mlang.lang.diagnostics import MError
from mlang.train import EvaluationReport, evaluate, fine_tune_model, predict, seed_everything
from mlang.train.losses import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from mlang.train.optimizers import SGD, Adam, AdamW

from conftest import BagOfWordsClassifier, sentiment_records


@pytest.fixture(scope="module")
def trained():
    """A classifier fine-tuned once for this module's tests, and its validation data."""
    train = Dataset.records(sentiment_records(96, seed=1), text="review", label="score")
    valid = Dataset.records(sentiment_records(40, seed=2), text="review", label="score",
                            labels=train.labels)
    seed_everything(0)
    model = BagOfWordsClassifier()
    fine_tune_model(model, train, epochs=6, lr=5e-2, batch_size=8, progress=False)
    return model, valid


def test_report_prints_as_a_table_and_serializes(trained):
    model, valid = trained
    report = evaluate(model, valid, metrics=["accuracy", "f1", "f1_binary", "confusion_matrix", "loss"])
    assert isinstance(report, EvaluationReport)
    assert 0.0 <= report["accuracy"] <= 1.0 and "f1" in report
    assert sum(map(sum, report["confusion_matrix"])) == len(valid)
    data = json.loads(report.to_json())
    assert data["metrics"]["accuracy"] == report["accuracy"] and data["labels"] == ["neg", "pos"]
    assert report.to_dict()["count"] == len(valid)
    text = str(report)
    assert "accuracy" in text and "confusion matrix" in text and "pos" in text
    with pytest.raises(KeyError, match="was not evaluated"):
        report["r2"]


def test_report_metrics_agree_with_predict(trained):
    model, valid = trained
    predicted = predict(model, valid)
    truth = [valid.labels[i] for i in valid.column("label")]
    accuracy = sum(p == t for p, t in zip(predicted, truth)) / len(valid)
    assert evaluate(model, valid, metrics=["accuracy"])["accuracy"] == pytest.approx(accuracy)
    assert predict(model, "what a great and tasty snack") == "pos"
    probabilities = predict(model, ["awful stale food"], output="probabilities")
    assert len(probabilities[0]) == 2 and sum(probabilities[0]) == pytest.approx(1.0)


def test_data_labels_in_another_order_are_mapped(trained):
    model, valid = trained
    flipped = Dataset.records([{"t": ex.text, "s": valid.labels[ex.label]} for ex in valid.rows()],
                              text="t", label="s", labels=["pos", "neg"])
    assert evaluate(model, flipped)["accuracy"] == evaluate(model, valid)["accuracy"]
    other = Dataset.records([{"t": "x", "s": "maybe"}], text="t", label="s")
    with pytest.raises(MError, match="differ"):
        evaluate(model, other)


def test_evaluate_needs_targets_and_known_metrics(trained):
    model, valid = trained
    with pytest.raises(MError, match="targets"):
        evaluate(model, Dataset.records([{"t": "good"}], text="t"))
    with pytest.raises(MError, match="unknown metric"):
        evaluate(model, valid, metrics=["precision_at_k"])


def test_hand_written_training_loop(sentiment):
    """DESIGN §1's loop, in Python: the M builtins are these same objects."""
    train, valid = sentiment
    seed_everything(0)
    model = BagOfWordsClassifier()
    optimizer = Adam(model.parameters(), lr=5e-2)
    loss_function = CrossEntropyLoss()
    before = evaluate(model, valid, metrics=["loss"])["loss"]
    for epoch in range(5):
        for batch in train.batches(16, model=model, shuffle=True, seed=epoch):
            optimizer.zero_grad()
            outputs = model(**batch.inputs)
            loss = loss_function(outputs, batch.labels)
            loss.backward()
            optimizer.step()
    assert evaluate(model, valid, metrics=["loss"])["loss"] < 0.5 * before
    # One example at a time also works: raw text in, a Python int label as the target.
    example = train[0]
    assert loss_function(model(example.text), [example.labels]).dim() == 0


def test_losses_and_optimizers_are_torch_underneath():
    layer = torch.nn.Linear(3, 1)
    assert isinstance(AdamW(layer.parameters(), lr=1e-3), torch.optim.AdamW)
    assert isinstance(SGD(layer, lr=0.1, momentum=0.9), torch.optim.SGD)
    assert MSELoss()(torch.tensor([[1.0], [3.0]]), [1.0, 1.0]).item() == pytest.approx(2.0)
    assert L1Loss()(torch.tensor([[1.0], [3.0]]), [1.0, 1.0]).item() == pytest.approx(1.0)
    assert BCEWithLogitsLoss()(torch.tensor([[0.0]]), [1]).item() == pytest.approx(math.log(2))
    with pytest.raises(MError, match="no parameters"):
        Adam([], lr=1e-3)
    with pytest.raises(MError, match="lr must be positive"):
        Adam(layer.parameters(), lr=0)
