"""Model references: `name` (latest version), `name:3` (a version), `name@prod` (an alias).

Names and aliases are checked before they reach the store, so a reference such as `../x` or an
empty string is a clear user error rather than a lookup of something odd.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from mlang.lang.diagnostics import MError

# A name starts with a letter or digit, may contain `.`, `_`, `-`, never `..`, `/` or spaces.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
NAME_RULE = ("a name is 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, "
             "and never contains '..'")
REGISTRY_SCHEME = "registry:"
# Version numbers are ASCII digits only (`str.isdigit` also accepts '²' and '٣', which `int`
# rejects or silently converts), and fit the store's 64-bit integer column.
VERSION_PATTERN = re.compile(r"[0-9]{1,19}")
MAX_VERSION = 2**63 - 1
VERSION_RULE = "versions are whole numbers from 1: `name:3`"


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: exactly one of `version` and `alias` is set, or neither (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def check_name(name: object, what: str = "model name") -> str:
    """`name` if it is a valid model (or alias) name, else an MError saying what a name may be."""
    if not isinstance(name, str) or not name.strip():
        raise MError(f"the {what} is empty", field=what, hint=NAME_RULE)
    if not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise MError(f"{name!r} is not a valid {what}", field=what, hint=NAME_RULE)
    return name


def check_alias(alias: object) -> str:
    """An alias is a name that is not a number (numbers are versions) and not `latest`."""
    check_name(alias, "alias")
    if alias.isdigit():
        raise MError(f"alias {alias!r} is a number; numbers are versions", field="alias",
                     hint="choose a word such as 'prod' or 'staging'")
    if alias == "latest":
        raise MError("'latest' is reserved: `name` and `name@latest` always mean the newest version",
                     field="alias")
    return alias


def parse_ref(ref: object) -> ModelRef:
    """Parse `name`, `name:N`, `name@alias` (optionally prefixed `registry:`)."""
    if isinstance(ref, ModelRef):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise MError("the model reference is empty", field="reference",
                     hint="write `name` (latest), `name:3` (a version) or `name@prod` (an alias)")
    text = ref.strip()
    if text.startswith(REGISTRY_SCHEME):
        text = text[len(REGISTRY_SCHEME):]
    if "@" in text:
        name, _, alias = text.partition("@")
        check_name(name)
        if alias == "latest":
            return ModelRef(name)
        return ModelRef(name, alias=check_alias(alias))
    if ":" in text:
        name, _, version = text.partition(":")
        check_name(name)
        return ModelRef(name, version=parse_version(version, ref))
    return ModelRef(check_name(text))


def parse_version(version: object, ref: object = None, *, field: str = "reference") -> int:
    """A version number from `3` or `"3"`: 1 ≤ N ≤ 2**63 - 1, written in ASCII digits.

    Anything else — `"²"`, `"٣"`, `"0"`, `"-1"`, `"99999999999999999999"`, `True` — is an MError
    naming `field`, never a ValueError or an OverflowError from deeper down."""
    where = f" in {ref!r}" if isinstance(ref, str) and len(ref) <= 200 else ""
    if isinstance(version, int) and not isinstance(version, bool):
        if 1 <= version <= MAX_VERSION:
            return version
        shown = str(version) if version.bit_length() <= 128 else f"of {version.bit_length()} bits"
        raise MError(f"version {shown}{where} is out of range", field=field,
                     hint=f"{VERSION_RULE}, at most {MAX_VERSION}")
    if isinstance(version, str) and VERSION_PATTERN.fullmatch(version):
        number = int(version)
        if 1 <= number <= MAX_VERSION:
            return number
    shown = repr(version if not isinstance(version, str) or len(version) <= 40
                 else version[:40] + "…")
    if isinstance(version, str) and version.isascii() and version.isdigit():
        raise MError(f"version {shown}{where} is out of range", field=field,
                     hint=f"{VERSION_RULE}, at most {MAX_VERSION}")
    raise MError(f"{shown}{where} is not a version number", field=field,
                 hint=f"{VERSION_RULE} (ASCII digits 0-9)")
