"""Source spans and diagnostics shared by every stage.

Every error a user sees names `file:line:col`, quotes the source line with a caret and says what
was expected.  Stages after `lang` raise `MError` (or a subclass) with a `Span` when they know
where in M source the problem is, or with a `field` name when the problem is in data or config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """A region of M source: 1-based line and column of its start (and optionally its end)."""

    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Diagnostic:
    """One error (or warning/note) at a span, with an optional hint ("did you mean ...")."""

    message: str
    span: Span | None = None
    severity: str = "error"
    hint: str | None = None
    notes: list[str] = field(default_factory=list)

    def format(self, source: str | None = None) -> str:
        """`file:line:col: error: message`, the source line, a caret, then hint and notes."""
        where = f"{self.span}: " if self.span else ""
        lines = [f"{where}{self.severity}: {self.message}"]
        text = source_line(self.span, source) if self.span else None
        if text is not None:
            lines.append(f"    {text}")
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column:
                width = max(1, self.span.end_column - self.span.column)
            lines.append("    " + " " * (self.span.column - 1) + "^" * width)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def source_line(span: Span, source: str | None = None) -> str | None:
    """The text of the span's line, from `source` when given, else read from the span's file."""
    if source is None:
        try:  # a file that is not UTF-8 is quoted with U+FFFD where its bad bytes are
            source = Path(span.file).read_bytes().decode("utf-8", "replace")
        except OSError:
            return None
    # Lines end at "\n" only, as the lexer counts them (str.splitlines also splits at form
    # feeds and U+2028, which M allows inside comments and strings).
    lines = source.removeprefix("\ufeff").split("\n")
    if lines[-1] == "":
        lines.pop()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1].rstrip("\r").expandtabs(1)
    return None


class MError(Exception):
    """An error a user caused, reported as M diagnostics rather than a Python traceback.

    `field` names the config/data field at fault when there is no source span (for example a
    CSV column or a request body field).
    """

    def __init__(self, message: str, span: Span | None = None, *, hint: str | None = None,
                 field: str | None = None, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.field = field
        if diagnostics is None:
            text = f"{field}: {message}" if field and span is None else message
            diagnostics = [Diagnostic(text, span, hint=hint)]
        self.diagnostics = diagnostics

    @property
    def span(self) -> Span | None:
        return self.diagnostics[0].span if self.diagnostics else None

    def format(self, source: str | None = None) -> str:
        return "\n".join(d.format(source) for d in self.diagnostics)

    def __str__(self) -> str:
        return self.format()


class MSyntaxError(MError):
    """The source does not parse."""


class MCheckError(MError):
    """The checker found one or more errors before anything ran."""


class MFormatError(MError):
    """`m fmt` cannot lay the source out as the same program (the file is left unchanged)."""


class MRuntimeError(MError):
    """An error raised while M code ran, carrying the M traceback."""
