"""SQuAD-format JSON, including SQuAD 2.0's unanswerable questions."""
import json

import pytest

from mlang.data import Dataset
from mlang.lang.diagnostics import MError

CONTEXT = "The Eiffel Tower is in Paris. It was finished in 1889."


def squad_document(answer_start=23):
    return {"version": "v2.0", "data": [{"title": "Tower", "paragraphs": [{
        "context": CONTEXT,
        "qas": [
            {"id": "q1", "question": "Where is the Eiffel Tower?", "is_impossible": False,
             "answers": [{"text": "Paris", "answer_start": answer_start}]},
            {"id": "q2", "question": "When was it finished?",
             "answers": [{"text": "1889", "answer_start": CONTEXT.index("1889")}]},
            {"id": "q3", "question": "Who painted it red?", "is_impossible": True,
             "answers": [], "plausible_answers": [{"text": "It", "answer_start": 30}]},
        ]}]}]}


def write(tmp_path, document, name="squad.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def test_squad_questions_become_examples(tmp_path):
    data = Dataset.squad(write(tmp_path, squad_document()))
    assert len(data) == 3 and data.task == "qa"
    first = data[0]
    assert first.question == "Where is the Eiffel Tower?" and first.context == CONTEXT
    assert first.answers == {"text": ["Paris"], "answer_start": [23]}
    assert data[2].is_impossible and data[2].answers == {"text": [], "answer_start": []}
    assert data.inputs()[1] == ("When was it finished?", CONTEXT)


def test_an_offset_that_misses_its_answer_is_an_error(tmp_path):
    with pytest.raises(MError) as error:
        Dataset.squad(write(tmp_path, squad_document(answer_start=5)))
    message = str(error.value)
    assert "data[0].paragraphs[0].qas[0].answers[0].answer_start" in message
    assert "'Paris'" in message


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"data": [\n  {"title": "x",,}\n]}', encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.squad(path)
    assert f"{path}:2:" in str(error.value)


def test_a_missing_field_is_named(tmp_path):
    document = squad_document()
    del document["data"][0]["paragraphs"][0]["qas"][1]["question"]
    with pytest.raises(MError) as error:
        Dataset.squad(write(tmp_path, document))
    assert "qas[1]" in str(error.value) and "'question'" in str(error.value)


def test_an_unmarked_question_without_answers_is_an_error(tmp_path):
    document = squad_document()
    document["data"][0]["paragraphs"][0]["qas"][0]["answers"] = []
    with pytest.raises(MError, match="not marked is_impossible"):
        Dataset.squad(write(tmp_path, document))
