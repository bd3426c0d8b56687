"""Errors about data, config and arguments (no M source span)."""
from __future__ import annotations

from mlang.lang.diagnostics import Diagnostic, MError


def data_error(message: str, *, field: str | None = None, hint: str | None = None) -> MError:
    """An `MError` whose message already says where (file, row, column, argument).

    `field` is kept on the error for programs that inspect it, but not prefixed to the message
    again.
    """
    return MError(message, field=field, hint=hint, diagnostics=[Diagnostic(message, hint=hint)])
