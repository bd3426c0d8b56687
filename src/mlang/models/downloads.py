"""http(s) downloads into M's cache, for `loadModelFromUrl` and `m.download` (docs/pretrained.md).

What a download guarantees:

- a file enters the cache (`$M_HOME/cache/downloads/NAME`) only once it is complete: as long as
  the server said it is (`Content-Length`, the total of a `Content-Range`, or the end of a chunked
  body) and, when `sha256` is given, with that checksum.  A server that gives no length at all is
  accepted only with `sha256`.  Anything less stays `NAME.part`, never `NAME`;
- an interrupted download keeps `NAME.part` (and `NAME.part.json`: the server's total, `ETag` and
  `Last-Modified`), and the next call asks for the rest with `Range: bytes=N-` (`If-Range` with a
  strong ETag).  A `206` is appended only when its `Content-Range` starts at N and still describes
  the same file; anything else (a `200`, another start, another total or validator) restarts from
  zero;
- at most `max_bytes` are accepted (default 4 GiB, or `$M_DOWNLOAD_MAX_BYTES`): a larger
  `Content-Length` is refused before any byte is read, a body that runs past it is cut off, and
  its partial file deleted;
- one call lasts at most `deadline_s` (default one hour), connection and every request included,
  and waits at most `read_timeout_s` (default 30 s) for any single read;
- every failure is an `MError` with `field="url"` that names the URL (`field="sha256"` for a
  checksum mismatch, which deletes the file; `field="max_bytes"` and so on for a bad argument).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import threading
import time
import urllib.parse
from pathlib import Path

from mlang.lang.diagnostics import MError

DEFAULT_MAX_BYTES = 4 << 30
DEFAULT_DEADLINE_S = 3600.0
DEFAULT_READ_TIMEOUT_S = 30.0
MAX_BYTES_ENV = "M_DOWNLOAD_MAX_BYTES"

_CHUNK = 1 << 16
# Part of every cache name: cache entries written before lengths were verified (which could be
# cut short) are never reused.
_CACHE_VERSION = "v2"
_KEPT = "the partial download is kept and resumes on the next try"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.I)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.I)


def download(url: str, sha256: str | None = None, *, cache_dir: str | None = None,
             progress: bool = True, max_bytes: int | None = None, deadline_s: float | None = None,
             read_timeout_s: float | None = None) -> Path:
    """Fetch `url` into the download cache (resuming a partial file) and return its path.

    `max_bytes` caps the file's size (default `$M_DOWNLOAD_MAX_BYTES`, else 4 GiB); `deadline_s`
    bounds the whole call (default 3600) and `read_timeout_s` each read (default 30).
    """
    expected = _normalise_sha256(sha256)
    limit = _max_bytes(max_bytes)
    clock = _Deadline(url, _seconds(deadline_s, DEFAULT_DEADLINE_S, "deadline_s"),
                      _seconds(read_timeout_s, DEFAULT_READ_TIMEOUT_S, "read_timeout_s"))
    if cache_dir:
        directory = Path(cache_dir)
    else:
        from mlang.models.url import download_cache_dir

        directory = download_cache_dir()
    target = directory / _cache_name(url)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            if expected is None or _file_sha256(target) == expected:
                return target
            target.unlink()
    except OSError as error:
        raise _local_error(url, directory, error) from None
    part = _Partial(target)
    with clock:
        _Transfer(url, part, limit, clock, progress, checked=expected is not None).run()
    if expected is not None:
        actual = _file_sha256(part.path)
        if actual != expected:
            part.discard()
            raise MError(f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; "
                         "the downloaded file was deleted", field="sha256",
                         hint="check the URL and the sha256 you passed")
    try:
        part.path.replace(target)
    except OSError as error:
        raise _local_error(url, target, error) from None
    part.forget()
    return target


def _cache_name(url: str) -> str:
    digest = hashlib.sha256(f"{_CACHE_VERSION}\0{url}".encode()).hexdigest()[:16]
    base = Path(urllib.parse.urlparse(url).path).name or "download"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:80]
    return f"{digest}-{safe}"


# ----- limits ----------------------------------------------------------------------------------

def _max_bytes(value) -> int:
    source = "max_bytes"
    if value is None:
        raw = os.environ.get(MAX_BYTES_ENV, "").strip()
        if not raw:
            return DEFAULT_MAX_BYTES
        source, value = MAX_BYTES_ENV, int(raw) if re.fullmatch(r"\d+", raw) else raw
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MError(f"{source} must be a positive whole number of bytes, got {value!r}",
                     field="max_bytes", hint=f"for example max_bytes={DEFAULT_MAX_BYTES} (4 GiB)")
    return value


def _seconds(value, default: float, name: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            value > 0 and math.isfinite(value)):
        raise MError(f"{name} must be a positive number of seconds, got {value!r}", field=name)
    return float(value)


class _Deadline:
    """One call's time budget: socket timeouts that never pass it, and a watchdog that shuts the
    connection down when it runs out (a read that trickles in byte by byte would otherwise last)."""

    def __init__(self, url: str, total_s: float, read_s: float):
        self.url, self.total_s, self.read_s = url, total_s, read_s
        self.end = time.monotonic() + total_s
        self.sockets: list = []  # the connections opened so far; the last one is live
        self.timer: threading.Timer | None = None

    def __enter__(self):
        self.timer = threading.Timer(self.total_s, self._shut_down)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False

    def _shut_down(self) -> None:
        import socket

        for sock in self.sockets[-1:]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0

    def timeout(self) -> float:
        """The timeout for the next socket operation: the read timeout, or what is left."""
        return min(self.read_s, max(self.left(), 0.01))

    def arm(self) -> None:
        timeout = self.timeout()
        for sock in self.sockets[-1:]:
            try:
                sock.settimeout(timeout)
            except OSError:
                pass

    def error(self, progress: str = "", kept: bool = False) -> MError:
        return MError(f"downloading {self.url} did not finish within deadline_s={self.total_s:g} s"
                      f"{progress}" + (f"; {_KEPT}" if kept else ""), field="url",
                      hint="pass a larger deadline_s= for a slow connection, or call again to "
                           "resume")

    def stalled(self, progress: str = "", kept: bool = False) -> MError:
        if self.left() <= 0.05:
            return self.error(progress, kept)
        return MError(f"downloading {self.url} stalled: no data for {self.read_s:g} s{progress}"
                      + (f"; {_KEPT}" if kept else ""), field="url",
                      hint="the server stopped sending; call again to resume")


@functools.lru_cache(maxsize=None)
def _handler_classes():
    """urllib's http and https handlers, recording each connection's socket in `sockets`."""
    import urllib.request

    def recording(http_class, sockets):
        class Recording(http_class):
            def connect(self):
                super().connect()
                sockets.append(self.sock)
        return Recording

    class Handler:
        def __init__(self, sockets):
            super().__init__()
            self.sockets = sockets

        def do_open(self, http_class, req, **http_conn_args):
            return super().do_open(recording(http_class, self.sockets), req, **http_conn_args)

    return (type("HTTPHandler", (Handler, urllib.request.HTTPHandler), {}),
            type("HTTPSHandler", (Handler, urllib.request.HTTPSHandler), {}))


# ----- one download: requests, resume, streaming -----------------------------------------------

class _Partial:
    """`NAME.part` (the bytes so far) and `NAME.part.json` (what the server said about them)."""

    def __init__(self, target: Path):
        self.path = target.with_name(target.name + ".part")
        self.meta_path = target.with_name(target.name + ".part.json")

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def meta(self) -> dict:
        try:
            data = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def remember(self, headers, total: int | None) -> None:
        meta = {"total": total, "etag": _strong_etag(headers),
                "last_modified": headers.get("Last-Modified")}
        try:
            self.meta_path.write_text(json.dumps(meta))
        except OSError:
            pass  # only a resume's extra check is lost

    def discard(self) -> None:
        for path in (self.path, self.meta_path):
            path.unlink(missing_ok=True)

    def forget(self) -> None:
        self.meta_path.unlink(missing_ok=True)


class _Restart(Exception):
    """The server's answer to a Range request cannot be appended: fetch the whole file again."""


class _Transfer:
    def __init__(self, url: str, part: _Partial, limit: int, clock: _Deadline, progress: bool,
                 checked: bool):
        self.url, self.part, self.limit, self.clock = url, part, limit, clock
        self.progress, self.checked = progress, checked
        self.size = 0
        self.total: int | None = None

    def run(self) -> None:
        restarted = False
        while True:
            offset = self.part.size()
            if offset > self.limit:
                self.part.discard()
                offset = 0
            self.size, self.total = offset, None
            try:
                if self._request(offset):
                    return
            except _Restart:
                if restarted:
                    raise self._error("the server answered the resume request wrongly, and then "
                                      "the request for the whole file too") from None
                restarted = True
                self.part.discard()

    def _request(self, offset: int) -> bool:
        """One request from `offset`; true when `NAME.part` is complete."""
        meta = self.part.meta() if offset else {}
        response = self._open(offset, meta)
        try:
            if self.clock.expired():  # the watchdog cut the answer's headers short
                raise self.clock.error(self._so_far(), kept=self._kept())
            status = response.getcode()
            headers = response.headers
            if status == 416 and offset:
                match = _UNSATISFIED_RANGE.fullmatch((headers.get("Content-Range") or "").strip())
                if match and int(match.group(1)) == offset and offset <= self.limit:
                    return True  # `NAME.part` already holds the whole file
                raise _Restart
            if status == 206 and offset:
                start, stop, total = self._resumable(response, offset, meta)
                self.total = total
                self._check_limit(total)
                if not meta:
                    self.part.remember(headers, total)
                self._stream(response, append=True, stop=stop)
                if self.size < stop:
                    raise self._short()
                return stop == total  # else the server sent a shorter range: ask for the rest
            if status != 200:
                raise self._error(f"unexpected HTTP status {status} {response.reason}")
            if offset:
                self.part.discard()  # a whole file in answer to a Range request: start again
            chunked = bool(getattr(response, "chunked", False))
            self.size, self.total = 0, None if chunked else _content_length(self.url, headers)
            if self.total is None and not chunked and not self.checked:
                raise self._error("the server sent no Content-Length, so a complete file cannot "
                                  "be told from a cut one",
                                  hint="pass sha256= to verify the file instead")
            self._check_limit(self.total)
            self.part.remember(headers, self.total)
            self._stream(response, append=False, stop=self.total)
            if self.total is not None and self.size < self.total:
                raise self._short()
            return True
        except (OSError, ValueError, _http_exceptions()) as error:
            raise self._failure(error) from None
        finally:
            response.close()

    def _open(self, offset: int, meta: dict):
        import urllib.error
        import urllib.request

        headers = {"User-Agent": "mlang", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if meta.get("etag"):
                headers["If-Range"] = meta["etag"]
        handlers = (cls(self.clock.sockets) for cls in _handler_classes())
        opener = urllib.request.build_opener(*handlers)
        self._arm()
        try:
            return opener.open(urllib.request.Request(self.url, headers=headers),
                               timeout=self.clock.timeout())
        except urllib.error.HTTPError as error:
            if error.code == 416 and offset:
                return error
            error.close()
            raise self._failure(error) from None
        except (OSError, ValueError, _http_exceptions()) as error:
            raise self._failure(error) from None

    def _resumable(self, response, offset: int, meta: dict) -> tuple[int, int, int]:
        """(start, stop, total) of a 206 that continues `NAME.part`; else `_Restart`."""
        headers = response.headers
        match = _CONTENT_RANGE.fullmatch((headers.get("Content-Range") or "").strip())
        if not match or match.group(3) == "*":
            raise _Restart
        start, end, total = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if start != offset or end < start or end >= total:
            raise _Restart
        if not getattr(response, "chunked", False):
            length = _content_length(self.url, headers)
            if length is not None and length != end - start + 1:
                raise _Restart
        for name, now in (("total", total), ("etag", _strong_etag(headers)),
                          ("last_modified", headers.get("Last-Modified"))):
            if meta.get(name) is not None and now is not None and meta[name] != now:
                raise _Restart  # the file changed since the partial download began
        return start, end + 1, total

    def _check_limit(self, total: int | None) -> None:
        if total is not None and total > self.limit:
            self.part.discard()
            raise self._too_large(f"the file has {total} bytes")

    def _stream(self, response, *, append: bool, stop: int | None) -> None:
        try:
            out = open(self.part.path, "ab" if append else "wb")
        except OSError as error:
            raise _local_error(self.url, self.part.path, error) from None
        with out, _progress(self.url, self.total, self.size, self.progress) as advance:
            while stop is None or self.size < stop:
                want = min(_CHUNK, (stop if stop is not None else self.limit + 1) - self.size)
                self._arm()
                chunk = response.read1(want)
                if not chunk:
                    if self.clock.expired():
                        raise self.clock.error(self._so_far(), kept=self._kept())
                    break
                try:
                    out.write(chunk)
                except OSError as error:
                    raise _local_error(self.url, self.part.path, error) from None
                self.size += len(chunk)
                advance(len(chunk))
                if self.size > self.limit:
                    out.close()
                    self.part.discard()
                    raise self._too_large(f"the server sent more than {self.limit} bytes")

    def _arm(self) -> None:
        if self.clock.expired():
            raise self.clock.error(self._so_far(), kept=self._kept())
        self.clock.arm()

    # ----- errors, all naming the URL

    def _so_far(self) -> str:
        if self.total is not None:
            return f" after {self.size} of {self.total} bytes"
        return f" after {self.size} bytes" if self.size else ""

    def _kept(self) -> bool:
        return self.size > 0 or self.part.size() > 0

    def _error(self, what: str, hint: str | None = None) -> MError:
        kept = self._kept()
        return MError(f"downloading {self.url} failed: {what}" + (f"; {_KEPT}" if kept else ""),
                      field="url", hint=hint or "the server is misbehaving; try again later")

    def _short(self) -> MError:
        return MError(f"downloading {self.url} failed: the server closed the connection after "
                      f"{self.size} of {self.total} bytes; {_KEPT}", field="url",
                      hint="call again to fetch the rest")

    def _too_large(self, what: str) -> MError:
        return MError(f"downloading {self.url} stopped: {what}, more than max_bytes={self.limit}; "
                      "nothing was kept", field="url",
                      hint=f"pass a larger max_bytes= (or set {MAX_BYTES_ENV}) for a bigger file")

    def _failure(self, error: BaseException) -> MError:
        """An MError naming the URL for whatever urllib, http.client or the socket raised."""
        import http.client
        import urllib.error

        kept = self._kept()
        progress = self._so_far()
        reason = error.reason if type(error) is urllib.error.URLError else error
        if isinstance(reason, TimeoutError) or self.clock.expired():
            return self.clock.stalled(progress, kept)
        if isinstance(error, urllib.error.HTTPError):
            what = f"HTTP {error.code} {error.reason}"
            hint = ("check the address" if error.code in (401, 403, 404, 410)
                    else "the server refused; try again later")
        elif isinstance(reason, http.client.IncompleteRead):
            what = f"the server closed the connection{progress}"
            hint = "call again to fetch the rest"
        elif isinstance(reason, http.client.RemoteDisconnected):
            what, hint = "the server closed the connection without answering", "try again later"
        elif isinstance(reason, ConnectionResetError):
            what, hint = f"the connection was reset{progress}", "call again to resume"
        elif isinstance(reason, http.client.HTTPException):
            what = f"a malformed HTTP answer ({type(reason).__name__}: {reason})"
            hint = "the server is misbehaving; try again later"
        elif isinstance(reason, OSError):
            what = f"{reason.strerror or reason}{progress}"
            hint = "check the address and the network connection"
        else:
            what, hint = f"{reason}", "check the address"
        return MError(f"downloading {self.url} failed: {what}" + (f"; {_KEPT}" if kept else ""),
                      field="url", hint=hint)


def _http_exceptions():
    import http.client

    return http.client.HTTPException


def _strong_etag(headers) -> str | None:
    """The ETag, when it is strong enough for If-Range (a weak `W/"..."` one is not)."""
    etag = headers.get("ETag")
    return etag if etag and not etag.startswith("W/") else None


def _content_length(url: str, headers) -> int | None:
    values = [value.strip() for header in headers.get_all("Content-Length") or []
              for value in header.split(",")]
    if not values:
        return None
    if len(set(values)) != 1 or not re.fullmatch(r"\d{1,19}", values[0]):
        raise MError(f"downloading {url} failed: the server sent an invalid Content-Length "
                     f"{', '.join(values)!r}", field="url",
                     hint="the server is misbehaving; try again later or tell whoever runs it")
    return int(values[0])


def _local_error(url: str, path: Path, error: OSError) -> MError:
    return MError(f"downloading {url} failed: cannot write {path}: {error.strerror or error}",
                  field="url", hint="free some disk space or set M_HOME to a writable directory")


class _progress:
    """A Rich progress bar for one download (silent when `enabled` is false)."""

    def __init__(self, url: str, total: int | None, done: int, enabled: bool):
        self.url, self.total, self.done, self.enabled = url, total, done, enabled
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TransferSpeedColumn)

        self.bar = Progress(TextColumn("[bold]download[/] {task.description}"), BarColumn(),
                            DownloadColumn(), TransferSpeedColumn(), transient=True)
        self.bar.start()
        name = Path(urllib.parse.urlparse(self.url).path).name or self.url
        task = self.bar.add_task(name, total=self.total, completed=self.done)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


# ----- checksums -------------------------------------------------------------------------------

def _normalise_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    value = str(sha256).strip().lower()
    if value.startswith("sha256:"):
        value = value[len("sha256:"):]
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise MError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}", field="sha256")
    return value


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_local(path: Path, sha256: str | None) -> None:
    expected = _normalise_sha256(sha256)
    if expected is None:
        return
    if not path.is_file():
        raise MError(f"{path}: a sha256 can only be checked for a file", field="sha256")
    actual = _file_sha256(path)
    if actual != expected:
        raise MError(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}",
                     field="sha256")
