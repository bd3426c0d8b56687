"""A minimal LSP client over a child process's stdio (JSON-RPC with Content-Length framing)."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading


class LspClient:
    def __init__(self, command: list[str] | None = None, env: dict | None = None):
        self.process = subprocess.Popen(command or [sys.executable, "-m", "mlang.lsp.server"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.messages: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict, timeout: float = 60) -> dict:
        """Send a request and return its result (notifications met meanwhile are kept)."""
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        reply = self.wait_for(lambda m: m.get("id") == self.next_id and "method" not in m, timeout)
        assert "error" not in reply, reply["error"]
        return reply["result"]

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        kept = []
        try:
            while True:
                message = self.messages.get(timeout=timeout)
                if predicate(message):
                    return message
                kept.append(message)
        finally:
            for message in kept:
                self.messages.put(message)

    def diagnostics(self, uri: str, timeout: float = 60) -> list[dict]:
        """The next diagnostics published for `uri`."""
        message = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == uri, timeout)
        return message["params"]["diagnostics"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.stdin.close()
        self.process.stdout.close()
