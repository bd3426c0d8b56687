"""Whole documents in the stdlib text models: `chunking = "windows"` reads a text as windows of
`max_length` tokens (overlapping by `stride`), at most `max_windows`, pooled over the windows.

The windows are what the tokenizer's own overflow gives; the pooled vector is the mean (or max)
of the windows encoded one by one; a chunked classifier goes the whole way a user takes it:
`m run` (fit on a few rows, save, load, same predictions), `m export --format onnx` run with
the sidecar's parameters, and `m serve`; a bad field is an error at the user's line that sets it.
"""
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from mlang.cli import main
from mlang.lang import api
from mlang.lang.diagnostics import MError
from mlang.models import serialize, stdlib

SHORT = "short text"
LONG = " ".join(f"word{i}" for i in range(40))  # many more tokens than a 16-token window


@pytest.fixture(scope="module")
def chunked():
    torch.manual_seed(0)
    return stdlib.TextClassifier(num_labels=3, max_length=16, chunking="windows", stride=4,
                                 max_windows=3).eval()


def test_windows_are_the_tokenizers_overflow_cut_at_max_windows(chunked):
    encoder = chunked.layers[0]
    features = chunked.preprocess([LONG, SHORT])
    assert features["input_ids"].shape[:2] == (2, 3)  # LONG has more than 3 windows; kept: 3
    overflow = encoder.tokenizer(LONG, truncation=True, max_length=16, stride=4,
                                 return_overflowing_tokens=True)["input_ids"]
    assert len(overflow) > 3
    for window, ids in enumerate(overflow[:3]):
        assert features["input_ids"][0, window, :len(ids)].tolist() == ids
    # consecutive windows share `stride` tokens
    assert overflow[0][-1 - 4:-1] == overflow[1][1:1 + 4]
    # SHORT has one window; the other two are padding (mask all zeros)
    assert features["attention_mask"][1].sum(dim=1).tolist() == [4, 0, 0]


def test_the_text_vector_pools_its_windows_encoded_one_by_one(chunked):
    encoder = chunked.layers[0]
    features = chunked.preprocess([LONG, SHORT])
    with torch.no_grad():
        pooled = encoder(**features)
        windows = []
        for ids, mask in zip(features["input_ids"][0], features["attention_mask"][0]):
            n = int(mask.sum())
            hidden = encoder.transformer(input_ids=ids[None, :n], attention_mask=mask[None, :n]).last_hidden_state
            windows.append(hidden.mean(dim=1))
        assert torch.allclose(pooled[0], torch.cat(windows).mean(dim=0), atol=1e-5)
        # a text's vector does not depend on the padding windows its batch gave it
        assert torch.allclose(encoder([SHORT])[0], pooled[1], atol=1e-5)
        maxed = stdlib.TextEmbedder(max_length=16, chunking="windows", stride=4, max_windows=3,
                                    window_pooling="max").eval()
        assert torch.allclose(maxed([LONG])[0], torch.cat(windows).max(dim=0).values, atol=1e-5)


def test_a_chunked_classifier_survives_dump_and_restore(chunked):
    restored = serialize.restore(serialize.dump(chunked)).eval()
    with torch.no_grad():
        assert torch.allclose(restored([LONG, SHORT]), chunked([LONG, SHORT]), atol=1e-6)
    assert restored.layers[0].chunking_settings() == {"chunking": "windows", "stride": 4, "max_windows": 3,
                                                      "window_pooling": "mean"}


@pytest.mark.parametrize("fields, message", [
    ('chunking = "pages"', "TextEncoder: unknown chunking 'pages'"),
    ('chunking = "windows"; stride = 14', "TextEncoder: stride must be an integer from 0 to max_length - 3 (13), got 14"),
    ("max_windows = 0", "TextEncoder: max_windows must be a positive integer, got 0"),
    ('window_pooling = "sum"', "TextEncoder: unknown window_pooling 'sum'"),
    ('chunking = "windows"; pooling = "none"', 'TextEncoder: chunking="windows" pools each text into one vector'),
])
def test_bad_chunking_fields_are_errors_at_the_users_field(fields, message):
    source = f"model Docs extends TextClassifier {{\n    max_length = 16; {fields}\n}}\ndocs = Docs()\n"
    with pytest.raises(MError) as raised:
        api.run_source(source, "docs.m")
    text = raised.value.format()
    assert message in text and "docs.m:2:" in text, text


JOURNEY = '''
setSeed(3)
model Docs extends TextClassifier {
    num_labels = 2
    max_length = 16
    chunking = "windows"
    stride = 4
    max_windows = 3
    window_pooling = "max"
}
rows = [{"text": TEXTS[i % 4], "label": i % 2} for i in range(8)]
data = Dataset(rows, labels=["sport", "business"])
clf = fineTuneModel(Docs(), data, epochs=1, lr=1e-4, batch_size=4)
save(clf, "docs")
same = load("docs")
print(predict(clf, TEXTS) == predict(same, TEXTS))
print(bool(torch.allclose(clf(TEXTS), same(TEXTS), atol=1e-6)))
'''
TEXTS = ["The match went to extra time. " * 8, "Shares fell sharply.", "The team won the cup final again. " * 5,
         "Profits rose at the bank this quarter, the firm said. " * 3]


def onnx_feeds(sidecar: dict, folder: Path, texts: list[str]) -> dict:
    """What a caller in another language does with the sidecar: tokenize with the exported
    tokenizer.json, cut windows (truncation with `stride`, the overflow), keep `max_windows`."""
    from tokenizers import Tokenizer

    prep = sidecar["preprocessing"]
    assert (prep["chunking"], prep["stride"], prep["max_windows"]) == ("windows", 4, 3)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
    tokenizer.enable_truncation(prep["max_length"], stride=prep["stride"])
    per_text = []
    for text in texts:
        first = tokenizer.encode(text)
        per_text.append(([first] + first.overflowing)[:prep["max_windows"]])
    windows = max(len(w) for w in per_text)
    tokens = max(len(e.ids) for w in per_text for e in w)
    columns = {name: np.zeros((len(texts), windows, tokens), dtype=np.int64)
               for name in ("input_ids", "attention_mask", "token_type_ids")}
    for t, encodings in enumerate(per_text):
        for w, encoding in enumerate(encodings):
            n = len(encoding.ids)
            columns["input_ids"][t, w, :n] = encoding.ids
            columns["attention_mask"][t, w, :n] = encoding.attention_mask
            columns["token_type_ids"][t, w, :n] = encoding.type_ids
    return {spec["name"]: columns[spec["name"]] for spec in sidecar["inputs"]}


def test_a_chunked_classifier_goes_from_m_run_to_export_and_serve(tmp_path, m_home, capsys, monkeypatch):
    import onnxruntime as ort

    from mlang.registry import load
    from mlang.serve import Server

    program = tmp_path / "docs.m"
    program.write_text(f"import python torch\nTEXTS = {json.dumps(TEXTS)}\n{JOURNEY}")
    assert main(["run", str(program)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.split()[-2:] == ["True", "True"]

    model = load("docs")
    with torch.inference_mode():
        expected = model(TEXTS).numpy()
    onnx_file = tmp_path / "docs.onnx"
    assert main(["export", "docs", "--format", "onnx", "-o", str(onnx_file)]) == 0, capsys.readouterr().err
    sidecar = json.loads(Path(f"{onnx_file}.json").read_text())
    assert [spec["shape"] for spec in sidecar["inputs"]] == [["batch", "windows", "sequence"]] * 3
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, onnx_feeds(sidecar, Path(f"{onnx_file}.files"), TEXTS))[0]
    assert np.abs(got - expected).max() <= 1e-4

    with Server(model, name="docs", port=0, max_latency_ms=10) as server:
        answer = httpx.post(f"{server.url}/v1/models/docs/predict", json={"inputs": TEXTS}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert np.abs(np.array(answer.json()["outputs"]) - expected).max() <= 1e-4
