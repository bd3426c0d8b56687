"""Java: examples/interop/java/MClient.java (the JDK's java.net.http, nothing else), compiled with
javac and run with java against a real `m serve` on 127.0.0.1.

The client reads the server's OpenAPI schema to find the prediction endpoint and what an example
is, posts raw text (MiniLM classifier) or lists of numbers (layer stack), and prints each
example's label and outputs; they must equal the Python model's within 1e-4.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from interop_support import EXAMPLES, assert_matches, cached_build, require, run_checked, source_hash, tool_version

SOURCE = EXAMPLES / "java" / "MClient.java"


@pytest.fixture(scope="module")
def client():
    """`java -cp CLASSES MClient` with MClient compiled by javac (cached by source hash)."""
    require("javac", "java")
    classes = cached_build("java", source_hash(SOURCE, tool_version("javac", "-version")),
                           lambda folder: run_checked(["javac", "-d", folder, SOURCE], timeout=300))
    return ["java", "-cp", str(classes), "MClient"]


@pytest.fixture(scope="module")
def served(models, tmp_path_factory):
    """`served(name)`: the URL of `m serve NAME.bin --port 0` (one server per model, stopped with
    SIGTERM at the end, which must exit 0)."""
    servers = {}
    home = tmp_path_factory.mktemp("serve_home")

    def serve(name: str) -> str:
        if name not in servers:
            env = {**os.environ, "M_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
            process = subprocess.Popen([sys.executable, "-m", "mlang", "serve", str(models[name].file),
                                        "--host", "127.0.0.1", "--port", "0"],
                                       env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            url, seen = None, []
            for line in process.stdout:
                seen.append(line)
                found = re.search(r"http://127\.0\.0\.1:\d+", line)
                if found:
                    url = found.group(0)
                    break
            servers[name] = (process, url)
            assert url, "m serve did not say where it listens:\n" + "".join(seen)
            # keep reading its log, so a full pipe never blocks the server
            threading.Thread(target=seen.extend, args=(process.stdout,), daemon=True).start()
        return servers[name][1]

    yield serve
    for process, _ in servers.values():
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def parse_lines(stdout: str):
    labels, outputs = [], []
    for line in stdout.strip().splitlines():
        label, numbers = line.split("\t")
        labels.append(label)
        outputs.append([float(n) for n in numbers.split()])
    return labels, outputs


def test_java_client_posts_raw_text_and_prints_labels(client, served, models):
    reference = models["minilm"]
    run = run_checked([*client, served("minilm"), *reference.inputs], timeout=300)
    labels, outputs = parse_lines(run.stdout)
    assert_matches(outputs, reference, labels)


def test_java_client_posts_numbers_to_a_tensor_model(client, served, models, tmp_path):
    reference = models["stack"]
    examples = tmp_path / "examples.json"
    examples.write_text(json.dumps(reference.inputs))
    run = run_checked([*client, served("stack"), "--inputs", examples], timeout=300)
    labels, outputs = parse_lines(run.stdout)
    assert_matches(outputs, reference, labels)


def test_java_client_checks_examples_against_the_openapi_schema(client, served):
    """The example's shape comes from the schema the server publishes: 7 numbers for a model
    over Tensor[float32, B, 8] are refused before anything is posted."""
    run = subprocess.run([*client, served("stack"), json.dumps([0.5] * 7)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1
    assert "inputs[0]: expected 8 items, got 7" in run.stderr


def test_java_client_reports_the_servers_error(client, served, tmp_path):
    """More examples than the server takes in one request: its 413 and message come through."""
    examples = tmp_path / "examples.json"
    examples.write_text(json.dumps(["text"] * 1025))
    run = subprocess.run([*client, served("minilm"), "--inputs", str(examples)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1
    assert "the server answered 413" in run.stderr and "at most 1024 per request" in run.stderr
