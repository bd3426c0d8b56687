"""The pooling and whole-document fields of a text encoder (`chunking="windows"`), checked in one place.

Torch-free: the `TextEncoder` layer checks them when a model is declared (`m check`), and
`TextEncoderModel` when it is built or restored, with the same messages.
"""
from __future__ import annotations

from typing import Callable

from mlang.lang.diagnostics import MError
from mlang.models.layers.base import choice_hint

POOLINGS = ("mean", "cls", "max", "none")
CHUNKINGS = ("none", "windows")
WINDOW_POOLINGS = ("mean", "max")
CHUNKING_FIELDS = ("chunking", "stride", "max_windows", "window_pooling")


def _field_error(message: str, hint: str | None, field: str) -> Exception:
    return MError(message, field=field, hint=hint)


def check_pooling(pooling: str, error: Callable[[str, str | None, str], Exception] = _field_error) -> str:
    """`pooling` itself, or raise `error(message, hint, field)`."""
    if pooling not in POOLINGS:
        raise error(f"unknown pooling {pooling!r}", choice_hint("pooling", pooling, POOLINGS), "pooling")
    return pooling


def check_chunking(chunking: str, stride: int, max_windows: int, window_pooling: str, *, pooling: str,
                   max_length: int, error: Callable[[str, str | None, str], Exception] = _field_error) -> None:
    """Raise `error(message, hint, field)` for the first bad field."""
    if chunking not in CHUNKINGS:
        raise error(f"unknown chunking {chunking!r}", choice_hint("chunking", chunking, CHUNKINGS), "chunking")
    if window_pooling not in WINDOW_POOLINGS:
        raise error(f"unknown window_pooling {window_pooling!r}",
                    choice_hint("window_pooling", window_pooling, WINDOW_POOLINGS), "window_pooling")
    if not _positive_int(max_windows):
        raise error(f"max_windows must be a positive integer, got {max_windows!r}", None, "max_windows")
    # A window holds max_length tokens, two of them special ([CLS], [SEP]); the overlap must leave
    # room for new tokens.
    if not (_positive_int(stride) or stride == 0) or (chunking == "windows" and stride >= max_length - 2):
        raise error(f"stride must be an integer from 0 to max_length - 3 ({max_length - 3}), got {stride!r}",
                    "stride is how many tokens a window shares with the one before", "stride")
    if chunking == "windows" and pooling == "none":
        raise error('chunking="windows" pools each text into one vector; pooling="none" keeps token states',
                    'use pooling="mean", "cls" or "max" with windows', "chunking")


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
