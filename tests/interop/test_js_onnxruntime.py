"""JavaScript: examples/interop/js (Node, onnxruntime-node + @huggingface/tokenizers) on `m export
--format onnx`.

For the MiniLM classifier the Node program gets raw text: it tokenizes with the exported
tokenizer.json as the sidecar says (truncation at max_length, padding to the longest text), runs
the graph and prints outputs and labels, which must equal the Python model's within 1e-4 — a long
review (truncated) and accented text included.  For the layer stack it gets the numbers.
The packages come from package-lock.json (`npm ci`, run by the installer when missing).
"""
import json
import subprocess

import pytest

from interop_support import EXAMPLES, assert_matches, require, run_checked, sidecar

PROJECT = EXAMPLES / "js"
PREDICT = PROJECT / "predict.mjs"


@pytest.fixture(scope="module")
def node():
    require("node", files=("js/node_modules/onnxruntime-node/package.json",
                           "js/node_modules/@huggingface/tokenizers/package.json"))
    return "node"


def run_js(node, *args) -> dict:
    return json.loads(run_checked([node, PREDICT, *args], timeout=300).stdout)


def test_js_runs_the_minilm_classifier_on_raw_text(node, models, exported):
    reference = models["minilm"]
    answer = run_js(node, exported("minilm", "onnx"), *reference.inputs)
    assert_matches(answer["output"], reference, answer["labels"])


def test_js_runs_the_layer_stack(node, models, exported, tmp_path):
    reference = models["stack"]
    model = exported("stack", "onnx")
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({sidecar(model)["inputs"][0]["name"]: reference.inputs}))
    answer = run_js(node, model, "--inputs", inputs)
    assert_matches(answer["output"], reference, answer["labels"])


def test_js_tokenizes_as_m_does(node, models, exported):
    """The Node tokenizer gives the ids M's own preprocessing gives (truncated at max_length)."""
    from mlang.models.modelfile import read_model_file

    model = exported("minilm", "onnx")
    script = (f"import {{ tokenize }} from {json.dumps(str(PREDICT))};"
              "import { readFileSync } from 'node:fs';"
              f"const sidecar = JSON.parse(readFileSync({json.dumps(str(model) + '.json')}, 'utf8'));"
              f"console.log(JSON.stringify(tokenize(JSON.parse(process.argv[1]), sidecar, "
              f"{json.dumps(str(model.parent))})));")
    texts = models["minilm"].inputs
    got = json.loads(run_checked([node, "--input-type=module", "-e", script, json.dumps(texts)],
                                 timeout=120, cwd=PROJECT).stdout)
    expected = read_model_file(models["minilm"].file).preprocess(texts)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert got[name] == expected[name].tolist(), name
    assert max(map(len, got["input_ids"])) == sidecar(model)["preprocessing"]["max_length"]


def test_js_refuses_text_for_a_tensor_model(node, exported):
    run = subprocess.run([node, str(PREDICT), str(exported("stack", "onnx")), "some text"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "takes Tensor[float32, B, 8], not text" in run.stderr
