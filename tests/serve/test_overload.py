"""A server under more load than it can take: bounded queue (503), deadlines (504), clients that
hang up, readiness, options — all against a real uvicorn on 127.0.0.1, with a model that counts
the examples it computes."""
import asyncio
import json
import re
import socket
import threading
import time
from collections import Counter

import httpx
import pytest
import torch

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.serve import Server, ServeOptions
from mlang.serve.options import available_cores, threads_per_worker

ROW = [0.5] * 8


class Counting(torch.nn.Module):
    """The tiny classifier behind a model call that takes `delay` seconds, counting every example
    the model computes (the server's warm-up included)."""

    input_type = T.TensorType("float32", (T.Sym("B"), 8))
    task = "classification"

    def __init__(self, inner, delay: float, first_delay: float | None = None, first_calls: int = 1):
        super().__init__()
        self.inner, self.delay, self.first_delay = inner, delay, first_delay
        self.first_calls = first_calls  # how many calls take `first_delay`
        self.labels = inner.labels
        self.examples = self.calls = 0
        self.lock = threading.Lock()

    def forward(self, x):
        with self.lock:
            first = self.calls < self.first_calls
            self.calls += 1
        time.sleep(self.first_delay if first and self.first_delay is not None else self.delay)
        with self.lock:
            self.examples += len(x)
        return self.inner(x)


def metric(server, name: str, **labels) -> int:
    shown = ",".join([f'model="{server.name}"', *(f'{k}="{v}"' for k, v in labels.items())])
    found = re.search(rf"^{name}{{{re.escape(shown)}}} (\d+)$", httpx.get(f"{server.url}/metrics").text,
                      re.MULTILINE)
    return int(found[1]) if found else 0


async def burst(url: str, count: int, timeout: float) -> list[tuple]:
    """`count` concurrent one-example requests: (status or the exception's name, seconds, headers, body)."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        async def one():
            start = time.monotonic()
            try:
                response = await client.post(url, json={"inputs": [ROW]})
            except httpx.HTTPError as error:
                return type(error).__name__, time.monotonic() - start, {}, None
            return response.status_code, time.monotonic() - start, response.headers, response.json()
        return await asyncio.gather(*(one() for _ in range(count)))


def test_a_burst_gets_an_answer_for_every_request_and_the_model_computes_only_what_is_answered(tiny_model):
    """200 requests at once against a queue of 16 and a model of 25 examples/s: every request is
    answered — 200, 503 (queue full, with Retry-After) or 504 (deadline) — well within its timeout,
    and the model computed exactly the examples answered 200: nothing for a refused or expired one."""
    model = Counting(tiny_model, delay=0.16)
    timeout_s, clients_wait = 1.0, 15.0
    with Server(model, name="tiny", port=0, max_batch_size=4, max_latency_ms=2, max_queue=16,
                request_timeout_s=timeout_s) as server:
        server.wait_until_ready()
        computed_before = model.examples  # the warm-up's examples
        started = time.monotonic()
        results = asyncio.run(burst(f"{server.url}/v1/models/tiny/predict", 200, clients_wait))
        took = time.monotonic() - started
        statuses = Counter(status for status, *_ in results)
        computed = model.examples - computed_before
        counted = {code: metric(server, "mlang_requests_total", code=code) for code in (200, 503, 504)}
        dropped = metric(server, "mlang_dropped_total", reason="deadline")
    slowest = max(seconds for _, seconds, *_ in results)
    print(f"\nburst of 200: {dict(statuses)}; model computed {computed} examples; slowest answer "
          f"{slowest:.2f} s; burst over in {took:.2f} s")
    assert set(statuses) <= {200, 503, 504}, statuses  # no client time-out, no connection error
    assert statuses[503] > 0 and statuses[200] > 0
    # The model computed exactly the examples that were answered 200 (one per request).
    assert computed == statuses[200]
    # Nothing hung: a request is answered by its deadline, or when the batch it is in ends (the
    # client's own clock also counts its wait for a connection among 200).  Unbounded, the queue
    # would have taken 200 / 25 = 8 s to drain.
    assert slowest < timeout_s + 3.0
    for status, _, headers, body in results:
        if status == 503:  # the queue was full, or the work ahead outlasted the deadline
            assert int(headers["retry-after"]) >= 1
            if body["field"] == "max_queue":
                assert "max_queue 16" in body["error"]
            else:
                assert body["field"] == "request_timeout_s", body
                assert "more than this request's 1 s" in body["error"]
        if status == 504:
            assert body["field"] == "request_timeout_s"
    assert counted == {code: statuses[code] for code in (200, 503, 504)}
    assert dropped == statuses[504]


def test_a_request_the_model_would_reach_after_its_deadline_is_refused_at_once(tiny_model):
    """The warm-up timed the model (0.2 s an example, one per call); a burst of 30 against a 1 s
    timeout and a queue with room for all: the requests whose wait the server estimates past their
    deadline are refused on arrival (503, Retry-After, naming request_timeout_s), never computed,
    instead of waiting out the timeout for a 504."""
    model = Counting(tiny_model, delay=0.2)
    with Server(model, name="tiny", port=0, max_batch_size=1, max_queue=1000,
                request_timeout_s=1.0) as server:
        server.wait_until_ready()
        url = f"{server.url}/v1/models/tiny/predict"
        before = model.examples
        results = asyncio.run(burst(url, 30, 15.0))
        time.sleep(0.5)
        statuses = Counter(status for status, *_ in results)
        assert set(statuses) <= {200, 503, 504} and statuses[503] >= 10, statuses
        assert model.examples - before == statuses[200]  # nothing refused was computed
        for status, _, headers, body in results:
            if status == 503:
                assert int(headers["retry-after"]) >= 1 and body["field"] == "request_timeout_s"
                assert "s of work, more than this request's 1 s (request_timeout_s)" in body["error"]
        assert metric(server, "mlang_requests_total", code=503) == statuses[503]


def test_a_request_past_its_deadline_is_answered_504_and_never_computed(tiny_model):
    """One example per model call, 0.3 s each, deadline 0.5 s, five requests at once: the first two
    start in time (200), the others are dropped at their deadline, before the model sees them.
    The warm-up's two calls are instant, so the server's wait estimate is wrong and admits all five:
    only the deadline catches the late ones."""
    model = Counting(tiny_model, delay=0.3, first_delay=0.0, first_calls=2)
    with Server(model, name="tiny", port=0, max_batch_size=1, request_timeout_s=0.5) as server:
        server.wait_until_ready()
        before = model.examples
        results = asyncio.run(burst(f"{server.url}/v1/models/tiny/predict", 5, 10.0))
        time.sleep(0.5)  # let the last batch end, if one were (wrongly) running
        statuses = Counter(status for status, *_ in results)
        assert statuses[504] >= 2 and statuses[200] >= 1 and set(statuses) == {200, 504}, statuses
        assert model.examples - before == statuses[200]
        for status, seconds, _, body in results:
            if status == 504:
                assert seconds < 0.5 + 0.5
                assert body == {"error": "no answer within the request timeout of 0.5 s (request_timeout_s): "
                                         "the model did not reach this request in time",
                                "field": "request_timeout_s"}
        assert metric(server, "mlang_dropped_total", reason="deadline") == statuses[504]


def test_a_client_that_hangs_up_while_queued_is_dropped_before_the_model(tiny_model):
    model = Counting(tiny_model, delay=0.6)
    with Server(model, name="tiny", port=0, max_batch_size=1) as server:
        server.wait_until_ready()
        before = model.examples
        url = f"{server.url}/v1/models/tiny/predict"
        first = threading.Thread(target=httpx.post, args=(url,), kwargs={"json": {"inputs": [ROW]}, "timeout": 10})
        first.start()
        time.sleep(0.2)  # the first request is in the model now
        body = json.dumps({"inputs": [ROW, ROW, ROW]}).encode()
        with socket.create_connection((server.host, server.port)) as sock:
            sock.sendall(b"POST /v1/models/tiny/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            time.sleep(0.1)  # queued behind the first; then the client goes away
        first.join(10)
        for _ in range(100):
            if metric(server, "mlang_dropped_total", reason="disconnected") == 1:
                break
            time.sleep(0.05)
        time.sleep(0.7)  # long enough for a (wrong) model call on the dropped request to end
        assert metric(server, "mlang_dropped_total", reason="disconnected") == 1
        assert metric(server, "mlang_requests_total", code=499) == 1
        assert model.examples - before == 1  # the first request's example only, not the dropped three


def test_readyz_waits_for_the_warm_up_and_answers_503_while_draining(tiny_model):
    model = Counting(tiny_model, delay=0.0, first_delay=1.5)  # the warm-up call takes 1.5 s
    server = Server(model, name="tiny", port=0, drain_s=1.5).start()
    try:
        warming = httpx.get(f"{server.url}/readyz")
        assert warming.status_code == 503 and warming.json()["reason"].startswith("warming up")
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # alive all the same
        server.wait_until_ready(10)
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert model.examples == 1 + 8  # the warm-up: one example, then a timed batch of 8
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        time.sleep(0.3)
        draining = httpx.get(f"{server.url}/readyz")
        assert draining.status_code == 503 and draining.json()["reason"].startswith("draining")
        # While draining, everything else is still served.
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        answer = httpx.post(f"{server.url}/v1/models/tiny/predict", json={"inputs": [ROW]})
        assert answer.status_code == 200
        stopping.join(40)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz")
    finally:
        server.stop()


class FailingWarmUp(torch.nn.Module):
    input_type = T.TensorType("float32", (T.Sym("B"), 2))

    def forward(self, x):
        raise RuntimeError("no weights")


def test_a_model_that_fails_its_warm_up_is_alive_but_never_ready():
    with Server(FailingWarmUp(), name="broken", port=0) as server:
        with pytest.raises(MError, match="not ready: the model failed its warm-up run: no weights"):
            server.wait_until_ready(10)
        readyz = httpx.get(f"{server.url}/readyz")
        assert readyz.status_code == 503
        assert readyz.json()["reason"] == "the model failed its warm-up run: no weights"
        assert httpx.get(f"{server.url}/healthz").status_code == 200


@pytest.mark.parametrize("field, value", [("max_queue", 0), ("request_timeout_s", 0), ("drain_s", -1),
                                          ("num_threads", 0), ("max_queue", 2.5), ("request_timeout_s", "5")])
def test_bad_overload_options_are_errors_naming_the_field_with_a_hint(field, value):
    with pytest.raises(MError) as raised:
        ServeOptions(**{field: value})
    assert raised.value.field == field
    assert raised.value.diagnostics[0].hint


def test_the_default_threads_divide_the_cores_among_the_workers():
    cores = available_cores()
    for workers in (1, 2, cores):
        threads = threads_per_worker(None, workers)
        assert threads == max(1, cores // workers) and workers * threads <= cores
    assert threads_per_worker(1, 1) == 1  # given explicitly, it is used as is
    with pytest.warns(UserWarning, match="threads on"):
        threads_per_worker(cores, 2)  # 2 × cores threads: more than the cores
