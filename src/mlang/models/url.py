"""`loadModelFromUrl`: one way to get a model from anywhere M knows.

A location is one of:

- a registered scheme, `scheme:reference` (`registry:sentiment:3`, `registry:sentiment@prod`):
  later stages add schemes with `register_source(scheme, "package.module:loader")`; the loader is
  called with the text after `scheme:` and returns a model;
- `http://` / `https://`: downloaded into `$M_HOME/cache/downloads` with a progress bar, resumed
  with an HTTP `Range` request when a partial download exists, verified against `sha256` when
  given (a mismatch deletes the file), then loaded as a local file;
- `file://PATH` or a plain path: an M model file (`mlang.models.modelfile`, written by
  `saveModelFile` or `engine.save_model`) or a local Hugging Face-format directory;
- a model-zoo name (`"minilm-l6"`, `"efficientnet-lite0"`, `"dlib-face-resnet"`).

Nothing downloaded is ever unpickled, and code that comes with a model runs only with
`trust_code` (`mlang.models.trust`): an M model file is safetensors, whose header carries the
model's JSON config and its small files (tokenizer) next to the tensors.

This module imports torch only when a model is actually loaded, so registering a source is cheap.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import re
import urllib.parse
from pathlib import Path
from typing import Callable

from mlang.lang.diagnostics import MError

_CHUNK = 1 << 16
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", re.S)
_sources: dict[str, Callable | str] = {}


def register_source(scheme: str, loader: Callable | str) -> None:
    """Resolve `scheme:reference` with `loader(reference) -> model` (a callable or "module:attr")."""
    _sources[scheme.lower()] = loader


def registered_schemes() -> list[str]:
    _load_stage_sources()
    return sorted(_sources)


def _load_stage_sources() -> None:
    """Stages register their schemes from their builtins modules; make sure those have run."""
    from mlang.lang.registry import load_stages

    load_stages()


def _resolve_loader(scheme: str) -> Callable:
    loader = _sources[scheme]
    if isinstance(loader, str):
        module_name, _, attr = loader.partition(":")
        loader = _sources[scheme] = getattr(importlib.import_module(module_name), attr)
    return loader


def m_home() -> Path:
    """The model repository / cache root: `$M_HOME`, else `~/.mlang`."""
    return Path(os.environ.get("M_HOME") or Path.home() / ".mlang")


def download_cache_dir() -> Path:
    return m_home() / "cache" / "downloads"


# ----- the public entry point ------------------------------------------------------------------

def load_model_from_url(url: str, sha256: str | None = None, *, trust_code=None,
                        cache_dir: str | None = None, progress: bool = True, **options):
    """Load a model from a zoo name, a registry reference, a local path, `file://` or `http(s)://`.

    `sha256` (hex) verifies a downloaded or local file.  A model file that carries code (a
    `forward` block, a `customModel` function) loads only with `trust_code=True` or
    `trust_code="sha256:<its code's sha256>"` (`mlang.models.trust`).  `options` go to zoo sources
    (for example `max_length=128` for `minilm-l6`).
    """
    if not isinstance(url, str) or not url.strip():
        raise MError("loadModelFromUrl needs a non-empty location", field="url",
                     hint=_known_locations_hint())
    url = url.strip()
    from mlang.models import zoo

    if zoo.is_zoo_name(url):
        return zoo.load_pretrained(url, **options)
    match = _SCHEME.fullmatch(url)
    scheme = match.group(1).lower() if match and len(match.group(1)) > 1 else None
    if scheme in ("http", "https"):
        path = download(url, sha256, cache_dir=cache_dir, progress=progress)
        return load_local(path, trust_code=trust_code, origin=url, **options)
    if scheme == "file":
        from urllib.request import url2pathname

        path = Path(url2pathname(urllib.parse.urlparse(url).path))
        _verify_local(path, sha256)
        return load_local(path, trust_code=trust_code, **options)
    if scheme is not None:
        _load_stage_sources()
        if scheme in _sources:
            return _resolve_loader(scheme)(match.group(2), **options)
        if not Path(url).exists():
            raise MError(f"unknown model location scheme {scheme!r} in {url!r}", field="url",
                         hint=_known_locations_hint())
    path = Path(url).expanduser()
    if path.exists():
        _verify_local(path, sha256)
        return load_local(path, trust_code=trust_code, **options)
    raise MError(f"{url!r} is neither a known pretrained model nor an existing path", field="url",
                 hint=_known_locations_hint())


def _known_locations_hint() -> str:
    from mlang.models import zoo

    schemes = ", ".join(f"{s}:..." for s in registered_schemes())
    return (f"known pretrained models: {', '.join(zoo.zoo_names())}; schemes: http(s)://, file://"
            + (f", {schemes}" if schemes else "") + "; or a local M model file / Hugging Face directory")


def load_local(path: Path, *, trust_code=None, origin: str | None = None, **options):
    """An M model file (`mlang.models.modelfile`) or a Hugging Face-format directory."""
    path = Path(path)
    if path.is_dir():
        from mlang.models import zoo

        return zoo.load_pretrained(str(path), **options)
    from mlang.models.modelfile import read_model_file

    return read_model_file(path, trust_code=trust_code, origin=origin)


# ----- downloads -------------------------------------------------------------------------------

def download(url: str, sha256: str | None = None, *, cache_dir: str | None = None,
             progress: bool = True) -> Path:
    """Fetch `url` into the download cache (resuming a partial file) and return its path."""
    expected = _normalise_sha256(sha256)
    directory = Path(cache_dir) if cache_dir else download_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / _cache_name(url)
    if target.exists():
        if expected is None or _file_sha256(target) == expected:
            return target
        target.unlink()
    partial = target.with_name(target.name + ".part")
    _fetch(url, partial, progress)
    if expected is not None:
        actual = _file_sha256(partial)
        if actual != expected:
            partial.unlink()
            raise MError(f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; "
                         "the downloaded file was deleted", field="sha256",
                         hint="check the URL and the sha256 you passed")
    partial.replace(target)
    return target


def _cache_name(url: str) -> str:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    base = Path(urllib.parse.urlparse(url).path).name or "download"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:80]
    return f"{digest}-{safe}"


def _fetch(url: str, partial: Path, progress: bool) -> None:
    """Download into `partial`, continuing from its current size when the server honours Range."""
    import urllib.error  # with urllib.request, http.client and email: 0.1 s that m check never needs
    import urllib.request

    offset = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "mlang"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the partial file is already complete
            return
        raise MError(f"downloading {url} failed: HTTP {error.code} {error.reason}", field="url") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise MError(f"downloading {url} failed: {reason}", field="url",
                     hint="check the address; a partial download is resumed on the next try") from None
    with response:
        resumed = offset and response.status == 206
        if not resumed:
            offset = 0  # the server sent the whole file
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with open(partial, "ab" if resumed else "wb") as out, _progress(url, total, offset, progress) as advance:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                advance(len(chunk))


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
