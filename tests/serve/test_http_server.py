"""The HTTP server, tested through a real uvicorn on a loopback port."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import torch

from mlang.serve import Server


def auth(server) -> dict:
    """The header a client of `server` sends: its bearer token, when it has one."""
    token = server.options.token
    return {"Authorization": f"Bearer {token}"} if token else {}


def predict(server, body, headers=None):
    return httpx.post(f"{server.url}/v1/models/{server.name}/predict", json=body,
                      headers=auth(server) if headers is None else headers, timeout=30)


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
    metrics = httpx.get(f"{tiny_server.url}/metrics").text
    batches = [line for line in metrics.splitlines() if line.startswith("mlang_batch_size_bucket")]
    singles = int(batches[0].rsplit(" ", 1)[1])   # batches of ≤ 1 example
    count = int(next(l for l in metrics.splitlines() if l.startswith("mlang_batch_size_count")).split()[-1])
    assert count > singles, "concurrent requests were never batched together"


@pytest.mark.parametrize("content, status, message", [
    (b'{"inputs": [[1, 2', 422, "malformed JSON at line 1"),
    (b'[1, 2, 3]', 422, 'JSON object with an "inputs" list'),
    (b'{"inputs": []}', 422, "non-empty list"),
    (json.dumps({"inputs": [[0.0] * 8, [0.0] * 7]}).encode(), 422, "inputs[1]: expected shape [8]"),
    (json.dumps({"inputs": [[[0.0] * 8]]}).encode(), 422, "got shape [1, 8]"),
    (json.dumps({"inputs": [[[0.0, 1.0], [2.0]]]}).encode(), 422, "inputs[0]: expected a rectangular"),
    (json.dumps({"inputs": ["eight numbers"]}).encode(), 422, "inputs[0]: expected a nested list"),
    (json.dumps({"inputs": [[0.0] * 8] * 600}).encode(), 413, "exceeds the limit of 20000 bytes"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_stays_healthy(tiny_server, content, status, message):
    response = httpx.post(f"{tiny_server.url}/v1/models/tiny/predict", content=content,
                          headers={**auth(tiny_server), "Content-Type": "application/json"}, timeout=30)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert_healthy(tiny_server)


def test_chunked_oversize_body_is_refused_while_streaming(tiny_server):
    chunks = (b" " * 8_000 for _ in range(5))  # no Content-Length: the limit applies as it arrives
    response = httpx.post(f"{tiny_server.url}/v1/models/tiny/predict", content=chunks,
                          headers=auth(tiny_server))
    assert response.status_code == 413
    assert_healthy(tiny_server)


def test_missing_or_wrong_token_is_401(tiny_server):
    token = tiny_server.options.token
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        response = predict(tiny_server, {"inputs": [[0.0] * 8]}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in response.json()["error"]
    assert_healthy(tiny_server)


def test_unknown_model_name_is_404(tiny_server):
    response = httpx.post(f"{tiny_server.url}/v1/models/other/predict", json={"inputs": [[0.0] * 8]},
                          headers=auth(tiny_server))
    assert response.status_code == 404
    assert "serves 'tiny'" in response.json()["error"]


def test_metrics_health_and_openapi(tiny_server):
    assert_healthy(tiny_server)
    metrics = httpx.get(f"{tiny_server.url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'mlang_requests_total{model="tiny",code="200"}' in metrics.text
    assert "mlang_request_latency_seconds_bucket" in metrics.text
    spec = httpx.get(f"{tiny_server.url}/openapi.json").json()
    body = spec["paths"]["/v1/models/{model_name}/predict"]["post"]["requestBody"]
    items = body["content"]["application/json"]["schema"]["properties"]["inputs"]["items"]
    assert items["minItems"] == items["maxItems"] == 8 and items["items"]["type"] == "number"
    assert httpx.get(f"{tiny_server.url}/docs").status_code == 200


def test_shutdown_finishes_in_flight_requests(tiny_model):
    server = Server(tiny_model, name="slow", port=0, max_latency_ms=600).start()
    results = {}

    def call():
        results["response"] = predict(server, {"inputs": [[1.0] * 8]})

    caller = threading.Thread(target=call)
    caller.start()
    batcher = server.app.state.batcher
    for _ in range(2000):  # until the request waits in the batcher (its 600 ms latency budget)
        if batcher._queue.qsize() or batcher._busy:
            break
        threading.Event().wait(0.005)
    server.stop()
    caller.join(10)
    assert results["response"].status_code == 200
    assert len(results["response"].json()["outputs"]) == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz")


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
