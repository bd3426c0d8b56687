"""fineTuneModel(cache_frozen=true): a frozen encoder runs once per example, the epochs train the
head on its cached outputs, and the model comes back whole — the same head as training it the
slow way, reading raw text, saved, loaded and predicting alike."""
import pytest
import torch

from mlang import lang
from mlang.cli import main
from mlang.data import Dataset
from mlang.lang.diagnostics import MError
from mlang.models import stdlib
from mlang.train import fine_tune_model, predict, seed_everything

TEXTS = ["The match went to extra time. " * 6, "Shares fell sharply.", "The team won the cup final. " * 4,
         "Profits rose at the bank this quarter, the firm said. " * 3]
DOCS = Dataset([{"text": TEXTS[i % 4], "label": i % 2} for i in range(8)], labels=["sport", "business"])


def chunked_classifier():
    seed_everything(0)  # the head is initialised when the classifier is built
    return stdlib.TextClassifier(num_labels=2, max_length=16, chunking="windows", max_windows=3, dropout=0.0)


def encoder_calls(model) -> list:
    calls = []
    model.layers[0].register_forward_hook(lambda module, args, out: calls.append(len(out)))
    return calls


def test_the_cached_head_is_the_head_trained_the_slow_way():
    # One batch per epoch, dropout off everywhere: both ways must reach the same weights.
    slow, fast = chunked_classifier(), chunked_classifier()
    encoder_before = {k: v.clone() for k, v in fast.layers[0].state_dict().items()}
    slow.train = lambda mode=True: slow  # the slow way's encoder runs in eval mode too
    slow_calls, fast_calls = encoder_calls(slow), encoder_calls(fast)
    settings = dict(epochs=4, lr=1e-2, batch_size=8, freeze="layers.0.*", progress=False)
    fine_tune_model(slow, DOCS, **settings)
    fine_tune_model(fast, DOCS, cache_frozen=True, **settings)
    assert slow_calls == [8] * 4 and fast_calls == [8]  # the encoder ran once, not once per epoch
    head = {k: v for k, v in fast.state_dict().items() if not k.startswith("layers.0.")}
    assert all(torch.allclose(v, slow.state_dict()[k], atol=1e-5) for k, v in head.items())
    assert all(torch.equal(v, fast.layers[0].state_dict()[k]) for k, v in encoder_before.items())
    assert predict(fast, TEXTS) == predict(slow, TEXTS)  # the model still reads raw text


def test_freeze_encoder_freezes_the_pretrained_encoder_whole_so_it_caches():
    model = chunked_classifier()
    calls = encoder_calls(model)
    fine_tune_model(model, DOCS, epochs=2, lr=1e-2, freeze_encoder=True, cache_frozen=True, progress=False)
    assert calls == [8]
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {name for name, _ in model.named_parameters() if name.startswith("layers.0.")}
    assert any(".embeddings." in name for name in frozen) and "layers.2.weight" not in frozen


def test_validation_and_early_stopping_read_the_cache_too():
    model = chunked_classifier()
    calls = encoder_calls(model)
    fine_tune_model(model, DOCS, DOCS, epochs=3, lr=1e-2, batch_size=4, freeze="layers.0.*",
                    cache_frozen=True, early_stopping=2, progress=False)
    assert calls == [8, 8]  # once for the training data, once for the validation data
    assert len(model.history) == 3 and model.history.best_epoch is not None


PROGRAM = '''
setSeed(3)
model Docs extends TextClassifier {
    num_labels = 2
    max_length = 16
    chunking = "windows"
    max_windows = 3
}
rows = [{"text": TEXTS[i % 4], "label": i % 2} for i in range(8)]
data = Dataset(rows, labels=["sport", "business"])
clf = fineTuneModel(Docs(), data, epochs=5, lr=1e-2, batch_size=4, freeze="layers.0.*", cache_frozen=true)
save(clf, "docs")
print(predict(clf, TEXTS) == predict(load("docs"), TEXTS))
'''


def test_an_m_program_trains_with_cache_frozen_saves_and_loads(tmp_path, m_home, capsys):
    program = tmp_path / "docs.m"
    program.write_text(f"TEXTS = {TEXTS!r}\n" + PROGRAM)
    assert main(["check", str(program)]) == 0
    assert main(["run", str(program)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "True"


def test_cache_frozen_is_a_checked_keyword_in_m():
    program = 'data = Dataset.sklearn("iris")\nclf = fineTuneModel(Dense(3), data, cache_frozen={})\n'
    assert lang.check_source(program.format("true"), "ok.m") == []
    [found] = lang.check_source(program.format('"yes"'), "bad.m")
    assert found.span.line == 2 and "cache_frozen" in found.message


def test_what_cannot_be_cached_is_an_error_naming_the_field():
    model = chunked_classifier()
    with pytest.raises(MError, match=r"first layer of .* \(TextEncoderModel\) has parameters left to train") as error:
        fine_tune_model(model, DOCS, epochs=1, freeze="layers.0.transformer.encoder.*", cache_frozen=True,
                        progress=False)
    assert error.value.field == "cache_frozen"
    assert all(p.requires_grad for p in model.parameters())  # the refused call froze nothing
    with pytest.raises(MError, match="cache_frozen must be true or false"):
        fine_tune_model(chunked_classifier(), DOCS, epochs=1, cache_frozen="yes", progress=False)
    from conftest import BagOfWordsClassifier

    with pytest.raises(MError, match="needs a model whose layers run in order; .* is not a layer stack"):
        fine_tune_model(BagOfWordsClassifier(), DOCS, freeze="encoder.*", cache_frozen=True, progress=False)


def test_random_image_transforms_are_not_cached_once_for_every_epoch():
    import mlang as m

    Brightness = m.run_source("model Brightness {\n    input: Image[1, 6, 6]\n    Conv2D(2, kernel=3)\n"
                              "    Flatten()\n    Dense(2)\n}\n", "brightness.m")["Brightness"]
    pictures = m.Dataset([{"image": torch.rand(8, 8, 3).mul(255).byte().numpy(), "label": i % 2}
                          for i in range(4)], labels=["top", "bottom"])
    flipped = pictures.transform(m.Grayscale(channels=1), m.Resize(6), m.RandomHorizontalFlip())
    with pytest.raises(MError, match=r"one draw of the training data's random transforms \(RandomHorizontalFlip\)"):
        m.fine_tune_model(Brightness(), flipped, freeze="layers.0.*", cache_frozen=True, progress=False)
    still = pictures.transform(m.Grayscale(channels=1), m.Resize(6))
    model = m.fine_tune_model(Brightness(), still, epochs=2, freeze="layers.0.*", cache_frozen=True,
                              progress=False)
    assert m.predict(model, [still.examples[0]["image"]]) in (["top"], ["bottom"])


def test_frozen_layers_whose_outputs_vary_in_shape_are_refused():
    import mlang as m

    Tagger = m.run_source('model Tagger {\n    input: Text\n    output: Tensor[float32, B, 2]\n'
                          '    TextEncoder("minilm-l6", pooling="none", max_length=16)\n    LSTM(8)\n'
                          '    Dense(2)\n}\n', "tagger.m")["Tagger"]
    model = Tagger()
    short_then_long = Dataset([{"text": text, "label": i % 2} for i, text in enumerate(TEXTS[1:2] * 2 + TEXTS[:1] * 2)],
                              labels=["sport", "business"])
    with pytest.raises(MError, match="one output shape per example from the frozen layers") as error:
        fine_tune_model(model, short_then_long, eval_batch_size=2, freeze="layers.0.*", cache_frozen=True,
                        progress=False)
    assert error.value.field == "cache_frozen"
    assert all(p.requires_grad for p in model.parameters())
