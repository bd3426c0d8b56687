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
        if not version.isdigit() or int(version) < 1:
            raise MError(f"{version!r} in {ref!r} is not a version number", field="reference",
                         hint="versions are whole numbers from 1: `name:3`")
        return ModelRef(name, version=int(version))
    return ModelRef(check_name(text))
