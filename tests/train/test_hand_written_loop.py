"""Issue 12, item 7: DESIGN §1's hand-written loop over a stdlib TextClassifier, as written.

`for batch in train_data` gives batches (`batch.text` a list of texts, `batch.labels` a LongTensor
of class ids in the dataset's label order); a stdlib classifier knows its task; `predict` says how
to give it its class names when a hand-written loop never did.
"""
import textwrap

import pytest
import torch

from mlang.lang.api import run_source
from mlang.lang.diagnostics import MError
from mlang.train import tasks

ROWS = [("good and tasty", "pos"), ("awful, stale", "neg"), ("lovely fresh tea", "pos"),
        ("bad", "neg"), ("really great snack", "pos"), ("bland and soggy", "neg")]

# DESIGN §1's train function, word for word (the model type is the one declared here).
DESIGN_LOOP = """
model Sentiment extends TextClassifier { num_labels = 2; max_length = 32 }

func train(model: Sentiment, train_data: Dataset, num_epochs: int = 3) -> Sentiment {
    optimizer = Adam(model.parameters(), lr=2e-5)
    loss_function = CrossEntropyLoss()
    for epoch in range(num_epochs) {
        for batch in train_data {
            optimizer.zero_grad()
            outputs = model(batch.text)
            loss = loss_function(outputs, batch.labels)
            loss.backward()
            optimizer.step()
        }
    }
    return model
}
"""


def test_the_design_loop_runs_as_written_on_a_stdlib_text_classifier():
    rows = ", ".join(f'{{"t": "{t}", "y": "{y}"}}' for t, y in ROWS)
    scope = run_source(textwrap.dedent(DESIGN_LOOP + f"""
        setSeed(0)
        train_data = Dataset.records([{rows}], text="t", label="y")
        clf = Sentiment()
        before = clf.layers[2].weight.detach().clone()
        clf = train(clf, train_data, num_epochs=1)
        seen = []
        for batch in train_data.batches(4) {{ seen.append([batch.text, batch.labels]) }}
        report = evaluate(clf, train_data, metrics=["accuracy", "loss"])   // the task is known
        ids = predict(clf, ["good", "stale"], output="ids")
        clf.labels = train_data.labels
        named = predict(clf, ["good", "stale"])
    """), "design_loop.m")
    clf, data = scope["clf"], scope["train_data"]
    assert not torch.equal(scope["before"], clf.layers[2].weight)  # the optimizer stepped
    assert data.labels == ["neg", "pos"]
    texts, labels = scope["seen"][0]
    assert texts == [t for t, _ in ROWS[:4]]                   # a list of texts, in order
    assert labels.dtype == torch.long and labels.tolist() == [1, 0, 1, 0]  # ids in labels' order
    assert [len(t) for t, _ in scope["seen"]] == [4, 2]
    assert 0.0 <= scope["report"]["accuracy"] <= 1.0 and scope["report"]["loss"] > 0
    assert all(i in (0, 1) for i in scope["ids"])
    assert scope["named"] == [["neg", "pos"][i] for i in scope["ids"]]


def test_predict_on_a_classifier_without_class_names_says_how_to_name_them():
    program = DESIGN_LOOP + """
        clf = Sentiment()
        train_data = Dataset.records([{"t": "fine", "y": "pos"}, {"t": "bad", "y": "neg"}], text="t", label="y")
        print(predict(clf, ["good"]))
    """
    with pytest.raises(MError) as error:
        run_source(textwrap.dedent(program), "predict_loop.m")
    message = str(error.value)
    assert "predict_loop.m:21:15" in message and "no class names" in message
    assert "model.labels = train_data.labels" in error.value.diagnostics[0].hint
    assert error.value.field == "labels"


def test_the_loop_in_python_on_a_stdlib_text_classifier():
    import mlang as m
    from mlang.models.stdlib import TextClassifier

    torch.manual_seed(0)
    train_data = m.Dataset.records([{"t": t, "y": y} for t, y in ROWS], text="t", label="y")
    model = TextClassifier(num_labels=2, max_length=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-5)
    loss_function = torch.nn.CrossEntropyLoss()
    steps = 0
    for batch in train_data.batches(3):
        optimizer.zero_grad()
        loss = loss_function(model(batch.text), batch.labels)
        loss.backward()
        optimizer.step()
        steps += 1
    assert steps == 2 and torch.isfinite(loss)
    assert tasks.task_of(model, None) == "classification"  # from the stdlib metamodel
    with pytest.raises(MError, match="no class names"):
        m.predict(model, ["good"])
    model.labels = train_data.labels
    assert m.predict(model, ["good"])[0] in ("neg", "pos")


def test_the_task_comes_from_the_stdlib_metamodel_and_is_settable():
    from mlang.models import stdlib

    assert tasks.stdlib_task(stdlib.metamodel("ImageClassifier")) == "classification"
    assert tasks.stdlib_task(stdlib.metamodel("Regressor")) == "regression"
    assert tasks.stdlib_task(stdlib.metamodel("SequenceForecaster")) == "forecast"
    assert tasks.stdlib_task(stdlib.metamodel("QuestionAnswerer")) == "qa"
    assert tasks.stdlib_task(stdlib.metamodel("TextEmbedder")) is None
    scope = run_source(textwrap.dedent("""
        metamodel Regressor {                 // a user's own metamodel of the same name
            input: Tensor[float32, B, 2]
            Dense(1)
        }
        model Mine extends Regressor {}
        mine = Mine()
        task_before = mine.task
        mine.task = "regression"              // task is set on the instance, not declared as a field
        values = predict(mine, [[1.0, 2.0], [3.0, 4.0]])
    """), "own_regressor.m")
    assert tasks.stdlib_task(scope["mine"]) is None and scope["task_before"] is None
    assert scope["mine"].task == "regression" and len(scope["values"]) == 2
    with pytest.raises(MError, match="task is None"):  # without the task, nothing says what it does
        run_source(textwrap.dedent("""
            metamodel Regressor { input: Tensor[float32, B, 2]; Dense(1) }
            model Mine extends Regressor {}
            values = predict(Mine(), [[1.0, 2.0]])
        """), "own_regressor.m")


def test_an_unknown_task_says_how_to_set_one():
    from conftest import LinearRegressor

    net = LinearRegressor(2)
    net.task = None
    with pytest.raises(MError) as error:
        tasks.task_of(net, None)
    assert 'model.task = "classification"' in error.value.diagnostics[0].hint
