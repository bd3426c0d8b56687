"""Code that comes with a model runs only when the user says they trust it.

A saved model can carry code: the M source of a model with a `forward` block (or with model-valued
fields), the M function of a `customModel`, or the name of a Python function (`module:qualname`)
that a `customModel` calls.  Rebuilding such a model runs that code — its imports, its function
definitions' defaults, later its forward pass — so `serialize.restore` asks `check_trust` first,
before anything is imported or built:

- no code: nothing to trust, the model loads;
- `trust_code=True`: the code runs, and a `TrustedCodeWarning` shows its sha256;
- `trust_code="sha256:<hex>"` (or the bare hex): the code runs only if it is exactly that code;
- otherwise (the default): an `MError` that names the code and its sha256, before anything runs.

The registry passes `VERIFIED` for the versions whose files it just checked against their recorded
sha256s: their code is what the local user saved, byte for byte (docs/security.md).  A config names Python classes only through the catalogues
(`register_kind`, `register_transform`, the layer catalogue), never by module path.
"""
from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from mlang.lang.diagnostics import MError

_SHA256 = re.compile(r"(?:sha256:)?([0-9a-f]{64})")


# The command-line form, shared by `m export` and `m serve`.
TRUST_CODE_HELP = "run the code a model file carries (a forward block, a customModel function)"
TRUST_SHA256_HELP = "run a model file's code only if its sha256 is this one"


def trust_option(flag: bool, sha256: str | None):
    """`--trust-code` / `--trust-code-sha256 HEX` as the `trust_code` argument."""
    return sha256 if sha256 else (True if flag else None)


class _Verified:
    def __repr__(self) -> str:
        return "VERIFIED"


VERIFIED = _Verified()  # `trust_code` from a store that vouches for what it saved


class TrustedCodeWarning(UserWarning):
    """Code that came with a model is about to run because the caller trusted it."""


@dataclass(frozen=True)
class CarriedCode:
    """What a saved model would run: a description of each piece and one sha256 over them all."""

    pieces: tuple[str, ...]
    sha256: str

    def describe(self) -> str:
        return "; ".join(self.pieces)


def carried_code(config) -> CarriedCode | None:
    """The code a saved config carries (anywhere in its nested parts), or None."""
    texts: dict[str, str] = {}
    _collect(config, texts)
    if not texts:
        return None
    return CarriedCode(tuple(texts.values()), code_sha256(list(texts)))


def code_sha256(texts: list[str]) -> str:
    """One piece: the sha256 of its text (`sha256sum file.m` gives it); several: the sha256 of
    their sorted sha256s, one per line."""
    digests = sorted({hashlib.sha256(text.encode()).hexdigest() for text in texts})
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


# The kinds whose configs carry code (models/instance.py, models/compose.py), and its keys there.
_CODE_KINDS = {"declared": ("source",), "custom": ("source", "function")}


def _collect(node, texts: dict[str, str]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, texts)
        return
    if not isinstance(node, dict):
        return
    keys = _CODE_KINDS.get(node.get("kind"), ())
    name = node.get("name", "?")
    if "source" in keys and isinstance(node.get("source"), str):
        source = node["source"]
        where = PurePath(str(node.get("filename") or "?")).name
        texts.setdefault(source, f"the M source of {name} ({where}, {source.count(chr(10)) + 1} lines)")
    if "function" in keys and isinstance(node.get("function"), str):
        texts.setdefault(f"python:{node['function']}",
                         f"the Python function {node['function']} (imported by name)")
    for value in node.values():
        _collect(value, texts)


def check_trust(config: dict, trust_code, origin: str | None = None) -> None:
    """Refuse, before anything runs, a model whose code the caller did not trust (module doc)."""
    if trust_code is VERIFIED:
        return
    code = carried_code(config)
    if code is None or trust_code is None or trust_code is False:
        if code is not None:
            raise _untrusted(code, origin)
        return
    if trust_code is True:
        warnings.warn(f"running code that came with {origin or 'a saved model'}: {code.describe()}; "
                      f"sha256 {code.sha256} (pin it with trust_code=\"sha256:{code.sha256}\")",
                      TrustedCodeWarning, stacklevel=3)
        return
    pinned = _pinned(trust_code)
    if pinned != code.sha256:
        raise MError(f"{origin or 'the saved model'}: its code is not the code you pinned: "
                     f"expected sha256 {pinned}, found sha256 {code.sha256} ({code.describe()})",
                     field="trust_code", hint="the model's code changed; read it before you pin the new sha256")


def _pinned(trust_code) -> str:
    match = _SHA256.fullmatch(str(trust_code).strip().lower()) if isinstance(trust_code, str) else None
    if match is None:
        raise MError(f"trust_code must be true, false or a pinned \"sha256:<64 hex digits>\", got {trust_code!r}",
                     field="trust_code")
    return match.group(1)


def _untrusted(code: CarriedCode, origin: str | None) -> MError:
    return MError(
        f"{origin or 'the saved model'} carries code that loading it would run: {code.describe()}; "
        f"sha256 {code.sha256}",
        field="trust_code",
        hint=("read that code; if you trust it, load with trust_code=true (Python: trust_code=True; "
              f"m serve / m export: --trust-code), or pin exactly this code with "
              f"trust_code=\"sha256:{code.sha256}\""))
