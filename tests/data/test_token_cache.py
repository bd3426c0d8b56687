"""A text dataset is tokenized once for a model with a Hugging Face tokenizer, bucketed by token
counts, and every batch is exactly what the model's own `preprocess` gives for its texts."""
import pytest
import torch

from mlang.data import Dataset
from mlang.models.module import MModel

# Lengths chosen so characters and tokens disagree: long words are several word pieces each.
TEXTS = ([f"{'unbelievably ' * (i % 7)}short review number {i}" for i in range(40)]
         + [f"{'ok ' * (i % 23)}plain words {i}" for i in range(40)]
         + ["an extremely long review that is truncated " * 12])


@pytest.fixture(scope="module")
def classifier():
    from mlang.models.stdlib import TextClassifier

    return TextClassifier(num_labels=2, max_length=24)  # short: truncation is exercised


def reviews(texts=TEXTS):
    return Dataset.records([{"text": t, "tag": i % 2} for i, t in enumerate(texts)], text="text",
                           label="tag")


def same_features(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


class CountingTokenizer:
    """The model's tokenizer, counting the texts it is asked to tokenize."""

    def __init__(self, inner):
        self.inner, self.texts = inner, 0

    def __call__(self, texts, *args, **kwargs):
        self.texts += 1 if isinstance(texts, str) else len(texts)
        return self.inner(texts, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def encoder_of(model):
    return next(m for m in model.modules() if hasattr(m, "tokenizer"))


def test_every_batch_is_what_preprocess_gives_for_its_texts(classifier):
    """...padded to their longest text, and shuffled (training) batches further, with masked
    padding, to a multiple of PAD_MULTIPLE tokens (at most max_length); the model's outputs are
    the same."""
    from mlang.data.batching import PAD_MULTIPLE

    data = reviews()
    classifier.eval()
    for options in ({"shuffle": True, "seed": 3}, {"bucket": True}, {}):
        batches = list(data.batches(8, model=classifier, **options))
        assert sorted(i for b in batches for i in b.indices) == list(range(len(data)))
        multiple = PAD_MULTIPLE if options.get("shuffle") else 1
        for batch in batches:
            expected = classifier.preprocess(batch.text)
            width, longest = batch.inputs["input_ids"].shape[1], expected["input_ids"].shape[1]
            assert width == min(-(-longest // multiple) * multiple, 24)
            assert same_features({k: v[:, :longest] for k, v in batch.inputs.items()}, expected)
            assert not batch.inputs["attention_mask"][:, longest:].any()
            with torch.no_grad():
                assert torch.allclose(classifier(**batch.inputs), classifier(**expected), atol=1e-5)
            assert batch.labels.tolist() == [data.column("label")[i] for i in batch.indices]


def test_texts_are_tokenized_once_across_epochs_and_evaluation(classifier):
    from mlang.train import evaluate

    data = reviews()
    encoder = encoder_of(classifier)
    counting = CountingTokenizer(encoder.tokenizer)
    encoder.tokenizer = counting
    try:
        for epoch in range(3):
            for _ in data.batches(8, model=classifier, shuffle=True, seed=epoch):
                pass
        evaluate(classifier, data, metrics=["accuracy"])
    finally:
        encoder.tokenizer = counting.inner
    # every text once, plus the few texts the cache checks itself against preprocess on
    assert len(data) <= counting.texts <= len(data) + 3


def test_bucketing_by_tokens_pads_no_more_than_by_characters(classifier):
    data = reviews()

    def padded(model):  # each batch padded to its longest text (before rounding to PAD_MULTIPLE)
        return sum(len(b) * int(b.inputs["attention_mask"].sum(1).max())
                   for b in data.batches(8, model=model, bucket=True))

    class CharacterBucketed(MModel):  # the same tokenization, no tokenizer attribute to cache from
        def preprocess(self, inputs):
            return classifier.preprocess(inputs)

    by_tokens, by_characters = padded(classifier), padded(CharacterBucketed())
    real = sum(int(classifier.preprocess([t])["attention_mask"].sum()) for t in TEXTS)
    assert real <= by_tokens < by_characters


def test_a_model_whose_preprocess_differs_from_its_tokenizer_keeps_its_own(classifier):
    class Emphatic(MModel):
        """Has a tokenizer and max_length, but preprocesses its own way (a word put first)."""

        def __init__(self):
            super().__init__(task="classification")
            self.tokenizer, self.max_length = encoder_of(classifier).tokenizer, 24

        def preprocess(self, inputs):
            return dict(self.tokenizer(["really " + t for t in inputs], padding="longest", truncation=True,
                                       max_length=self.max_length, return_tensors="pt"))

    model, data = Emphatic(), reviews()
    for batch in data.batches(8, model=model, shuffle=True, seed=1):
        assert same_features(batch.inputs, model.preprocess(batch.text))


def test_a_changed_dataset_is_tokenized_again(classifier):
    data = reviews()
    list(data.batches(8, model=classifier))
    data.examples = data.examples[:10]  # the list replaced, as a distributed shard redraws
    batches = list(data.batches(8, model=classifier))
    assert sorted(i for b in batches for i in b.indices) == list(range(10))
    for batch in batches:
        assert same_features(batch.inputs, classifier.preprocess(batch.text))
