"""M's editor support: the language server (`m lsp`, `mlang.lsp.server:main`) and the document
analysis behind it (`Analysis`: diagnostics, hover, definition, completion), usable from Python.
"""
from mlang.lsp.analysis import Analysis, Completion, Symbol

__all__ = ["Analysis", "Completion", "Symbol"]
