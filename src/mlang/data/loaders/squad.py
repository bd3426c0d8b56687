"""SQuAD-format JSON (v1.1 and v2.0): `Dataset.squad("train-v2.0.json")`.

Each question becomes one example: `question`, `context`, `answers` (`{"text": [...],
"answer_start": [...]}`, character offsets into the context; empty for an unanswerable
SQuAD 2.0 question), `id` and `is_impossible`.  Every answer is checked against its offset.
"""
from __future__ import annotations

import json

from mlang.data.dataset import Dataset
from mlang.data.loaders.files import existing_file
from mlang.data.errors import data_error


def load(path: str, *, check_offsets: bool = True) -> Dataset:
    """Every question of every paragraph of the file, with its answers."""
    file = existing_file(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise data_error(f"{file}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}",
                     field=str(file)) from None
    articles = document.get("data") if isinstance(document, dict) else None
    if not isinstance(articles, list):
        raise data_error(f"{file}: expected a SQuAD document {{\"data\": [articles]}}", field="data")
    examples = []
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(_field(article, "paragraphs", list, file, f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = _field(paragraph, "context", str, file, where)
            for q, qa in enumerate(_field(paragraph, "qas", list, file, where)):
                examples.append(_question(qa, context, file, f"{where}.qas[{q}]", check_offsets))
    if not examples:
        raise data_error(f"{file}: no questions", field="data")
    return Dataset(examples, input_column="question", target_column="answers", source=str(file))


def _question(qa, context: str, file, where: str, check_offsets: bool) -> dict:
    question = _field(qa, "question", str, file, where)
    impossible = bool(qa.get("is_impossible", False))
    answers = qa.get("answers", [])
    if not isinstance(answers, list):
        raise data_error(f"{file}: {where}.answers: expected a list", field="answers")
    texts, starts = [], []
    for n, answer in enumerate(answers):
        at = f"{where}.answers[{n}]"
        text = _field(answer, "text", str, file, at)
        start = _field(answer, "answer_start", int, file, at)
        if check_offsets and context[start:start + len(text)] != text:
            raise data_error(f"{file}: {at}.answer_start: {start} does not point at {text!r} in the "
                         f"context (found {context[start:start + len(text)]!r})",
                         field="answer_start")
        texts.append(text)
        starts.append(start)
    if not texts and not impossible:
        raise data_error(f"{file}: {where}: no answers and not marked is_impossible", field="answers")
    return {"id": str(qa.get("id", where)), "question": question, "context": context,
            "answers": {"text": texts if not impossible else [],
                        "answer_start": starts if not impossible else []},
            "is_impossible": impossible}


def _field(record, name: str, kind: type, file, where: str):
    if not isinstance(record, dict) or name not in record:
        raise data_error(f"{file}: {where}: missing field {name!r}", field=name)
    value = record[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise data_error(f"{file}: {where}.{name}: expected {kind.__name__}, got "
                     f"{type(value).__name__}", field=name)
    return value
