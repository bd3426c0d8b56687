"""Loading a model never runs code that came with it unless the user trusts that code.

The attack: a model file whose saved M source has been extended with
`func pwn(a = os.system("touch MARKER")) {}` — a default argument runs when the function is
defined, so merely re-declaring the source would create MARKER.  Every load path must refuse it
(with the code's sha256 in the message) and leave MARKER absent; `trust_code=true` or the pinned
sha256 loads it; the registry vouches for what the local user saved.
"""
import hashlib
import http.server
import sys
import threading
import warnings
from functools import partial

import pytest
import torch

from mlang.cli import main
from mlang.engine import Engine, export
from mlang.lang.diagnostics import MError
from mlang.models import Artifact, dump, restore
from mlang.models.modelfile import read_artifact, write_artifact
from mlang.models.trust import TrustedCodeWarning, carried_code
from mlang.models.url import load_model_from_url
from mlang.registry import Repository
from models_m import run_m

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROGRAM = """\
model Doubler {
    input: Tensor[float32, B, 4]
    forward(x) {
        return self.layers(x * 2)
    }
    Dense(3)
}
net = Doubler()
"""


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "MARKER"


@pytest.fixture
def honest():
    """A model with a forward block, as its author saved it."""
    return run_m(PROGRAM, "doubler.m")["net"].eval()


@pytest.fixture
def crafted(honest, marker):
    """The same model's artifact with a payload added to the M source it carries."""
    artifact = dump(honest)
    payload = f'\nimport python os\nfunc pwn(a = os.system("touch {marker}")) {{ return a }}\n'
    artifact.config["model"]["source"] += payload
    return artifact


@pytest.fixture
def crafted_file(crafted, tmp_path):
    return write_artifact(crafted, tmp_path / "model.safetensors")


def sha_of(artifact) -> str:
    return carried_code(artifact.config).sha256


def test_the_code_a_model_carries_is_described_with_its_sha256(honest):
    code = carried_code(dump(honest).config)
    assert code.sha256 == hashlib.sha256(dump(honest).config["model"]["source"].encode()).hexdigest()
    assert "the M source of Doubler (doubler.m" in code.describe()


def test_a_layer_stack_carries_no_code():
    stack = run_m("model S {\n input: Tensor[float32, B, 4]\n Dense(2)\n}\ns = S()\n")["s"]
    assert carried_code(dump(stack).config) is None


def test_restore_refuses_untrusted_code_before_running_any(crafted, marker):
    with pytest.raises(MError, match=f"carries code.*sha256 {sha_of(crafted)}") as error:
        restore(crafted)
    assert "trust_code" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize("location", ["plain", "file"])
def test_load_model_from_url_refuses_a_model_file_with_code(crafted_file, marker, location):
    url = str(crafted_file) if location == "plain" else crafted_file.as_uri()
    with pytest.raises(MError, match="carries code that loading it would run"):
        load_model_from_url(url)
    assert not marker.exists()


def test_an_m_program_cannot_load_it_either(crafted_file, marker):
    with pytest.raises(MError, match="carries code"):
        run_m(f'm = loadModelFromUrl("{crafted_file}")\n', "victim.m")
    assert not marker.exists()


def test_loading_over_http_refuses_it(crafted_file, marker, tmp_path):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(crafted_file.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{crafted_file.name}"
        with pytest.raises(MError, match="carries code"):
            load_model_from_url(url, cache_dir=str(tmp_path / "cache"), progress=False)
    finally:
        server.shutdown()
    assert not marker.exists()


def test_the_engine_refuses_it(crafted_file, marker):
    with pytest.raises(MError, match="carries code"):
        Engine(device="cpu").load_model(str(crafted_file))
    assert not marker.exists()


def test_export_refuses_it(crafted_file, marker, tmp_path):
    with pytest.raises(MError, match="carries code"):
        export(str(crafted_file), tmp_path / "out.onnx")
    assert main(["export", str(crafted_file), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]) == 1
    assert not marker.exists()


def test_m_serve_refuses_it(crafted_file, marker, capsys):
    assert main(["serve", str(crafted_file), "--port", "0"]) == 1
    assert "carries code" in capsys.readouterr().err
    assert not marker.exists()


def test_the_registry_refuses_to_save_an_untrusted_artifact(crafted, marker):
    repo = Repository()
    with pytest.raises(MError, match="carries code"):
        repo.save_artifact(crafted, "crafted")
    assert repo.list_models() == []
    assert not marker.exists()


def test_trust_code_true_runs_it_and_shows_the_sha256(crafted_file, crafted, marker):
    with pytest.warns(TrustedCodeWarning, match=sha_of(crafted)):
        model = load_model_from_url(str(crafted_file), trust_code=True)
    assert marker.exists()  # the user asked for it
    assert model(torch.ones(2, 4)).shape == (2, 3)


def test_a_pinned_sha256_runs_exactly_that_code(crafted_file, crafted, honest, tmp_path, marker):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pinned code loads without a warning
        load_model_from_url(str(crafted_file), trust_code=f"sha256:{sha_of(crafted)}")
    assert marker.exists()
    honest_file = write_artifact(dump(honest), tmp_path / "honest.safetensors")
    with pytest.raises(MError, match="not the code you pinned"):
        load_model_from_url(str(honest_file), trust_code=sha_of(crafted))
    with pytest.raises(MError, match="trust_code must be"):
        load_model_from_url(str(honest_file), trust_code="yes please")


def test_m_export_runs_trusted_code_when_asked(honest, tmp_path):
    path = write_artifact(dump(honest), tmp_path / "honest.safetensors")
    sha = sha_of(read_artifact(path))
    out = tmp_path / "honest.onnx"
    assert main(["export", str(path), "--format", "onnx", "-o", str(out), "--trust-code-sha256", sha]) == 0
    assert out.exists()


def test_the_registry_trusts_what_the_local_user_saved(honest):
    repo = Repository()
    ref = repo.save(honest, "doubler")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = repo.load(ref)
    x = torch.rand(2, 4)
    assert torch.allclose(again(x), honest(x))


def test_a_config_cannot_name_a_python_module(tmp_path, monkeypatch, marker):
    """Kinds, layers and transforms come from M's catalogues; a Python function reference is code."""
    (tmp_path / "pwnmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    configs = [
        {"kind": "pwnmod:Evil"},
        {"kind": "layers", "input": None, "output": None,
         "layers": [{"layer": "pwnmod:Evil", "args": [], "kwargs": {}}]},
    ]
    for model in configs:
        with pytest.raises(MError):
            restore(Artifact({"format": 1, "model": model, "transforms": []}))
    stack = run_m("model S {\n input: Tensor[float32, B, 4]\n Dense(2)\n}\ns = S()\n")["s"]
    with pytest.raises(MError, match="unknown transform"):
        restore(Artifact({"format": 1, "model": dump(stack).config["model"],
                          "transforms": [{"transform": "pwnmod:Evil"}]}))
    custom = {"kind": "custom", "name": "c", "function": "pwnmod:Evil", "parts": []}
    with pytest.raises(MError, match="the Python function pwnmod:Evil"):
        restore(Artifact({"format": 1, "model": custom, "transforms": []}))
    assert not marker.exists() and "pwnmod" not in sys.modules


def test_an_m_program_trusts_a_pinned_model(honest, tmp_path):
    path = write_artifact(dump(honest), tmp_path / "honest.safetensors")
    sha = sha_of(read_artifact(path))
    g = run_m(f"""\
import python torch
net = loadModelFromUrl("{path}", trust_code="sha256:{sha}")
y = net(torch.ones(1, 4))
""", "trusting.m")
    assert g["y"].shape == (1, 3)


def test_m_serve_serves_a_model_file_whose_code_is_pinned(honest, tmp_path, capsys):
    import httpx

    from mlang.serve import Server

    path = write_artifact(dump(honest), tmp_path / "honest.safetensors")
    sha = sha_of(read_artifact(path))
    assert main(["serve", str(path), "--port", "0", "--trust-code-sha256", "0" * 64]) == 1
    assert "not the code you pinned" in capsys.readouterr().err
    with Server(str(path), port=0, trust_code=f"sha256:{sha}") as server:
        answer = httpx.post(f"{server.url}/v1/models/{server.name}/predict",
                            json={"inputs": [[1.0, 2.0, 3.0, 4.0]]}, timeout=30)
    expected = honest(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    assert answer.status_code == 200
    assert torch.allclose(torch.tensor(answer.json()["outputs"]), expected, atol=1e-5)
