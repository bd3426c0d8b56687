"""`Server`: run the app under uvicorn, in the foreground or on a background thread.

    with Server(model, port=0) as server:      # port 0: any free port
        httpx.post(f"{server.url}/v1/models/{server.name}/predict", json={"inputs": [...]})

`serve(model, port=8000)` blocks until Ctrl-C (or SIGTERM); on shutdown /readyz answers 503 for
`drain_s` seconds while everything else is still served, then uvicorn stops accepting
connections, in-flight requests finish, and the batcher answers what it holds and stops.  After
SIGTERM the process then exits with status 0.  `workers=N` runs N processes on one port; each
gets the machine's cores divided by N as its torch threads unless `num_threads` says otherwise,
and /metrics adds up all of them.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from uvicorn.protocols.http.h11_impl import H11Protocol

from mlang.lang.diagnostics import MError
from mlang.serve.options import METRICS_DIR_ENV, OPTIONS_ENV, ServeOptions, threads_per_worker

GRACEFUL_SHUTDOWN_SECONDS = 30
LISTEN_BACKLOG = 2048  # uvicorn's own default
DEFAULT = ServeOptions  # its class attributes are the defaults of every option


class DeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the deadline it lacks: from when a connection opens, and
    from the end of each response, the client has `read_timeout_s` to send the next request's
    headers (and the rest of any body the response did not wait for), or the connection is closed.
    The body of a request being answered has its own deadline, in the app (408)."""

    def __init__(self, *args, read_timeout_s: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout_s = read_timeout_s
        self.deadline = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._restart_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._restart_deadline()

    def connection_lost(self, exc) -> None:
        self.deadline.cancel()
        super().connection_lost(exc)

    def _restart_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline = self.loop.call_later(self.read_timeout_s, self._expire)

    def _expire(self) -> None:
        if self.cycle is None or self.cycle.response_complete:  # no request is being answered
            self.transport.close()


class Server:
    """`options`: the fields of `ServeOptions` (`name`, `max_batch_size`, `token`, ...)."""

    def __init__(self, model, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning",
                 **options):
        self.model = model
        self.host, self.port, self.log_level = host, port, log_level
        self.options = ServeOptions(**options)
        from mlang.serve.app import create_app  # FastAPI is imported only when a server is made

        self.app = create_app(model, self.options)
        self.name = self.options.name or self.app.state.engine.runnable.name
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _uvicorn(self):
        import uvicorn

        config = uvicorn.Config(self.app, log_level=self.log_level, timeout_graceful_shutdown=
                                GRACEFUL_SHUTDOWN_SECONDS, lifespan="on", http=_protocol(self.options))
        return uvicorn.Server(config)

    def _socket(self) -> socket.socket:
        sock = _listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        return sock

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted; after SIGTERM, exit with status 0."""
        sock = self._socket()
        print(f"serving {self.name} on {self.url}  (POST /v1/models/{self.name}/predict, docs at /docs)")
        self._server = self._uvicorn()
        # uvicorn drains on SIGTERM, then raises it again, which would end the process with -15.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _exit_normally) if main else None
        try:
            self._server.run(sockets=[sock])
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)

    def start(self, timeout: float = 60.0) -> "Server":
        """Serve on a background thread; returns once the server accepts connections."""
        sock = self._socket()
        self._server = self._uvicorn()
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"mlang-serve-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                sock.close()  # it listens: clients would queue on a server that never answers
                raise MError(f"the server for {self.name} did not start", field="server")
            time.sleep(0.02)
        return self

    @property
    def ready(self) -> bool:
        """What /readyz says: the model is warmed up and the server is not draining."""
        return self.app.state.lifecycle.ready

    def wait_until_ready(self, timeout: float = 60.0) -> "Server":
        """Block until the model has run its warm-up (what /readyz waits for)."""
        deadline = time.monotonic() + timeout
        lifecycle = self.app.state.lifecycle
        while not lifecycle.ready:
            if lifecycle.problem and lifecycle.problem.startswith("the model failed"):
                raise MError(f"the server for {self.name} is not ready: {lifecycle.problem}", field="model")
            if time.monotonic() > deadline:
                raise MError(f"the server for {self.name} was not ready within {timeout:g} s: "
                             f"{lifecycle.problem}", field="server")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 5) -> None:
        """Drain (/readyz answers 503 for `drain_s` seconds, all else is served), stop accepting
        requests, let in-flight ones finish, then return."""
        if self._server is not None:
            self.app.state.lifecycle.begin_drain()
            if self.options.drain_s > 0 and self._thread is not None:
                time.sleep(self.options.drain_s)
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(model, port: int = 8000, host: str = "127.0.0.1", *, workers: int = 1,
          name: str | None = DEFAULT.name, max_batch_size: int = DEFAULT.max_batch_size,
          model_batch_size: int | None = DEFAULT.model_batch_size, max_latency_ms: float = DEFAULT.max_latency_ms,
          batching: bool = DEFAULT.batching, max_queue: int = DEFAULT.max_queue,
          request_timeout_s: float = DEFAULT.request_timeout_s, drain_s: float = DEFAULT.drain_s,
          token: str | None = DEFAULT.token,
          public_metrics_and_docs: bool = DEFAULT.public_metrics_and_docs,
          max_body_bytes: int = DEFAULT.max_body_bytes, max_json_depth: int = DEFAULT.max_json_depth,
          max_number_digits: int = DEFAULT.max_number_digits, read_timeout_s: float = DEFAULT.read_timeout_s,
          max_inputs: int = DEFAULT.max_inputs, device: str = DEFAULT.device, backend: str = DEFAULT.backend,
          num_threads: int | None = DEFAULT.num_threads, trust_code=DEFAULT.trust_code,
          log_level: str = "warning") -> None:
    """Serve `model` over HTTP until interrupted (the M builtin `serve(model, port=8000)`).

    With `workers > 1`, `model` must be a registry reference or a model file: each worker
    process loads its own copy, and runs `num_threads` torch threads (default: the cores / workers).
    """
    options = dict(name=name, max_batch_size=max_batch_size, model_batch_size=model_batch_size,
                   max_latency_ms=max_latency_ms, batching=batching, max_queue=max_queue,
                   request_timeout_s=request_timeout_s, drain_s=drain_s, token=token,
                   public_metrics_and_docs=public_metrics_and_docs, max_body_bytes=max_body_bytes,
                   max_json_depth=max_json_depth, max_number_digits=max_number_digits,
                   read_timeout_s=read_timeout_s, max_inputs=max_inputs, device=device, backend=backend,
                   num_threads=num_threads, trust_code=trust_code)
    checked = ServeOptions(**options)
    options["num_threads"] = threads_per_worker(checked.num_threads, workers)
    if workers > 1:
        _serve_workers(model, host, port, workers, log_level, replace(checked, num_threads=options["num_threads"]))
        return
    Server(model, host=host, port=port, log_level=log_level, **options).serve_forever()


def _serve_workers(model, host: str, port: int, workers: int, log_level: str, options: ServeOptions) -> None:
    import uvicorn

    from mlang.serve.app import options_env

    if not isinstance(model, (str, Path)):
        raise MError("serving with several workers needs a registry reference or a model file",
                     field="workers", hint="save the model first: save(model, 'name'), then serve 'name'")
    sock = _listen(host, port)  # bound here, so port 0 is known before the workers start
    port = sock.getsockname()[1]
    metrics_dir = tempfile.mkdtemp(prefix="mlang-serve-metrics-")
    os.environ[OPTIONS_ENV] = options_env(str(model), options)
    os.environ[METRICS_DIR_ENV] = metrics_dir  # every worker writes its counts there; a scrape adds them up
    print(f"serving {model} on http://{host}:{port} with {workers} workers "
          f"({options.num_threads} threads each)", flush=True)
    try:
        uvicorn.run("mlang.serve.app:create_app_from_env", factory=True, fd=sock.fileno(), workers=workers,
                    log_level=log_level, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                    http=_protocol(options))
    finally:
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.environ.pop(METRICS_DIR_ENV, None)


def _listen(host: str, port: int) -> socket.socket:
    """Bind and listen at once, so a client that reads the printed URL is queued by the kernel
    while the model warms up, not refused."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise MError(f"cannot listen on {host}:{port}: {error.strerror}", field="port",
                     hint="choose another --port (0 picks a free one)") from None
    sock.listen(LISTEN_BACKLOG)
    return sock


def _protocol(options: ServeOptions):
    return partial(DeadlineProtocol, read_timeout_s=options.read_timeout_s)


def _exit_normally(_signal, _frame):
    raise SystemExit(0)
