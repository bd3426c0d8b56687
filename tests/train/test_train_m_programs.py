"""The data and train builtins used from M source, as `m run` runs it."""
import textwrap

import pytest

from mlang.lang.api import check_source, run_source
from mlang.lang.diagnostics import MError


def run_m(source: str, filename: str = "train_test.m") -> dict:
    return run_source(textwrap.dedent(source), filename)


def test_fine_tune_evaluate_and_a_hand_written_loop_in_m():
    scope = run_m("""
        iris = Dataset.sklearn("iris")
        train_set, test_set = split(iris, 0.7, seed=7, stratify=true)

        model Tiny {
            input: Tensor[float32, B, 4]
            Dense(16)
            ReLU()
            Dense(3)
        }

        setSeed(0)
        clf = fineTuneModel(Tiny(), train_set, test_set, epochs=15, lr=3e-2, batch_size=16, progress=false)
        report = evaluate(clf, test_set, metrics=["accuracy", "f1"])
        first = predict(clf, test_set)[0]

        net = Tiny()
        optimizer = Adam(net.parameters(), lr=1e-2)
        loss_function = CrossEntropyLoss()
        before = evaluate(net, test_set, metrics=["loss"])["loss"]
        for epoch in range(5) {
            for batch in train_set.batches(16, model=net, shuffle=true, seed=epoch) {
                optimizer.zero_grad()
                outputs = net(batch.inputs)
                loss = loss_function(outputs, batch.labels)
                loss.backward()
                optimizer.step()
            }
        }
        after = evaluate(net, test_set, metrics=["loss"])["loss"]
    """)
    assert scope["report"]["accuracy"] >= 0.85
    assert scope["first"] in ("setosa", "versicolor", "virginica")
    assert scope["after"] < scope["before"]
    assert len(scope["clf"].history) >= 1


def test_a_malformed_csv_is_reported_at_the_m_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,y\na,1\nb,2,3\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        run_m(f'x = 1\nd = Dataset.csv("{bad}", text="t", label="y")\n')
    message = str(error.value)
    assert "train_test.m:2:" in message and "bad.csv" in message and "line 3" in message


def test_m_check_catches_misspelled_training_arguments():
    diagnostics = check_source('d = Dataset.sklearn("iris")\nm2 = fineTuneModel(d, d, epoch=1)\n',
                               "check_test.m")
    assert any("epoch" in str(d) and "epochs" in str(getattr(d, "hint", "")) for d in diagnostics)
