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

import importlib
import os
import re
import urllib.parse
from pathlib import Path
from typing import Callable

from mlang.lang.diagnostics import MError

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
    return Path(os.environ.get("M_HOME") or Path.home() / ".mlang").expanduser()


def download_cache_dir() -> Path:
    return m_home() / "cache" / "downloads"


# ----- the public entry point ------------------------------------------------------------------

def load_model_from_url(url: str, sha256: str | None = None, *, trust_code=None,
                        cache_dir: str | None = None, progress: bool = True,
                        max_bytes: int | None = None, deadline_s: float | None = None, **options):
    """Load a model from a zoo name, a registry reference, a local path, `file://` or `http(s)://`.

    `sha256` (hex) verifies a downloaded or local file.  A model file that carries code (a
    `forward` block, a `customModel` function) loads only with `trust_code=True` or
    `trust_code="sha256:<its code's sha256>"` (`mlang.models.trust`).  `max_bytes` and
    `deadline_s` bound an http(s) download (`mlang.models.downloads`).  `options` go to zoo
    sources (for example `max_length=128` for `minilm-l6`).
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
        path = download(url, sha256, cache_dir=cache_dir, progress=progress, max_bytes=max_bytes,
                        deadline_s=deadline_s)
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
    if zoo.from_hub(url):
        return zoo.load_pretrained(url, **options)
    unknown = zoo.unknown_pretrained(url).diagnostics[0]
    raise MError(f"{url!r} is neither a pretrained model M can load nor an existing path", field="url",
                 hint=f"{unknown.hint}; or {_schemes_text()}")


def _known_locations_hint() -> str:
    from mlang.models import zoo

    return (f"known pretrained models: {', '.join(zoo.zoo_names())}; {_schemes_text()}; "
            "or a local M model file / Hugging Face directory")


def _schemes_text() -> str:
    schemes = ", ".join(f"{s}:..." for s in registered_schemes())
    return "schemes: http(s)://, file://" + (f", {schemes}" if schemes else "")


def load_local(path: Path, *, trust_code=None, origin: str | None = None, **options):
    """An M model file (`mlang.models.modelfile`) or a Hugging Face-format directory."""
    path = Path(path)
    if path.is_dir():
        from mlang.models import zoo

        return zoo.load_pretrained(str(path), **options)
    from mlang.models.modelfile import read_model_file

    return read_model_file(path, trust_code=trust_code, origin=origin)


# ----- downloads -------------------------------------------------------------------------------
# The http(s) machinery (verified lengths, Range resume, max_bytes, one deadline) lives in
# mlang.models.downloads; these names stay importable from here.
from mlang.models.downloads import (  # noqa: E402,F401
    DEFAULT_DEADLINE_S, DEFAULT_MAX_BYTES, _cache_name, _file_sha256, _normalise_sha256,
    _verify_local, download)
