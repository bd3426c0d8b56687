"""fineTuneModel: it learns, it is reproducible, it freezes, stops early, checkpoints and logs."""
import pytest
import torch
from safetensors.torch import load_file

from mlang.data import Dataset
from mlang.lang.diagnostics import MError
from mlang.train import evaluate, fine_tune_model, plot_history, seed_everything

from conftest import BagOfWordsClassifier, LinearRegressor, sentiment_records


def fresh_classifier(seed=0):
    seed_everything(seed)  # before building: the head is initialised here
    return BagOfWordsClassifier()


def test_fine_tuning_lowers_the_loss_and_raises_accuracy(sentiment):
    train, valid = sentiment
    model = fresh_classifier()
    before = evaluate(model, valid, metrics=["accuracy", "loss"])
    fine_tune_model(model, train, valid, epochs=8, lr=5e-2, batch_size=8, warmup=0.1, progress=False)
    after = evaluate(model, valid, metrics=["accuracy", "loss"])
    assert after["loss"] < 0.5 * before["loss"]
    assert after["accuracy"] >= 0.9 > before["accuracy"] + 0.2
    history = model.history
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert len(history) == 8 and history.steps
    assert model.labels == ["neg", "pos"]


def test_same_seed_same_weights(sentiment):
    train, _ = sentiment
    runs = []
    for _ in range(2):
        model = fresh_classifier(seed=3)
        fine_tune_model(model, train, epochs=2, lr=1e-2, batch_size=8, seed=11, progress=False)
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_early_stopping_restores_the_best_epoch(tmp_path):
    # The validation labels are the opposite of the training labels: the better the model fits
    # its training data, the worse its validation loss gets, so epoch 1 is the best one.
    train = Dataset.records(sentiment_records(64, seed=1), text="review", label="score")
    valid = Dataset.records(sentiment_records(32, seed=2, flip=True), text="review", label="score",
                            labels=train.labels)
    snapshots = {}

    def remember(epoch, metrics, model):
        snapshots[epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    model = fresh_classifier()
    fine_tune_model(model, train, valid, epochs=10, lr=5e-2, batch_size=8, metric="loss",
                    early_stopping=2, callbacks=[remember], checkpoint_dir=tmp_path / "ckpt",
                    progress=False)
    history = model.history
    assert history.stopped_early and len(history) == history.best_epoch + 2 < 10
    best = snapshots[history.best_epoch]
    assert all(torch.equal(model.state_dict()[k], best[k]) for k in best)
    last = snapshots[len(history)]
    assert not all(torch.equal(model.state_dict()[k], last[k]) for k in last)
    saved = load_file(str(tmp_path / "ckpt" / "best.safetensors"))
    assert all(torch.equal(saved[k], best[k]) for k in best)
    assert (tmp_path / "ckpt" / "history.json").is_file()


def test_freezing_by_pattern_and_encoder(sentiment):
    train, _ = sentiment
    for options in ({"freeze": "encoder.*"}, {"freeze_encoder": True}):
        model = fresh_classifier()
        encoder_before = model.encoder.weight.clone()
        head_before = model.head.weight.clone()
        fine_tune_model(model, train, epochs=1, lr=1e-2, batch_size=16, progress=False, **options)
        assert torch.equal(model.encoder.weight, encoder_before)
        assert not torch.equal(model.head.weight, head_before)
    with pytest.raises(MError, match="matches no parameter"):
        fine_tune_model(fresh_classifier(), train, freeze="decoder.*", progress=False)
    with pytest.raises(MError, match="nothing to train"):
        fine_tune_model(fresh_classifier(), train, freeze="*", progress=False)


def test_gradient_accumulation_counts_optimizer_steps(sentiment):
    train, _ = sentiment  # 96 examples: 12 batches of 8
    model = fresh_classifier()
    fine_tune_model(model, train, epochs=2, lr=1e-2, batch_size=8, gradient_accumulation=4,
                    max_grad_norm=0.5, progress=False)
    assert [record["step"] for record in model.history.epochs] == [3, 6]
    assert model.history.epochs[-1]["lr"] == pytest.approx(0.0)  # linear decay ends at zero


def test_regression_learns_diabetes_progression():
    data = Dataset.sklearn("diabetes")
    mean = sum(data.column("target")) / len(data)
    scaled = data.map(lambda ex: {"features": ex.features, "target": (ex.target - mean) / 77.0})
    seed_everything(0)
    model = LinearRegressor(10)
    before = evaluate(model, scaled, metrics=["mse"])["mse"]
    fine_tune_model(model, scaled, epochs=8, lr=5e-2, batch_size=32, weight_decay=0.0,
                    warmup=0, progress=False)
    report = evaluate(model, scaled, metrics=["mse", "r2"])
    assert report["mse"] < 0.7 * before and report["r2"] > 0.3


def test_a_classifier_too_narrow_for_the_labels_is_an_error(sentiment):
    train, _ = sentiment
    seed_everything(0)
    with pytest.raises(MError, match="outputs 1 classes but the data has 2"):
        fine_tune_model(BagOfWordsClassifier(num_labels=1), train, progress=False)


def test_bad_arguments_are_m_errors(sentiment):
    train, _ = sentiment
    with pytest.raises(MError, match="epochs"):
        fine_tune_model(fresh_classifier(), train, epochs=0, progress=False)
    with pytest.raises(MError, match="expects a Dataset"):
        fine_tune_model(fresh_classifier(), [1, 2, 3], progress=False)
    with pytest.raises(MError, match="unknown metric"):
        fine_tune_model(fresh_classifier(), train, train, metric="acuracy", progress=False)


def test_history_plots_to_png(sentiment, tmp_path):
    train, valid = sentiment
    model = fresh_classifier()
    fine_tune_model(model, train, valid, epochs=2, lr=1e-2, batch_size=16, progress=False,
                    log_every=2)
    path = plot_history(model, tmp_path / "history.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert set(model.history.epochs[0]) >= {"epoch", "train_loss", "valid_loss", "valid_f1", "lr"}


def test_a_callback_can_stop_training(sentiment):
    train, _ = sentiment
    model = fresh_classifier()
    fine_tune_model(model, train, epochs=5, lr=1e-2, progress=False,
                    callbacks=[lambda epoch, metrics, model: epoch == 2])
    assert len(model.history) == 2 and model.history.stopped_early


def test_progress_bar_runs(sentiment, capsys):
    train, valid = sentiment
    fine_tune_model(fresh_classifier(), train.take(32), valid.take(8), epochs=1, batch_size=8,
                    progress=True, log_every=1)
    assert "fine-tuning" in capsys.readouterr().err


def test_batches_are_drawn_once_per_epoch(sentiment):
    """A dataset that redraws its examples in `batches` (a distributed shard) is honoured."""
    train, _ = sentiment
    calls = []

    class Redrawn(Dataset):
        def batches(self, batch_size=32, model=None, **options):
            calls.append(batch_size)
            return super().batches(batch_size, model, **options)

    data = Redrawn(train.examples, labels=train.labels)
    fine_tune_model(fresh_classifier(), data, epochs=3, batch_size=32, progress=False)
    assert calls == [32, 32, 32]


def test_max_steps_stops_mid_epoch(sentiment):
    train, _ = sentiment
    model = fresh_classifier()
    fine_tune_model(model, train, epochs=5, batch_size=8, max_steps=5, progress=False)
    assert model.history.epochs[-1]["step"] == 5 and len(model.history) == 1


def test_autocast_precision_runs_and_learns(sentiment):
    """bf16 autocast (what CUDA uses) also runs on CPU when asked for explicitly."""
    train, valid = sentiment
    model = fresh_classifier()
    fine_tune_model(model, train, epochs=4, lr=5e-2, batch_size=8, precision="bf16", progress=False)
    assert model.history["train_loss"][-1] < model.history["train_loss"][0]
    with pytest.raises(MError, match="unknown precision"):
        fine_tune_model(fresh_classifier(), train, precision="fp8", progress=False)


def test_quiet_by_default_when_not_a_terminal(sentiment, capsys):
    train, _ = sentiment
    fine_tune_model(fresh_classifier(), train.take(16), epochs=1, batch_size=8)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


class TinyBert(BagOfWordsClassifier):
    """The bag-of-words classifier's tokens read by a one-layer Hugging Face BERT instead."""

    def __init__(self):
        from transformers import BertConfig, BertModel

        super().__init__()
        self.bert = BertModel(BertConfig(vocab_size=512, hidden_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=32))
        self.head = torch.nn.Linear(16, 2)

    def compute(self, input_ids, attention_mask):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask.long()).last_hidden_state
        return self.head(hidden[:, 0])


@pytest.mark.parametrize("freeze_embeddings", [True, False])
def test_freeze_embeddings_keeps_a_transformers_token_table_fixed(sentiment, freeze_embeddings):
    train, _ = sentiment
    seed_everything(0)
    model = TinyBert()
    table = model.bert.get_input_embeddings().weight
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    fine_tune_model(model, train, epochs=1, lr=1e-2, batch_size=16, progress=False,
                    freeze_embeddings=freeze_embeddings)
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    table_name = next(name for name, p in model.named_parameters() if p is table)
    assert (table_name in changed) is not freeze_embeddings
    assert "bert.embeddings.position_embeddings.weight" in changed and "head.weight" in changed
    with pytest.raises(MError, match="freeze_embeddings must be true or false"):
        fine_tune_model(TinyBert(), train, freeze_embeddings="yes", progress=False)


def test_max_forward_tokens_gives_the_same_update_in_parts(sentiment):
    # Dropout off, so a batch run whole and the same batch run in parts must give the same weights.
    train, _ = sentiment
    runs, rows = {}, {}
    for budget in (None, 24):
        seed_everything(0)
        model = TinyBert().eval()
        model.train = lambda mode=True: model  # keep dropout off while training
        rows[budget] = []
        model.head.register_forward_hook(lambda module, args, out, seen=rows[budget]: seen.append(len(out)))
        fine_tune_model(model, train, epochs=1, lr=1e-2, batch_size=16, max_steps=2, progress=False,
                        max_forward_tokens=budget)
        runs[budget] = model.state_dict()
    assert rows[None] == [16, 16] and len(rows[24]) > 2 and sum(rows[24]) == 32
    assert all(torch.allclose(runs[None][k], runs[24][k], atol=1e-5) for k in runs[None])
    with pytest.raises(MError, match="max_forward_tokens must be a positive integer"):
        fine_tune_model(TinyBert(), train, max_forward_tokens=0, progress=False)


def test_max_forward_tokens_is_a_checked_keyword_in_m():
    from mlang import lang

    program = 'data = Dataset.sklearn("iris")\nclf = fineTuneModel(Dense(3), data, max_forward_tokens={})\n'
    assert lang.check_source(program.format("1024"), "ok.m") == []
    [found] = lang.check_source(program.format('"many"'), "bad.m")
    assert (found.span.line, found.message.split(" but ")[0]) == (2, "argument 'max_forward_tokens' of 'fineTuneModel' is int | None")
