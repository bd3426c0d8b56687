"""The HTTP server, tested through a real uvicorn on a loopback port."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import torch
from model_fixtures import make_tiny_classifier

from mlang.serve import Server


def auth(server) -> dict:
    """The header a client of `server` sends: its bearer token, when it has one."""
    token = server.options.token
    return {"Authorization": f"Bearer {token}"} if token else {}


def predict(server, body, headers=None):
    return httpx.post(f"{server.url}/v1/models/{server.name}/predict", json=body,
                      headers=auth(server) if headers is None else headers, timeout=30)


def metrics_text(server) -> str:
    return httpx.get(f"{server.url}/metrics", headers=auth(server)).text


def requests_counted(server, status: int) -> int:
    """How many prediction requests /metrics counts as answered with `status`."""
    found = re.search(rf'^mlang_requests_total{{model="{server.name}",code="{status}"}} (\d+)$',
                      metrics_text(server), re.MULTILINE)
    return int(found[1]) if found else 0


def expected(model, rows):
    with torch.inference_mode():
        return model(torch.tensor(rows, dtype=torch.float32))


def assert_healthy(server):
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    response = predict(server, {"inputs": [[0.0] * 8]})
    assert response.status_code == 200


def test_predictions_match_the_model(tiny_server, tiny_model):
    rows = torch.randn(3, 8).tolist()
    response = predict(tiny_server, {"inputs": rows})
    assert response.status_code == 200
    body = response.json()
    want = expected(tiny_model, rows)
    assert torch.allclose(torch.tensor(body["outputs"]), want, atol=1e-5)
    assert body["labels"] == [tiny_model.labels[i] for i in want.argmax(1).tolist()]
    assert body["model"] == "tiny"


def test_concurrent_requests_of_mixed_sizes_each_get_their_own_rows(tiny_server, tiny_model):
    generator = torch.Generator().manual_seed(1)
    requests = [torch.randn(int(n), 8, generator=generator).tolist()
                for n in torch.randint(1, 7, (40,), generator=generator)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda rows: predict(tiny_server, {"inputs": rows}), requests))
    for rows, response in zip(requests, responses):
        assert response.status_code == 200
        outputs = torch.tensor(response.json()["outputs"])
        assert outputs.shape == (len(rows), 3)
        assert torch.allclose(outputs, expected(tiny_model, rows), atol=1e-5)
    metrics = metrics_text(tiny_server)
    batches = [line for line in metrics.splitlines() if line.startswith("mlang_batch_size_bucket")]
    singles = int(batches[0].rsplit(" ", 1)[1])   # batches of ≤ 1 example
    count = int(next(l for l in metrics.splitlines() if l.startswith("mlang_batch_size_count")).split()[-1])
    assert count > singles, "concurrent requests were never batched together"


def tensor_body(*row: str) -> bytes:
    """A request of one example, `row` written out as JSON text: 8 numbers, or not."""
    return ('{"inputs": [[%s]]}' % ", ".join(row)).encode()


ZEROS = ("0",) * 7


@pytest.mark.parametrize("content, status, field, message", [
    (b'{"inputs": [[1, 2', 422, "body", "malformed JSON at line 1"),
    (b'\xff{"inputs": []}', 422, "body", "not UTF-8"),
    (b'[1, 2, 3]', 422, "inputs", 'JSON object with an "inputs" list'),
    (b'{"inputs": []}', 422, "inputs", "non-empty list"),
    (json.dumps({"inputs": [[0.0] * 8, [0.0] * 7]}).encode(), 422, "inputs[1]", "inputs[1]: expected shape [8]"),
    (json.dumps({"inputs": [[[0.0] * 8]]}).encode(), 422, "inputs[0]", "got shape [1, 8]"),
    (json.dumps({"inputs": [[[0.0, 1.0], [2.0]]]}).encode(), 422, "inputs[0]", "inputs[0]: expected a rectangular"),
    (json.dumps({"inputs": ["eight numbers"]}).encode(), 422, "inputs[0]", "inputs[0]: expected a nested list"),
    (json.dumps({"inputs": [[0.0] * 8] * 600}).encode(), 413, "body", "exceeds the limit of 20000 bytes"),
    # Numbers JSON has no word for, or that no float32 holds, named where they are:
    (tensor_body(*ZEROS, "NaN"), 422, "inputs[0][7]", "inputs[0][7]: expected a finite number within float32's "
                                                      "range, got NaN"),
    (tensor_body("Infinity", *ZEROS), 422, "inputs[0][0]", "got Infinity"),
    (tensor_body(*ZEROS, "-Infinity"), 422, "inputs[0][7]", "got -Infinity"),
    (tensor_body(*ZEROS, "1e400"), 422, "inputs[0][7]", "got Infinity"),
    (tensor_body(*ZEROS, "1e39"), 422, "inputs[0][7]", "got 1e+39"),
    # Numbers the client gets wrong in type, also named:
    (tensor_body("0", "0", "0", "null", "0", "0", "0", "0"), 422, "inputs[0][3]", "inputs[0][3]: expected a number, "
                                                                                  "got null"),
    (tensor_body(*ZEROS, '"1.5"'), 422, "inputs[0][7]", "inputs[0][7]: expected a number, got a string"),
    (tensor_body(*ZEROS, "true"), 422, "inputs[0][7]", "inputs[0][7]: expected a number, got a boolean"),
    # The parser's own limits, checked before it runs:
    (tensor_body(*ZEROS, "9" * 5000), 422, "body", "a number has more than 100 digits in a row"),
    (b'{"inputs": ' + b"[" * 5000 + b"]" * 5000 + b"}", 422, "body", "nest more than 32 deep"),
    # Finite inputs the model turns into what JSON cannot carry:
    (tensor_body(*["3e38"] * 8), 422, "inputs[0]", "inputs[0]: the model's output for this example is not finite"),
])
def test_bad_requests_get_a_clear_4xx_naming_the_field_counted_in_metrics(tiny_server, content, status, field,
                                                                          message):
    counted = requests_counted(tiny_server, status)
    response = httpx.post(f"{tiny_server.url}/v1/models/tiny/predict", content=content,
                          headers={**auth(tiny_server), "Content-Type": "application/json"}, timeout=30)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]
    assert response.json()["field"] == field
    assert requests_counted(tiny_server, status) == counted + 1
    assert_healthy(tiny_server)


def test_chunked_oversize_body_is_refused_while_streaming(tiny_server):
    chunks = (b" " * 8_000 for _ in range(5))  # no Content-Length: the limit applies as it arrives
    response = httpx.post(f"{tiny_server.url}/v1/models/tiny/predict", content=chunks,
                          headers=auth(tiny_server))
    assert response.status_code == 413
    assert_healthy(tiny_server)


def test_missing_or_wrong_token_is_401_on_every_endpoint_but_health(tiny_server):
    token = tiny_server.options.token
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        response = predict(tiny_server, {"inputs": [[0.0] * 8]}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in response.json()["error"]
        for path in ("/metrics", "/docs", "/openapi.json"):
            response = httpx.get(f"{tiny_server.url}{path}", headers=headers)
            assert response.status_code == 401 and response.json()["field"] == "authorization"
    for path in ("/metrics", "/docs", "/openapi.json", "/healthz"):
        assert httpx.get(f"{tiny_server.url}{path}", headers=auth(tiny_server)).status_code == 200
    assert httpx.get(f"{tiny_server.url}/healthz").status_code == 200
    assert_healthy(tiny_server)


def test_metrics_and_docs_can_be_made_public_under_a_token(tiny_model):
    with Server(tiny_model, name="tiny", port=0, token="secret", public_metrics_and_docs=True) as server:
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert httpx.get(f"{server.url}{path}").status_code == 200
        assert predict(server, {"inputs": [[0.0] * 8]}, headers={}).status_code == 401


def test_unknown_model_name_is_404(tiny_server):
    response = httpx.post(f"{tiny_server.url}/v1/models/other/predict", json={"inputs": [[0.0] * 8]},
                          headers=auth(tiny_server))
    assert response.status_code == 404
    assert "serves 'tiny'" in response.json()["error"]


def test_metrics_health_and_openapi(tiny_server):
    assert_healthy(tiny_server)
    metrics = httpx.get(f"{tiny_server.url}/metrics", headers=auth(tiny_server))
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'mlang_requests_total{model="tiny",code="200"}' in metrics.text
    assert "mlang_request_latency_seconds_bucket" in metrics.text
    spec = httpx.get(f"{tiny_server.url}/openapi.json", headers=auth(tiny_server)).json()
    body = spec["paths"]["/v1/models/{model_name}/predict"]["post"]["requestBody"]
    items = body["content"]["application/json"]["schema"]["properties"]["inputs"]["items"]
    assert items["minItems"] == items["maxItems"] == 8 and items["items"]["type"] == "number"
    assert httpx.get(f"{tiny_server.url}/docs", headers=auth(tiny_server)).status_code == 200


def test_shutdown_finishes_in_flight_requests(tiny_model):
    server = Server(tiny_model, name="slow", port=0, max_latency_ms=600).start()
    results = {}

    def call():
        results["response"] = predict(server, {"inputs": [[1.0] * 8]})

    caller = threading.Thread(target=call)
    caller.start()
    batcher = server.app.state.batcher
    for _ in range(2000):  # until the request waits in the batcher (its 600 ms latency budget)
        if batcher.waiting or batcher._busy:
            break
        threading.Event().wait(0.005)
    server.stop()
    caller.join(10)
    assert results["response"].status_code == 200
    assert len(results["response"].json()["outputs"]) == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz")


class Failing(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_model_failures_and_server_bugs_answer_json_500s_counted_in_metrics():
    with Server(Failing(), name="failing", port=0) as server:
        failed = predict(server, {"inputs": [[1.0, 2.0]]})
        assert failed.status_code == 500 and failed.json() == {"error": "the model failed on this request: boom"}
        assert requests_counted(server, 500) == 1
    mislabeled = make_tiny_classifier()
    mislabeled.labels = ["a"]  # 3 classes: naming the second one fails in the server's own code
    with Server(mislabeled, name="tiny", port=0) as server:
        crashed = predict(server, {"inputs": [[-1.0] * 8, [1.0] * 8, [2.0] * 8]})
        assert crashed.status_code == 500 and crashed.json() == {"error": "internal server error"}
        assert requests_counted(server, 500) == 1 and requests_counted(server, 200) == 0
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def raw_request(server, data: bytes, wait: float) -> tuple[bytes, float]:
    """Send `data` on a fresh connection and read until the server closes it (at most `wait` s):
    what came back, and after how many seconds the connection closed."""
    with socket.create_connection((server.host, server.port)) as sock:
        sock.settimeout(wait)
        start, received = time.monotonic(), b""
        sock.sendall(data)
        while chunk := sock.recv(65536):
            received += chunk
        return received, time.monotonic() - start


def test_slow_headers_are_cut_off_after_the_read_timeout(impatient_server):
    half = b"POST /v1/models/tiny/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"
    received, seconds = raw_request(impatient_server, half, wait=10)
    assert received == b"" and 0.4 < seconds < 5
    received, seconds = raw_request(impatient_server, b"", wait=10)  # a connection that sends nothing
    assert received == b"" and 0.4 < seconds < 5
    # A body the server refused unread must still arrive within the timeout, or the connection closes.
    oversize = b"POST /v1/models/tiny/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n"
    received, seconds = raw_request(impatient_server, oversize, wait=10)
    assert received.startswith(b"HTTP/1.1 413 ") and 0.4 < seconds < 5
    assert_healthy(impatient_server)


def test_slow_body_gets_a_408_after_the_read_timeout(impatient_server):
    counted = requests_counted(impatient_server, 408)
    head = (b"POST /v1/models/tiny/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    received, seconds = raw_request(impatient_server, head + b'{"inputs": [[0', wait=10)
    status, _, body = received.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 408 ") and b"connection: close" in status.lower()
    assert json.loads(body) == {"error": "the request body did not arrive within 0.5 s", "field": "body"}
    assert 0.4 < seconds < 5
    assert requests_counted(impatient_server, 408) == counted + 1
    assert_healthy(impatient_server)


def test_client_hanging_up_mid_body_is_counted_as_400_not_500(impatient_server):
    counted = requests_counted(impatient_server, 400)
    with socket.create_connection((impatient_server.host, impatient_server.port)) as sock:
        sock.sendall(b"POST /v1/models/tiny/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.1)
    for _ in range(100):  # until the server has noticed
        if requests_counted(impatient_server, 400) == counted + 1:
            break
        time.sleep(0.02)
    assert requests_counted(impatient_server, 400) == counted + 1
    assert requests_counted(impatient_server, 500) == 0


def test_m_serve_drains_on_sigterm_and_exits_0(tiny_model, tmp_path):
    from mlang.engine.engine import Engine

    model_file = Engine(device="cpu").load_model(tiny_model).save_model(tmp_path / "tiny.bin")
    m = Path(sys.executable).with_name("m")
    process = subprocess.Popen([str(m), "serve", str(model_file), "--port", "0", "--max-latency-ms", "3000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = re.search(r"http://\S+", process.stdout.readline())[0]  # "serving tiny on http://..."
        # The URL is printed once the socket listens: the first request waits, it is not refused.
        assert httpx.get(f"{url}/healthz", timeout=60).status_code == 200
        results = {}

        def call():
            results["response"] = httpx.post(f"{url}/v1/models/tiny/predict", json={"inputs": [[1.0] * 8]},
                                             timeout=30)

        caller = threading.Thread(target=call)
        caller.start()
        time.sleep(1)  # the request waits in the batcher for 3 s
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, process.stderr.read()
        caller.join(10)
        assert results["response"].status_code == 200
    finally:
        process.kill()
        process.wait()


def test_text_model_serves_strings_and_rejects_other_types(minilm_model):
    texts = ["the food was great", "awful, slow service and cold soup", "fine"]
    with Server(minilm_model, name="minilm", port=0, max_latency_ms=10) as server:
        response = predict(server, {"inputs": texts})
        assert response.status_code == 200
        with torch.inference_mode():
            want = minilm_model(**minilm_model.preprocess(texts))
        assert torch.allclose(torch.tensor(response.json()["outputs"]), want, atol=1e-4)
        bad = predict(server, {"inputs": ["ok", 3]})
        assert bad.status_code == 422
        assert bad.json()["error"].startswith("inputs[1]: expected a string")
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_integer_model_refuses_numbers_beyond_int64(tmp_path):
    from mlang.lang import run_source

    source = "model Ids {\n    input: Tensor[int64, B, 4]\n    Embedding(10, 3)\n    Flatten()\n    Dense(2)\n}\n" \
             "ids = Ids()\n"
    ids = run_source(source, filename=str(tmp_path / "ids.m"))["ids"].eval()
    with Server(ids, name="ids", port=0) as server:
        assert predict(server, {"inputs": [[1, 2, 3, 4]]}).status_code == 200
        response = predict(server, {"inputs": [[1, 2, 3, 2 ** 70]]})
        assert response.status_code == 422
        assert response.json() == {"error": "inputs[0]: a number beyond the range of int64", "field": "inputs[0]"}


def test_image_model_takes_base64_images(tmp_path):
    import base64
    import io

    import numpy as np
    from PIL import Image

    from mlang.lang import run_source

    source = "model Cnn {\n    input: Image[3, 16, 16]\n    Conv2D(4, kernel=3, padding=\"same\")\n" \
             "    Flatten()\n    Dense(2)\n}\ncnn = Cnn()\n"
    cnn = run_source(source, filename=str(tmp_path / "cnn.m"))["cnn"].eval()
    images = [Image.fromarray(p) for p in
              np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)]

    def png(image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return base64.b64encode(buffer.getvalue()).decode()

    with Server(cnn, name="cnn", port=0) as server:
        response = predict(server, {"inputs": [png(i) for i in images]})
        assert response.status_code == 200
        with torch.inference_mode():
            want = cnn(**cnn.preprocess(images))
        assert torch.allclose(torch.tensor(response.json()["outputs"]), want, atol=1e-5)
        for bad, message in (("not base64!", "inputs[0]: not valid base64"),
                             (base64.b64encode(b"plain text").decode(), "not an image")):
            rejected = predict(server, {"inputs": [bad]})
            assert rejected.status_code == 422 and message in rejected.json()["error"]
        assert httpx.get(f"{server.url}/healthz").status_code == 200
