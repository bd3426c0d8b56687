"""The FastAPI application: prediction endpoint, health, readiness, metrics, OpenAPI docs.

    POST /v1/models/{name}/predict   {"inputs": [...]}  →  {"model", "outputs", "labels"?}
    GET  /healthz                    liveness: the process answers (and what it serves)
    GET  /readyz                     readiness: the model is loaded and warmed, and not draining
    GET  /metrics                    Prometheus text (every worker's counts, under --workers)
    GET  /docs                       OpenAPI (Swagger UI); schema at /openapi.json

Under a token every endpoint but /healthz and /readyz needs it; with `public_metrics_and_docs`,
only predictions do.  A prediction waits in a queue of at most `max_queue` requests (503 with
Retry-After beyond it, and also when the measured work ahead of it outlasts its deadline) and has
`request_timeout_s` from its arrival to its answer (504); one whose client hung up, or whose
deadline passed, is dropped before the model computes it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.requests import ClientDisconnect

from mlang.lang.diagnostics import MError
from mlang.serve.batcher import DeadlineExceeded, DynamicBatcher, QueueFull, Stopped
from mlang.serve.metrics import ServerMetrics
from mlang.serve.options import METRICS_DIR_ENV, OPTIONS_ENV, ServeOptions, threads_per_worker
from mlang.serve.schema import RequestError, example_schema, parse_inputs, parse_json, warmup_example

log = logging.getLogger(__name__)
ERROR_HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 408: {"Connection": "close"}}
CLIENT_GONE = 499  # counted (as nginx logs it) for a client that hung up before its answer
TIMED_WARM_UP_BATCH = 8  # copies of the warm-up example in the timed call (at most max_batch_size)


class Lifecycle:
    """Whether the server is ready for traffic: the model warmed up, and not draining."""

    def __init__(self):
        self.warmed = False
        self.draining = False
        self.problem = "warming up: the model has not run yet"

    @property
    def ready(self) -> bool:
        return self.warmed and not self.draining

    def begin_drain(self) -> None:
        self.draining = True
        self.problem = "draining: the server is shutting down"


class _ClientGone(Exception):
    pass


def create_app(model, options: ServeOptions | None = None):
    """A FastAPI app serving `model` (an M model, torch module, model file or registry ref)."""
    from mlang.engine.engine import Engine

    options = options or ServeOptions()
    engine = Engine(device=options.device, backend=options.backend,
                    batch_size=options.model_batch_size or options.max_batch_size,
                    num_threads=threads_per_worker(options.num_threads), progress=False)
    engine.load_model(model, name=options.name, trust_code=options.trust_code)
    runnable = engine.runnable
    name = options.name or runnable.name
    metrics = ServerMetrics(name, shared_dir=os.environ.get(METRICS_DIR_ENV))
    batcher = DynamicBatcher(engine.predict, max_batch_size=options.max_batch_size,
                             max_latency_ms=options.max_latency_ms, batching=options.batching,
                             max_queue=options.max_queue, on_batch=metrics.record_batch,
                             on_drop=metrics.record_drop)
    metrics.queue_depth = lambda: batcher.waiting
    lifecycle = Lifecycle()

    def warm_up() -> None:
        engine.backend  # build (and for 'auto', choose) the backend
        example = warmup_example(runnable.input_type)
        if example is not None:
            engine.predict([example])  # the first call pays the one-time costs
            # A small batch, timed, seeds the queue's wait estimate: a burst at a server that has
            # answered nothing yet is refused (503) what the model could not reach in time.
            batch = [example] * min(batcher.max_batch_size, TIMED_WARM_UP_BATCH)
            started = time.perf_counter()
            engine.predict(batch)
            batcher.record_timing(len(batch), time.perf_counter() - started)

    async def warm_up_then_ready() -> None:
        try:
            await batcher.run_in_model_thread(warm_up)
        except Exception as error:  # noqa: BLE001 - reported by /readyz, the server stays up
            log.exception("the model failed its warm-up run")
            lifecycle.problem = f"the model failed its warm-up run: {error}"
            return
        lifecycle.warmed = True
        lifecycle.problem = None

    @asynccontextmanager
    async def lifespan(_app):
        await batcher.start()
        warming = asyncio.create_task(warm_up_then_ready())
        restore = _drain_on_signals(lifecycle, options.drain_s)
        yield
        restore()
        lifecycle.begin_drain()
        await warming
        await batcher.stop()  # uvicorn has already let in-flight requests finish

    app = FastAPI(title=f"M model server: {name}", lifespan=lifespan,
                  description=f"Predictions from the M model `{name}` (input type {runnable.input_type}).")
    app.state.engine, app.state.batcher, app.state.metrics = engine, batcher, metrics
    app.state.lifecycle = lifecycle

    request_schema = {"type": "object", "required": ["inputs"], "properties": {
        "inputs": {"type": "array", "minItems": 1, "maxItems": options.max_inputs,
                   "items": example_schema(runnable.input_type)}}}

    @app.post(f"/v1/models/{{model_name}}/predict", summary="Predict a batch of examples",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": request_schema}}}})
    async def predict(model_name: str, request: Request):
        start = time.perf_counter()
        try:
            response = await answer(model_name, request, asyncio.get_running_loop().time())
        except RequestError as error:
            response = _error_response(error)
        except _ClientGone:
            response = Response(status_code=CLIENT_GONE)  # nobody reads it; counted
        except Exception:  # noqa: BLE001 - a bug in the server still answers JSON, and is counted
            log.exception("prediction request failed")
            response = JSONResponse({"error": "internal server error"}, status_code=500)
        metrics.record_request(response.status_code, time.perf_counter() - start)
        return response

    def at_capacity(full: QueueFull | None = None) -> RequestError:
        retry = batcher.retry_after()
        if full is not None and full.reason == "deadline":
            return RequestError(503, f"the server is at capacity: {full.waiting} requests are waiting for the "
                                     f"model, about {full.wait_s:.1f} s of work, more than this request's "
                                     f"{options.request_timeout_s:g} s (request_timeout_s); retry after {retry} s",
                                field="request_timeout_s", headers={"Retry-After": str(retry)})
        return RequestError(503, f"the server is at capacity: {batcher.waiting} requests are waiting for the "
                                 f"model (max_queue {options.max_queue}); retry after {retry} s",
                            field="max_queue", headers={"Retry-After": str(retry)})

    async def answer(model_name: str, request: Request, arrived: float) -> JSONResponse:
        _authorize(request, options.token)
        if model_name != name:
            raise RequestError(404, f"no model named {model_name!r} here; this server serves {name!r}",
                               field="name")
        if batcher.max_queue is not None and batcher.waiting >= batcher.max_queue:
            raise at_capacity()  # before reading and parsing the body: refusing must stay cheap
        body = await _read_body(request, options.max_body_bytes, options.read_timeout_s)
        payload = parse_json(body, options.max_json_depth, options.max_number_digits)
        inputs = parse_inputs(payload, runnable.input_type, options.max_inputs)
        deadline = arrived + options.request_timeout_s
        try:
            pending = batcher.enqueue(inputs, deadline)
        except QueueFull as full:
            raise at_capacity(full) from None
        except Stopped:
            raise RequestError(503, "the server is shutting down", field="server",
                               headers={"Retry-After": "1"}) from None
        try:
            outputs = await _outcome(batcher, pending, request, deadline)
        except DeadlineExceeded:
            raise RequestError(504, f"no answer within the request timeout of {options.request_timeout_s:g} s "
                                    f"(request_timeout_s): the model did not reach this request in time",
                               field="request_timeout_s") from None
        except MError as error:  # the model's own preprocessing rejected an example
            raise RequestError(422, str(error).splitlines()[0], field="inputs") from None
        except _ClientGone:
            raise
        except Exception as error:  # noqa: BLE001 - a model failure is reported, not a crash
            raise RequestError(500, f"the model failed on this request: {error}") from None
        infinite = (~outputs.isfinite()).reshape(len(outputs), -1).any(1).nonzero()
        if len(infinite):
            where = f"inputs[{int(infinite[0])}]"
            raise RequestError(422, f"{where}: the model's output for this example is not finite "
                                    f"(NaN or Infinity), which JSON cannot carry", field=where)
        answered = {"model": name, "outputs": outputs.tolist()}
        if runnable.task == "classification" and runnable.labels and outputs.dim() == 2:
            answered["labels"] = [runnable.labels[i] for i in outputs.argmax(dim=1).tolist()]
        return JSONResponse(answered)  # already plain JSON types: skip FastAPI's per-item encoder

    @app.get("/healthz", summary="Liveness")
    async def healthz():
        import torch

        backend = getattr(engine._backend, "name", engine.backend_name)  # never built here: liveness stays cheap
        return {"status": "ok", "model": name, "backend": backend, "worker": os.getpid(),
                "num_threads": torch.get_num_threads()}

    @app.get("/readyz", summary="Readiness: the model is loaded and warmed, and the server is not draining")
    async def readyz():
        if lifecycle.ready:
            return {"status": "ready", "model": name, "backend": engine.backend.name,
                    "queue": batcher.waiting, "max_queue": options.max_queue}
        return JSONResponse({"status": "not ready", "reason": lifecycle.problem, "model": name},
                            status_code=503, headers={"Retry-After": "1"})

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus_metrics():
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    if options.token is not None and not options.public_metrics_and_docs:
        app.add_middleware(_RequireToken, token=options.token, paths={
            "/metrics", app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url})
    return app


async def _outcome(batcher: DynamicBatcher, pending, request: Request, deadline: float):
    """The request's outputs, once its batch has run; `DeadlineExceeded` if the deadline passes
    first while it still waits (it is dropped), `_ClientGone` if its client hangs up."""
    loop = asyncio.get_running_loop()
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        done, _ = await asyncio.wait({pending.future, gone}, timeout=max(0.0, deadline - loop.time()),
                                     return_when=asyncio.FIRST_COMPLETED)
        if pending.future.done():
            if pending.future.cancelled():
                raise _ClientGone()
            return pending.future.result()
        if gone in done:
            if not batcher.cancel(pending, "disconnected"):
                await asyncio.wait({pending.future})  # the model is on it already: let it finish
            raise _ClientGone()
        if batcher.cancel(pending, "deadline"):
            raise DeadlineExceeded()
        # The deadline passed while the model computes this request's batch: answer when it ends.
        return await pending.future
    finally:
        gone.cancel()


async def _client_gone(request: Request) -> None:
    """Returns when the client closes the connection (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
        await asyncio.sleep(0.05)


def _drain_on_signals(lifecycle: Lifecycle, drain_s: float):
    """On SIGTERM or SIGINT, mark the server draining (/readyz answers 503) and hand the signal to
    uvicorn `drain_s` seconds later, so load balancers stop sending before the port closes; a
    second signal goes to uvicorn at once.  Returns what restores uvicorn's own handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # a background server (Server.start) drains in Server.stop
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(sig, frame):
        handler = previous[sig]
        if not callable(handler):
            return
        if lifecycle.draining or drain_s <= 0:
            lifecycle.begin_drain()
            handler(sig, frame)
            return
        lifecycle.begin_drain()
        log.warning("draining for %g s before shutting down (/readyz answers 503)", drain_s)
        loop.call_soon_threadsafe(loop.call_later, drain_s, handler, sig, frame)

    for sig in previous:
        signal.signal(sig, on_signal)

    def restore():
        for sig, handler in previous.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)
    return restore


class _RequireToken:
    """ASGI middleware: requests for `paths` need the bearer token too (predictions check it themselves)."""

    def __init__(self, app, token: str, paths: set):
        self.app, self.token, self.paths = app, token, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] in self.paths:
            try:
                _authorize(Request(scope), self.token)
            except RequestError as error:
                return await _error_response(error)(scope, receive, send)
        await self.app(scope, receive, send)


def _error_response(error: RequestError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status,
                        headers={**ERROR_HEADERS.get(error.status, {}), **error.headers})


def _authorize(request, token: str | None) -> None:
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
        raise RequestError(401, "missing or wrong bearer token (send 'Authorization: Bearer <token>')",
                           field="authorization")


async def _read_body(request, limit: int, timeout: float) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes, and with 408 once
    it has taken `timeout` seconds to arrive."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes",
                           field="body")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestError(413, f"request body exceeds the limit of {limit} bytes", field="body")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(408, f"the request body did not arrive within {timeout:g} s", field="body") from None
    except ClientDisconnect:
        raise RequestError(400, "the client disconnected before sending the whole body", field="body") from None
    return b"".join(chunks)


def create_app_from_env():
    """The app factory uvicorn calls in each worker process (`m serve --workers N`); the parent
    has already resolved `num_threads` for its number of workers."""
    config = json.loads(os.environ[OPTIONS_ENV])
    return create_app(config.pop("model"), ServeOptions(**config))


def options_env(model_ref: str, options: ServeOptions) -> str:
    return json.dumps({"model": model_ref, **asdict(options)})
