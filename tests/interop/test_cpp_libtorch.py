"""C++: examples/interop/cpp (CMake, libtorch from the torch wheel) built and run on `m export`s.

`m_predict MODEL INPUTS.json` loads an AOTInductor package (`--format aoti`, through
`torch::inductor::AOTIModelPackageLoader`) or a TorchScript file (`--format torchscript`) and
prints the outputs and labels; they must equal the Python model's within 1e-4.  The MiniLM
classifier is given token ids that the test makes with the exported tokenizer.json (C++ has no
Hugging Face tokenizer of its own here); the layer stack, numbers.

The build (~45 s on 2 cores) is cached under build/interop/ by the hash of the sources, the torch
version and the compiler.  The AOTInductor compile of MiniLM (over a minute) is marked slow.
"""
import json
import subprocess
import time

import pytest
import torch

from interop_support import (BUILD, EXAMPLES, assert_matches, cached_build, require, run_checked, sidecar,
                      source_hash, token_inputs, tool_version)

SOURCES = EXAMPLES / "cpp"


@pytest.fixture(scope="session")
def m_predict():
    """The example built with CMake against the torch wheel's libtorch (cached by source hash)."""
    require("g++", "cmake", files=("/usr/include/nlohmann/json.hpp",))
    key = source_hash(SOURCES / "predict.cpp", SOURCES / "CMakeLists.txt", torch.__version__,
                      torch.utils.cmake_prefix_path, tool_version("g++"), tool_version("cmake"))

    def build(folder):
        started = time.perf_counter()
        run_checked(["cmake", "-S", SOURCES, "-B", folder, "-DCMAKE_BUILD_TYPE=Release",
                     f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}"], timeout=300)
        run_checked(["cmake", "--build", folder, "-j2"], timeout=900)
        (folder / "build-seconds").write_text(f"{time.perf_counter() - started:.1f}\n")

    return cached_build("cpp", key, build) / "m_predict"


def run_cpp(binary, model, inputs: dict, tmp_path) -> dict:
    file = tmp_path / "inputs.json"
    file.write_text(json.dumps(inputs))
    return json.loads(run_checked([binary, model, file], timeout=300).stdout)


@pytest.mark.parametrize("format", ["aoti", "torchscript"])
def test_cpp_runs_the_layer_stack(format, m_predict, models, exported, tmp_path):
    model = exported("stack", format)
    name = sidecar(model)["inputs"][0]["name"]
    answer = run_cpp(m_predict, model, {name: models["stack"].inputs}, tmp_path)
    assert_matches(answer["output"], models["stack"], answer["labels"])


@pytest.mark.parametrize("format", [pytest.param("aoti", marks=pytest.mark.slow), "torchscript"])
def test_cpp_runs_the_minilm_classifier_on_token_ids(format, m_predict, models, exported, tmp_path):
    model = exported("minilm", format)
    answer = run_cpp(m_predict, model, token_inputs(model, models["minilm"].inputs), tmp_path)
    assert_matches(answer["output"], models["minilm"], answer["labels"])


def test_cpp_takes_any_batch_size(m_predict, models, exported, tmp_path):
    """The batch dim is dynamic: one example, then the first three, answer as in Python."""
    model = exported("stack", "aoti")
    reference = models["stack"]
    for count in (1, 3):
        answer = run_cpp(m_predict, model, {"x": reference.inputs[:count]}, tmp_path)
        assert len(answer["output"]) == count
        assert abs(torch.tensor(answer["output"]) - torch.tensor(reference.output[:count])).max() <= 1e-4


def test_cpp_names_a_missing_input(m_predict, exported, tmp_path):
    model = exported("stack", "torchscript")
    file = tmp_path / "inputs.json"
    file.write_text(json.dumps({"y": [[0.0] * 8]}))
    run = subprocess.run([str(m_predict), str(model), str(file)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and 'inputs.json has no "x"' in run.stderr


def test_the_cpp_build_is_cached_by_source_hash(m_predict):
    assert m_predict.is_file() and m_predict.parent.parent == BUILD
    assert (m_predict.parent / ".done").is_file()
