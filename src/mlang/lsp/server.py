"""M's language server (pygls 2): diagnostics, hover, completion, go-to-definition, formatting.

Start it with `m lsp` (or `python -m mlang.lsp.server`); it speaks LSP over stdin/stdout.  Every
open, change and save of a document re-parses and re-checks it with the front end
(`mlang.lsp.analysis.Analysis`) and publishes all its diagnostics; diagnostics found in the M files
it imports are published for those files.  Start-up imports neither torch nor any later stage:
they load with the first check.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from mlang import __version__
from mlang.lang.diagnostics import Diagnostic, Span
from mlang.lsp.analysis import Analysis
from mlang.lsp.text import codepoint_column, utf16_column, word_at

__all__ = ["MLanguageServer", "create_server", "main"]

_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
             "note": lsp.DiagnosticSeverity.Information}
_COMPLETION_KIND = {
    "keyword": lsp.CompletionItemKind.Keyword, "builtin": lsp.CompletionItemKind.Function,
    "function": lsp.CompletionItemKind.Function, "variable": lsp.CompletionItemKind.Variable,
    "model": lsp.CompletionItemKind.Class, "field": lsp.CompletionItemKind.Field,
    "layer": lsp.CompletionItemKind.Constructor, "type": lsp.CompletionItemKind.TypeParameter,
    "module": lsp.CompletionItemKind.Module, "method": lsp.CompletionItemKind.Method,
    "argument": lsp.CompletionItemKind.Property,
}


# Typing sends a change per keystroke: check once the user pauses this long (a request for the
# document meanwhile checks it at once).
CHANGE_DELAY_S = 0.25


class MLanguageServer(LanguageServer):
    """Keeps one `Analysis` per open document and which files it published diagnostics for."""

    def __init__(self):
        super().__init__("m-language-server", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.published: dict[str, set[str]] = {}  # document uri -> uris it published diagnostics to
        self.pending: dict[str, asyncio.TimerHandle] = {}  # changed documents not yet re-checked

    def analyze_later(self, uri: str) -> None:
        self.cancel_pending(uri)
        self.pending[uri] = asyncio.get_running_loop().call_later(CHANGE_DELAY_S, self.analyze, uri)

    def cancel_pending(self, uri: str) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()

    def analyze(self, uri: str) -> Analysis:
        self.cancel_pending(uri)
        document = self.workspace.get_text_document(uri)
        filename = to_fs_path(uri) or uri
        try:
            analysis = Analysis(document.source, filename, fallback=self.analyses.get(uri))
        except Exception as err:  # a bug in a checker stage: say so in the editor, keep serving
            analysis = Analysis("", filename)
            analysis.diagnostics = [Diagnostic(f"internal error while checking: {type(err).__name__}: {err}",
                                               Span(filename, 1, 1))]
            logging.getLogger(__name__).exception("checking %s failed", uri)
        self.analyses[uri] = analysis
        self.publish(uri, analysis)
        return analysis

    def publish(self, uri: str, analysis: Analysis) -> None:
        by_uri: dict[str, list[lsp.Diagnostic]] = {uri: []}
        for diagnostic in analysis.diagnostics:
            span = diagnostic.span
            target = uri if span is None or span.file == analysis.filename else from_fs_path(span.file)
            lines = analysis.lines if target == uri else _file_lines(span.file)
            by_uri.setdefault(target, []).append(to_lsp_diagnostic(diagnostic, lines))
        for stale in self.published.get(uri, set()) - set(by_uri):
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
        for target, diagnostics in by_uri.items():
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=target, diagnostics=diagnostics))
        self.published[uri] = set(by_uri)

    def position(self, uri: str, position: lsp.Position) -> tuple[Analysis, int, int] | None:
        """The document's analysis and the 1-based line, 0-based code-point column of `position`."""
        analysis = self.analyses.get(uri)
        if analysis is None or uri in self.pending:
            analysis = self.analyze(uri)
        line = position.line + 1
        text = analysis.lines[position.line] if position.line < len(analysis.lines) else ""
        return analysis, line, codepoint_column(text, position.character)


def _file_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return []


def to_lsp_range(span: Span | None, lines: list[str]) -> lsp.Range:
    """A 0-based LSP range for a 1-based M span; a span without an end covers the word it starts."""
    if span is None:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    line = max(span.line - 1, 0)
    text = lines[line] if line < len(lines) else ""
    start = max(span.column - 1, 0)
    if span.end_line is not None and span.end_column is not None:
        end_line = max(span.end_line - 1, 0)
        end_text = lines[end_line] if end_line < len(lines) else ""
        end = max(span.end_column - 1, 0)
    else:
        end_line, end_text = line, text
        word = word_at(text, start)
        end = word[1] + len(word[0]) if word and word[1] == start else min(start + 1, max(len(text), start + 1))
    return lsp.Range(lsp.Position(line, utf16_column(text, start)),
                     lsp.Position(end_line, utf16_column(end_text, end)))


def to_lsp_diagnostic(diagnostic: Diagnostic, lines: list[str]) -> lsp.Diagnostic:
    message = diagnostic.message
    if diagnostic.hint:
        message += f"\nhint: {diagnostic.hint}"
    message += "".join(f"\nnote: {note}" for note in diagnostic.notes)
    return lsp.Diagnostic(range=to_lsp_range(diagnostic.span, lines), message=message, source="m",
                          severity=_SEVERITY.get(diagnostic.severity, lsp.DiagnosticSeverity.Error))


def create_server() -> MLanguageServer:
    """A language server with M's features registered (not started)."""
    server = MLanguageServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MLanguageServer, params: lsp.DidOpenTextDocumentParams):
        ls.analyze(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MLanguageServer, params: lsp.DidChangeTextDocumentParams):
        ls.analyze_later(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: MLanguageServer, params: lsp.DidSaveTextDocumentParams):
        ls.analyze(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MLanguageServer, params: lsp.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        ls.cancel_pending(uri)
        ls.analyses.pop(uri, None)
        for target in ls.published.pop(uri, set()):
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=target, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: MLanguageServer, params: lsp.HoverParams):
        analysis, line, column = ls.position(params.text_document.uri, params.position)
        found = analysis.hover(line, column)
        if found is None:
            return None
        text, span = found
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                         range=to_lsp_range(span, analysis.lines))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: MLanguageServer, params: lsp.DefinitionParams):
        analysis, line, column = ls.position(params.text_document.uri, params.position)
        span = analysis.definition(line, column)
        if span is None:
            return None
        lines = analysis.lines if span.file == analysis.filename else _file_lines(span.file)
        return lsp.Location(uri=from_fs_path(span.file), range=to_lsp_range(span, lines))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: MLanguageServer, params: lsp.DocumentFormattingParams):
        """The whole document in `m fmt`'s canonical layout; no edit while it does not parse
        (its syntax error is already a diagnostic)."""
        from mlang.lang.diagnostics import MError
        from mlang.lang.formatter import format_source

        document = ls.workspace.get_text_document(params.text_document.uri)
        try:
            formatted = format_source(document.source, to_fs_path(document.uri) or document.uri)
        except MError:
            return None
        if formatted == document.source:
            return []
        lines = document.source.split("\n")
        end = lsp.Position(len(lines) - 1, utf16_column(lines[-1], len(lines[-1])))
        return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=formatted)]

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["."]))
    def completion(ls: MLanguageServer, params: lsp.CompletionParams):
        analysis, line, column = ls.position(params.text_document.uri, params.position)
        items = [lsp.CompletionItem(label=c.label, kind=_COMPLETION_KIND.get(c.kind), detail=c.detail)
                 for c in analysis.completions(line, column)]
        return lsp.CompletionList(is_incomplete=False, items=items)

    return server


def main() -> int:
    """Run the language server on stdin/stdout until the client exits (`m lsp`)."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    create_server().start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
