"""Real MiniLM fine-tuning through the standard metamodels (slow: run with `-m slow`)."""
import json
import textwrap

import pytest

from mlang.lang.api import run_source

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_minilm_sentiment_beats_the_majority_class():
    """DESIGN §8: 1,000 stratified reviews, 1 epoch, lr 1e-4 reaches ≈0.80 accuracy."""
    scope = run_source(textwrap.dedent("""
        setSeed(7)
        reviews = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
        held_out = Dataset.rdataset("modeldata", "testing_data", text="review", label="score")
        train_set, unused = split(reviews, 0.25, seed=7, stratify=true)
        model Sentiment extends TextClassifier { num_labels = 2; max_length = 128 }
        clf = fineTuneModel(Sentiment(), train_set, epochs=1, lr=1e-4, batch_size=16, progress=false)
        report = evaluate(clf, held_out.take(300), metrics=["accuracy", "f1"])
    """), "slow_sentiment.m")
    report = scope["report"]
    print(report, scope["clf"].history)
    majority = 0.66
    assert report["accuracy"] > majority + 0.05 and report["f1"] > 0.6


def test_minilm_question_answering_learns_a_tiny_squad_file(tmp_path):
    context = "The Eiffel Tower is in Paris and was finished in 1889."
    qas = [{"id": "a", "question": "Where is the Eiffel Tower?",
            "answers": [{"text": "Paris", "answer_start": context.index("Paris")}]},
           {"id": "b", "question": "When was the tower finished?",
            "answers": [{"text": "1889", "answer_start": context.index("1889")}]},
           {"id": "c", "question": "Who painted the tower red?", "answers": [], "is_impossible": True}]
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}))
    scope = run_source(textwrap.dedent(f"""
        setSeed(0)
        data = Dataset.squad("{path}")
        model QA extends QuestionAnswerer {{ max_length = 64 }}
        qa = fineTuneModel(QA(), data, epochs=15, lr=3e-4, batch_size=3, warmup=0, progress=false)
        report = evaluate(qa, data, metrics=["exact_match", "f1", "loss"])
        answers = predict(qa, data)
    """), "slow_qa.m")
    assert scope["report"]["exact_match"] >= 2 / 3
    assert scope["answers"][0] == "Paris"
