"""Every kind of model M can save goes the whole way a user takes it, through the `m` command.

`m run kinds.m` saves a layer stack, a composition, a model with a `forward` block, a
`customModel`, a pretrained encoder, a fine-tuned, a pruned, a quantized and a distilled model and
a fine-tuned text classifier.  Then, for each: `m models ls/show` list it; `m export --format onnx`
writes a file that ONNX Runtime runs — text models through the exported `tokenizer.json` — with
the outputs of the model loaded in Python within 1e-4; `m serve` (real uvicorn on 127.0.0.1)
answers a prediction with the same outputs and exits 0 on SIGTERM; `m models rm` and `m models gc`
take it away.
"""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from mlang.cli import main

PROGRAM = Path(__file__).with_name("kinds.m")
TEXT_KINDS = {"encoder", "classifier"}
KINDS = ["stack", "composed", "forward", "custom", "encoder", "finetuned", "pruned", "quantized",
         "distilled", "classifier"]
SAVED = [*KINDS, "branching"]  # kinds.m also saves a model with Python control flow in forward
TEXTS = ["tasty food, my dog loves it", "stale"]


def m_command(*args, home: Path, **kwargs):
    env = {**os.environ, "M_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "mlang", *args], env=env, text=True, **kwargs)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The repository `m run kinds.m` leaves behind, run as a user runs it."""
    home = tmp_path_factory.mktemp("journey") / "m_home"
    run = m_command("run", str(PROGRAM), home=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    return home


@pytest.fixture
def repository(home, monkeypatch):
    monkeypatch.setenv("M_HOME", str(home))
    return home


def examples(kind: str):
    return TEXTS if kind in TEXT_KINDS else torch.rand(5, 4, generator=torch.Generator().manual_seed(1)).tolist()


def python_outputs(kind: str) -> np.ndarray:
    from mlang.registry import load

    model = load(kind)
    inputs = examples(kind)
    with torch.inference_mode():
        out = model(inputs if kind in TEXT_KINDS else torch.tensor(inputs))
    return out.float().numpy()


def onnx_feeds(kind: str, sidecar: dict, folder: Path) -> dict:
    if kind not in TEXT_KINDS:
        return {sidecar["inputs"][0]["name"]: np.array(examples(kind), dtype=np.float32)}
    from tokenizers import Tokenizer

    assert "tokenizer/tokenizer.json" in [f.split(".files/", 1)[1] for f in sidecar["files"]]
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer" / "tokenizer.json"))
    tokenizer.enable_padding()
    tokenizer.enable_truncation(32)  # kinds.m's max_length
    encoded = tokenizer.encode_batch(TEXTS)
    columns = {"input_ids": [e.ids for e in encoded], "attention_mask": [e.attention_mask for e in encoded],
               "token_type_ids": [e.type_ids for e in encoded]}
    return {spec["name"]: np.array(columns[spec["name"]], dtype=np.int64) for spec in sidecar["inputs"]}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_goes_from_m_run_to_export_serve_and_removal(kind, repository, tmp_path, capsys):
    import onnxruntime as ort

    assert main(["models", "ls", "--json"]) == 0
    assert kind in {row["name"] for row in json.loads(capsys.readouterr().out)}
    ref = "quantized@prod" if kind == "quantized" else kind
    assert main(["models", "show", ref, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ref"] == f"{kind}:1"

    expected = python_outputs(kind)
    onnx_file = tmp_path / f"{kind}.onnx"
    assert main(["export", ref, "--format", "onnx", "-o", str(onnx_file)]) == 0, capsys.readouterr().err
    sidecar = json.loads(Path(f"{onnx_file}.json").read_text())
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, onnx_feeds(kind, sidecar, Path(f"{onnx_file}.files")))[0]
    tolerance = 1e-2 if kind == "quantized" else 1e-4  # int8 activations in torch, float in ONNX
    assert np.abs(got - expected).max() <= tolerance

    served = serve_and_predict(ref, repository, examples(kind))  # the model's execution plan
    assert np.abs(np.array(served["outputs"]) - expected).max() <= max(tolerance, 1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_restores_through_every_loader(kind, repository, tmp_path):
    """`loadModelFromUrl("registry:…")`, `Engine.load_model`, and a model file from `m export
    --format safetensors` read back with `loadModelFromUrl` and by the Engine."""
    from mlang.engine import Engine
    from mlang.models.modelfile import read_artifact
    from mlang.models.trust import carried_code
    from mlang.models.url import load_model_from_url

    expected, inputs = python_outputs(kind), examples(kind)
    batch = inputs if kind in TEXT_KINDS else torch.tensor(inputs)
    file = tmp_path / f"{kind}.safetensors"
    assert main(["export", kind, "--format", "safetensors", "-o", str(file)]) == 0
    code = carried_code(read_artifact(file).config)
    trust = f"sha256:{code.sha256}" if code else None
    assert (code is not None) == (kind in {"forward", "custom"})
    loaded = [load_model_from_url(f"registry:{kind}"), load_model_from_url(str(file), trust_code=trust)]
    with torch.inference_mode():
        for model in loaded:
            assert np.abs(model(batch).float().numpy() - expected).max() <= 1e-5
    for source in (kind, str(file)):
        engine = Engine(device="cpu", backend="eager").load_model(source, trust_code=trust)
        assert np.abs(np.asarray(engine.run(batch), dtype=np.float32) - expected).max() <= 1e-5


def serve_and_predict(ref: str, home: Path, inputs) -> dict:
    server = m_command("serve", ref, "--port", "0", home=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = None
        for line in server.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                url = found.group(0)
                break
        assert url, "m serve did not say where it listens"
        name = ref.split("@")[0]
        answer = httpx.post(f"{url}/v1/models/{name}/predict", json={"inputs": inputs}, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0


BRANCH_LINE = next(number for number, line in enumerate(PROGRAM.read_text().splitlines(), 1)
                   if "if x.sum() > 0" in line)


@pytest.mark.parametrize("backend", ["eager", "onnx", "onnx-int8", "plan"])
@pytest.mark.parametrize("kind", SAVED)
def test_every_kind_runs_on_every_backend_or_says_why_not(kind, backend, repository):
    """Each kind on each engine backend gives the model's outputs (int8: within its quantization
    error); a forward block that branches refuses the graph backends, naming the `if` and
    its line in kinds.m."""
    from mlang.engine import Engine
    from mlang.lang.diagnostics import MError

    inputs = examples(kind)
    batch = inputs if kind in TEXT_KINDS else torch.tensor(inputs)
    engine = Engine(device="cpu", backend=backend).load_model(kind, trust_code=True)
    if kind == "branching" and backend in ("onnx", "onnx-int8"):
        with pytest.raises(MError) as error:
            engine.run(batch)
        assert f"(`if` at {PROGRAM}:{BRANCH_LINE}:9)" in str(error.value), str(error.value)
        return
    expected = python_outputs(kind)
    got = np.asarray(engine.run(batch), dtype=np.float32)
    assert got.shape == expected.shape
    if backend == "onnx-int8" or (kind == "quantized" and backend != "eager"):
        # int8 activations per batch (tiny untrained nets lose the most): the outputs as a whole
        # point the same way
        cosine = float((got * expected).sum() / (np.linalg.norm(got) * np.linalg.norm(expected)))
        assert cosine >= 0.97, cosine
    else:
        assert np.abs(got - expected).max() <= (1e-5 if backend == "eager" else 1e-4)


# Last: it removes what the tests above read.
def test_removed_models_leave_nothing_behind(repository, capsys):
    def artifact_files():
        return sum(1 for path in (repository / "artifacts").rglob("*") if path.is_file())

    before = artifact_files()
    for kind in SAVED:
        assert main(["models", "rm", f"{kind}:1", "--force"]) == 0
    assert main(["models", "gc"]) == 0
    capsys.readouterr()
    assert main(["models", "ls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert before > 0 and artifact_files() == 0
