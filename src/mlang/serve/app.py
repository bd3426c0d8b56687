"""The FastAPI application: prediction endpoint, health, metrics, OpenAPI docs.

    POST /v1/models/{name}/predict   {"inputs": [...]}  →  {"model", "outputs", "labels"?}
    GET  /healthz                    liveness and the model being served
    GET  /metrics                    Prometheus text
    GET  /docs                       OpenAPI (Swagger UI); schema at /openapi.json

Under a token every endpoint but /healthz needs it; with `public_metrics_and_docs`, only predictions do.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.requests import ClientDisconnect

from mlang.lang.diagnostics import MError
from mlang.serve.batcher import DynamicBatcher
from mlang.serve.metrics import ServerMetrics
from mlang.serve.options import OPTIONS_ENV, ServeOptions
from mlang.serve.schema import RequestError, example_schema, parse_inputs, parse_json

log = logging.getLogger(__name__)
ERROR_HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 408: {"Connection": "close"}}


def create_app(model, options: ServeOptions | None = None):
    """A FastAPI app serving `model` (an M model, torch module, model file or registry ref)."""
    from mlang.engine.engine import Engine

    options = options or ServeOptions()
    engine = Engine(device=options.device, backend=options.backend,
                    batch_size=options.model_batch_size or options.max_batch_size,
                    num_threads=options.num_threads, progress=False)
    engine.load_model(model, name=options.name, trust_code=options.trust_code)
    runnable = engine.runnable
    name = options.name or runnable.name
    metrics = ServerMetrics(name)
    batcher = DynamicBatcher(engine.predict, max_batch_size=options.max_batch_size,
                             max_latency_ms=options.max_latency_ms, batching=options.batching,
                             on_batch=metrics.record_batch)

    @asynccontextmanager
    async def lifespan(_app):
        engine.backend  # build (and for 'auto', choose) the backend before the first request
        await batcher.start()
        yield
        await batcher.stop()  # uvicorn has already let in-flight requests finish

    app = FastAPI(title=f"M model server: {name}", lifespan=lifespan,
                  description=f"Predictions from the M model `{name}` (input type {runnable.input_type}).")
    app.state.engine, app.state.batcher, app.state.metrics = engine, batcher, metrics

    request_schema = {"type": "object", "required": ["inputs"], "properties": {
        "inputs": {"type": "array", "minItems": 1, "maxItems": options.max_inputs,
                   "items": example_schema(runnable.input_type)}}}

    @app.post(f"/v1/models/{{model_name}}/predict", summary="Predict a batch of examples",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": request_schema}}}})
    async def predict(model_name: str, request: Request):
        start = time.perf_counter()
        try:
            response = await answer(model_name, request)
        except RequestError as error:
            response = _error_response(error)
        except Exception:  # noqa: BLE001 - a bug in the server still answers JSON, and is counted
            log.exception("prediction request failed")
            response = JSONResponse({"error": "internal server error"}, status_code=500)
        metrics.record_request(response.status_code, time.perf_counter() - start)
        return response

    async def answer(model_name: str, request: Request) -> JSONResponse:
        _authorize(request, options.token)
        if model_name != name:
            raise RequestError(404, f"no model named {model_name!r} here; this server serves {name!r}",
                               field="name")
        body = await _read_body(request, options.max_body_bytes, options.read_timeout_s)
        payload = parse_json(body, options.max_json_depth, options.max_number_digits)
        inputs = parse_inputs(payload, runnable.input_type, options.max_inputs)
        try:
            outputs = await batcher.submit(inputs)
        except MError as error:  # the model's own preprocessing rejected an example
            raise RequestError(422, str(error).splitlines()[0], field="inputs") from None
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
        return {"status": "ok", "model": name, "backend": engine.backend.name}

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus_metrics():
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    if options.token is not None and not options.public_metrics_and_docs:
        app.add_middleware(_RequireToken, token=options.token, paths={
            "/metrics", app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url})
    return app


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
    return JSONResponse(error.body(), status_code=error.status, headers=ERROR_HEADERS.get(error.status))


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
    """The app factory uvicorn calls in each worker process (`m serve --workers N`)."""
    config = json.loads(os.environ[OPTIONS_ENV])
    return create_app(config.pop("model"), ServeOptions(**config))


def options_env(model_ref: str, options: ServeOptions) -> str:
    return json.dumps({"model": model_ref, **asdict(options)})
