"""`Server`: run the app under uvicorn, in the foreground or on a background thread.

    with Server(model, port=0) as server:      # port 0: any free port
        httpx.post(f"{server.url}/v1/models/{server.name}/predict", json={"inputs": [...]})

`serve(model, port=8000)` blocks until Ctrl-C (or SIGTERM); on shutdown uvicorn stops accepting
connections, in-flight requests finish, then the batcher drains and stops.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

from mlang.lang.diagnostics import MError
from mlang.serve.options import OPTIONS_ENV, ServeOptions

GRACEFUL_SHUTDOWN_SECONDS = 30


class Server:
    def __init__(self, model, *, name: str | None = None, host: str = "127.0.0.1", port: int = 8000,
                 max_batch_size: int = 32, model_batch_size: int | None = None,
                 max_latency_ms: float = 5.0, batching: bool = True, token: str | None = None, max_body_bytes: int = 8 * 1024 * 1024,
                 max_inputs: int = 1024, device: str = "auto", backend: str = "eager",
                 num_threads: int | None = None, log_level: str = "warning"):
        self.model = model
        self.host, self.port, self.log_level = host, port, log_level
        self.options = ServeOptions(name=name, max_batch_size=max_batch_size, model_batch_size=model_batch_size,
                                    max_latency_ms=max_latency_ms,
                                    batching=batching, token=token, max_body_bytes=max_body_bytes,
                                    max_inputs=max_inputs, device=device, backend=backend,
                                    num_threads=num_threads)
        from mlang.serve.app import create_app  # FastAPI is imported only when a server is made

        self.app = create_app(model, self.options)
        self.name = self.app.state.engine.runnable.name if name is None else name
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _uvicorn(self):
        import uvicorn

        config = uvicorn.Config(self.app, log_level=self.log_level, timeout_graceful_shutdown=
                                GRACEFUL_SHUTDOWN_SECONDS, lifespan="on")
        return uvicorn.Server(config)

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise MError(f"cannot listen on {self.host}:{self.port}: {error.strerror}", field="port",
                         hint="choose another --port (0 picks a free one)") from None
        self.port = sock.getsockname()[1]
        return sock

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted."""
        sock = self._socket()
        print(f"serving {self.name} on {self.url}  (POST /v1/models/{self.name}/predict, docs at /docs)")
        self._server = self._uvicorn()
        self._server.run(sockets=[sock])

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
                raise MError(f"the server for {self.name} did not start", field="server")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 5) -> None:
        """Stop accepting requests, let in-flight ones finish, then return."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(model, port: int = 8000, host: str = "127.0.0.1", *, workers: int = 1, name: str | None = None,
          max_batch_size: int = 32, model_batch_size: int | None = None, max_latency_ms: float = 5.0,
          batching: bool = True, token: str | None = None, max_body_bytes: int = 8 * 1024 * 1024, max_inputs: int = 1024,
          device: str = "auto", backend: str = "eager", num_threads: int | None = None,
          log_level: str = "warning") -> None:
    """Serve `model` over HTTP until interrupted (the M builtin `serve(model, port=8000)`).

    With `workers > 1`, `model` must be a registry reference or a model file: each worker
    process loads its own copy.
    """
    options = dict(name=name, max_batch_size=max_batch_size, model_batch_size=model_batch_size,
                   max_latency_ms=max_latency_ms,
                   batching=batching, token=token, max_body_bytes=max_body_bytes, max_inputs=max_inputs,
                   device=device, backend=backend, num_threads=num_threads)
    if workers > 1:
        _serve_workers(model, host, port, workers, log_level, options)
        return
    Server(model, host=host, port=port, log_level=log_level, **options).serve_forever()


def _serve_workers(model, host: str, port: int, workers: int, log_level: str, options: dict) -> None:
    import uvicorn

    from mlang.serve.app import options_env

    if not isinstance(model, (str, Path)):
        raise MError("serving with several workers needs a registry reference or a model file",
                     field="workers", hint="save the model first: save(model, 'name'), then serve 'name'")
    serve_options = replace(ServeOptions(), **options)
    os.environ[OPTIONS_ENV] = options_env(str(model), serve_options)
    print(f"serving {model} on http://{host}:{port} with {workers} workers")
    uvicorn.run("mlang.serve.app:create_app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
