"""Downloads against a real loopback HTTP server that misbehaves on purpose (issue 17, item 3).

Each test scripts what the server does with each request (close early, lie about the length,
send a bad Content-Length, reset, stall, trickle, send forever, answer a Range request wrongly);
requests beyond the script are served honestly, with Range support (`RangeHandler`).
"""
import hashlib
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from mlang.lang.diagnostics import MError
from mlang.models import downloads as dl
from mlang.models.url import download, load_model_from_url
from test_url import RangeHandler, serve

BLOB = bytes(range(256)) * 1200  # 300 KiB: several reads of 64 KiB
SHA = hashlib.sha256(BLOB).hexdigest()
HALF = len(BLOB) // 2


class Scripted(RangeHandler):
    """One scripted behaviour per request, then honest answers; records every request's headers."""

    script: list = []
    requests: list = []
    release: threading.Event

    def do_GET(self):
        type(self).requests.append(dict(self.headers))
        if not type(self).script:
            return super().do_GET()
        behaviour = type(self).script.pop(0)
        try:
            behaviour(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
        self.close_connection = True

    def data(self) -> bytes:
        return (self.directory_path() / "blob.bin").read_bytes()

    def directory_path(self) -> Path:
        return Path(self.directory)


def headers(handler, status=200, **fields):
    handler.send_response(status)
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            handler.send_header(name.replace("_", "-"), str(one))
    handler.end_headers()


def close_after(n, length=None, **fields):
    """A true (or, with `length`, a false) Content-Length, then only `n` bytes and a clean close."""
    def behave(h):
        data = h.data()
        headers(h, Content_Length=len(data) if length is None else length, **fields)
        h.wfile.write(data[:n])
    return behave


def reset_after(n):
    """`n` bytes, then a TCP reset (SO_LINGER 0) instead of a clean close."""
    def behave(h):
        data = h.data()
        headers(h, Content_Length=len(data))
        h.wfile.write(data[:n])
        time.sleep(0.3)
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(h.connection.detach())
    return behave


def stall_after(n):
    def behave(h):
        data = h.data()
        headers(h, Content_Length=len(data))
        h.wfile.write(data[:n])
        type(h).release.wait(10)
    return behave


def drip(h, data: bytes, seconds=8.0):
    """`data` one byte every 0.05 s, for at most `seconds` (so a client without a deadline fails
    rather than hangs)."""
    for byte in data[: int(seconds / 0.05)]:
        if type(h).release.wait(0.05):
            return
        h.wfile.write(bytes([byte]))


def trickle(h):
    """The true length, then one byte every 0.05 s: no read ever times out."""
    data = h.data()
    headers(h, Content_Length=len(data))
    drip(h, data)


def trickle_headers(h):
    """The status line and headers one byte every 0.05 s: only a deadline ends the wait."""
    drip(h, b"HTTP/1.0 200 OK\r\nX-Padding: " + b"x" * 1000)


def endless(chunked):
    """A body that never ends (bounded at 256 MiB so a broken client cannot fill the disk)."""
    def behave(h):
        block = b"\0" * (1 << 16)
        if chunked:
            h.protocol_version = "HTTP/1.1"
            headers(h, Transfer_Encoding="chunked")
            block = b"%x\r\n%s\r\n" % (len(block), block)
        else:
            headers(h)
        for _ in range(4096):
            if type(h).release.is_set():
                return
            h.wfile.write(block)
    return behave


def wrong_range_start(h):
    """A 206 for bytes from 0, whatever was asked."""
    data = h.data()
    headers(h, 206, Content_Range=f"bytes 0-{len(data) - 1}/{len(data)}", Content_Length=len(data))
    h.wfile.write(data)


def changed_file_206(new):
    """The file changed on the server (ETag "v2"); If-Range ignored; a 206 of the new bytes."""
    def behave(h):
        (h.directory_path() / "blob.bin").write_bytes(new)
        start = int(h.headers["Range"].removeprefix("bytes=").rstrip("-"))
        headers(h, 206, Content_Range=f"bytes {start}-{len(new) - 1}/{len(new)}",
                Content_Length=len(new) - start, ETag='"v2"')
        h.wfile.write(new[start:])
    return behave


def unsatisfiable(h):
    size = len(h.data())
    headers(h, 416, Content_Range=f"bytes */{size}", Content_Length=0)


@pytest.fixture
def server(tmp_path):
    """`server(*script)` starts a loopback server for `blob.bin`: (url, handler class)."""
    started = []

    def start(*script, data=BLOB):
        root = tmp_path / "www"
        root.mkdir(exist_ok=True)
        (root / "blob.bin").write_bytes(data)
        handler = type("Handler", (Scripted,), {"script": list(script), "requests": [],
                                                "ranges_seen": [], "release": threading.Event()})
        started.append((serve(root, handler), handler))
        return f"http://127.0.0.1:{started[-1][0].server_port}/blob.bin", handler

    yield start
    for running, handler in started:
        handler.release.set()
        running.shutdown()
        running.server_close()


@pytest.fixture
def cache(tmp_path):
    path = tmp_path / "cache"
    path.mkdir()
    return path


def get(url, cache, sha256=None, **options):
    return download(url, sha256, cache_dir=str(cache), progress=False, **options)


def target(url, cache):
    return cache / dl._cache_name(url)


def part(url, cache):
    return cache / (dl._cache_name(url) + ".part")


def download_error(url, cache, sha256=None, **options) -> MError:
    with pytest.raises(MError) as error:
        get(url, cache, sha256, **options)
    assert error.value.field == "url"
    assert url in str(error.value)
    assert error.value.diagnostics[0].hint
    return error.value


# ----- a short body is never complete, and the next call resumes it ---------------------------

@pytest.mark.parametrize("sha256", [None, SHA], ids=["no-sha256", "sha256"])
def test_a_server_that_closes_early_is_an_error_and_the_next_call_resumes(server, cache, sha256):
    url, handler = server(close_after(HALF))
    error = download_error(url, cache, sha256)
    assert f"closed the connection after {HALF} of {len(BLOB)} bytes" in str(error)
    assert "resumes on the next try" in str(error)
    assert not target(url, cache).exists()  # the short file is not cached as complete
    assert part(url, cache).read_bytes() == BLOB[:HALF]

    got = get(url, cache, sha256)
    assert handler.requests[1]["Range"] == f"bytes={HALF}-"
    assert got.read_bytes() == BLOB and hashlib.sha256(got.read_bytes()).hexdigest() == SHA
    assert sorted(p.name for p in cache.iterdir()) == [got.name]  # no .part, no .part.json
    assert len(handler.requests) == 2


def test_a_content_length_that_lies_is_an_error_not_a_cached_file(server, cache):
    url, handler = server(close_after(len(BLOB), length=len(BLOB) + 1000))
    error = download_error(url, cache)
    assert f"after {len(BLOB)} of {len(BLOB) + 1000} bytes" in str(error)
    assert not target(url, cache).exists()


def test_a_content_length_shorter_than_the_file_fails_its_checksum(server, cache):
    url, _ = server(close_after(HALF, length=HALF))  # consistent with itself: only sha256 can tell
    with pytest.raises(MError, match="checksum mismatch") as error:
        get(url, cache, SHA)
    assert error.value.field == "sha256"
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("value", ["12abc", "-5", "1_000", " ", ["10", "20"]])
def test_a_bad_content_length_is_an_merror(server, cache, value):
    def behave(h):
        headers(h, Content_Length=value)
        h.wfile.write(h.data())
    url, _ = server(behave)
    error = download_error(url, cache)
    assert "invalid Content-Length" in str(error)
    assert not target(url, cache).exists()


def test_a_reset_connection_is_an_merror_and_resumes(server, cache):
    url, handler = server(reset_after(HALF))
    error = download_error(url, cache, SHA)
    assert "the connection was reset after" in str(error)
    assert "resumes on the next try" in str(error)
    assert not target(url, cache).exists()
    assert part(url, cache).stat().st_size <= HALF
    assert get(url, cache, SHA).read_bytes() == BLOB


def test_a_garbled_answer_is_an_merror(server, cache):
    url, _ = server(lambda h: h.wfile.write(b"garbage\r\n\r\n"))
    assert "malformed HTTP answer" in str(download_error(url, cache))


def test_refused_connections_and_http_errors_are_merrors(server, cache):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert "refused" in str(download_error(f"http://127.0.0.1:{port}/x.bin", cache)).lower()
    url, _ = server(lambda h: h.send_error(503))
    assert "HTTP 503" in str(download_error(url, cache))
    assert "invalid" in str(download_error("http://127.0.0.1:notaport/x", cache)).lower()


# ----- time: one overall deadline ---------------------------------------------------------------

def test_a_stall_ends_at_the_deadline_not_after_the_read_timeout(server, cache):
    url, _ = server(stall_after(HALF))
    began = time.monotonic()
    error = download_error(url, cache, deadline_s=1)  # the read timeout is still 30 s
    assert time.monotonic() - began < 5
    assert "did not finish within deadline_s=1 s" in str(error)
    assert "resumes on the next try" in str(error)
    assert not target(url, cache).exists() and part(url, cache).stat().st_size == HALF


def test_a_stall_shorter_than_the_deadline_trips_the_read_timeout(server, cache):
    url, _ = server(stall_after(HALF))
    began = time.monotonic()
    error = download_error(url, cache, read_timeout_s=0.5)
    assert time.monotonic() - began < 5
    assert "stalled: no data for 0.5 s" in str(error)


@pytest.mark.parametrize("behaviour", [trickle, trickle_headers], ids=["body", "headers"])
def test_a_trickle_that_never_times_out_still_ends_at_the_deadline(server, cache, behaviour):
    url, _ = server(behaviour)
    began = time.monotonic()
    error = download_error(url, cache, deadline_s=1, read_timeout_s=0.5)
    assert time.monotonic() - began < 5
    assert "did not finish within deadline_s=1 s" in str(error)
    assert not target(url, cache).exists()


# ----- size: max_bytes ------------------------------------------------------------------------

@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "unframed"])
def test_an_endless_body_stops_at_max_bytes_and_keeps_nothing(server, cache, chunked):
    url, _ = server(endless(chunked))
    # an unframed body (no length at all) is accepted only with a sha256 to verify it
    error = download_error(url, cache, None if chunked else SHA, max_bytes=200_000)
    assert "more than max_bytes=200000" in str(error)
    assert list(cache.iterdir()) == []


def test_an_unframed_body_without_sha256_is_refused(server, cache):
    url, _ = server(endless(False))
    error = download_error(url, cache)
    assert "no Content-Length" in str(error) and "sha256" in error.diagnostics[0].hint
    assert list(cache.iterdir()) == []


def test_a_content_length_over_max_bytes_is_refused_before_reading(server, cache, monkeypatch):
    url, _ = server(close_after(10, length=10 ** 12))  # the default limit, 4 GiB
    assert "the file has 1000000000000 bytes, more than max_bytes=4294967296" in str(
        download_error(url, cache))
    url, _ = server(close_after(len(BLOB)))
    monkeypatch.setenv("M_DOWNLOAD_MAX_BYTES", "1000")
    assert "more than max_bytes=1000" in str(download_error(url, cache))
    assert list(cache.iterdir()) == []
    assert get(url, cache, max_bytes=len(BLOB)).read_bytes() == BLOB  # the keyword wins


@pytest.mark.parametrize("option, value", [("max_bytes", 0), ("max_bytes", -1), ("max_bytes", "1G"),
                                           ("max_bytes", True), ("deadline_s", 0),
                                           ("deadline_s", float("inf")), ("read_timeout_s", -1)])
def test_bad_limits_are_merrors(option, value, cache):
    with pytest.raises(MError, match=option) as error:
        get("http://127.0.0.1:9/x", cache, **{option: value})
    assert error.value.field == option


def test_a_bad_max_bytes_variable_is_an_merror(monkeypatch, cache):
    monkeypatch.setenv("M_DOWNLOAD_MAX_BYTES", "4G")
    with pytest.raises(MError, match="M_DOWNLOAD_MAX_BYTES must be a positive whole number"):
        get("http://127.0.0.1:9/x", cache)


# ----- resume: Range answers are checked ------------------------------------------------------

def test_a_206_with_the_wrong_start_restarts_from_zero(server, cache):
    url, handler = server(wrong_range_start)
    part(url, cache).write_bytes(BLOB[:HALF])
    got = get(url, cache)
    assert handler.requests[0]["Range"] == f"bytes={HALF}-"
    assert "Range" not in handler.requests[1]
    assert got.read_bytes() == BLOB


def test_a_file_that_changed_between_tries_restarts_instead_of_splicing(server, cache):
    new = bytes(reversed(BLOB))
    url, handler = server(close_after(HALF, ETag='"v1"'), changed_file_206(new))
    download_error(url, cache)
    got = get(url, cache)
    assert handler.requests[1]["Range"] == f"bytes={HALF}-"
    assert handler.requests[1]["If-Range"] == '"v1"'
    assert "Range" not in handler.requests[2]
    assert got.read_bytes() == new  # not BLOB[:HALF] + new[HALF:]


def test_a_complete_part_file_is_finished_by_a_416(server, cache):
    url, handler = server(unsatisfiable)
    part(url, cache).write_bytes(BLOB)
    assert get(url, cache, SHA).read_bytes() == BLOB
    assert len(handler.requests) == 1


def test_files_cached_before_lengths_were_verified_are_not_reused(server, cache):
    url, _ = server()
    old_name = f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-blob.bin"
    (cache / old_name).write_bytes(BLOB[:HALF])  # what the old code could cache
    assert get(url, cache).read_bytes() == BLOB


# ----- from M ---------------------------------------------------------------------------------

def test_load_model_from_url_passes_the_limits_on(server, m_home):
    url, _ = server()
    with pytest.raises(MError, match="more than max_bytes=1000"):
        load_model_from_url(url, max_bytes=1000, progress=False)
    from models_m import run_m

    with pytest.raises(MError, match="more than max_bytes=1000"):
        run_m(f'm = loadModelFromUrl("{url}", max_bytes=1000, deadline_s=30)\n', "limits.m")
    assert not any((m_home / "cache" / "downloads").iterdir())


def test_the_public_download_function_is_not_shadowed_by_its_module():
    import mlang
    import mlang.models
    import mlang.models.url  # noqa: F401  (imports mlang.models.downloads)

    assert mlang.models.download is download and mlang.download is download
