"""What the editor asks about one M document, answered from the front end's AST and checker.

`Analysis(source, filename)` parses and checks the source once; then `hover(line, column)`,
`definition(line, column)` and `completions(line, column)` answer for a position (1-based line,
0-based column in code points).  Nothing here knows LSP: `mlang.lsp.server` converts.

Types shown on hover are inferred from what the source states (literals, annotations, declared
return types, model instantiations and compositions as the models stage's checker sees them);
anything else is `Any`, never a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mlang.lang import ast as A
from mlang.lang import registry
from mlang.lang.checker import check_program
from mlang.lang.diagnostics import Diagnostic, MError, Span
from mlang.lang.parser import parse
from mlang.lang.resolve import Binding, ModelTable, name_span
from mlang.lang.types import TYPE_NAMES
from mlang.lsp.text import block_end, in_code, line_offsets, open_call, word_at

__all__ = ["Analysis", "Symbol", "Completion", "KEYWORDS", "MODEL_MEMBERS"]

KEYWORDS = ("metamodel", "model", "extends", "func", "forward", "import", "python", "from", "as", "if",
            "else", "for", "in", "while", "break", "continue", "return", "true", "false", "none",
            "and", "or", "not", "is")
# what every model value offers besides its fields (docs/architecture.md, MModel)
MODEL_MEMBERS = ("summary", "parameters", "preprocess", "example_inputs", "input_type", "output_type",
                 "task", "labels", "spec", "eval", "train", "to", "state_dict", "forward")
_LAYER_PLUMBING = ("span", "input_shape")  # layer parameters M code never passes
_MEMBER_ACCESS = re.compile(r"([^\W\d]\w*)\s*\.\s*(\w*)$")
_TYPE_POSITION = re.compile(r"(?::|->|\[|,)\s*\w*$")


@dataclass
class Symbol:
    """A name the document declares: where (the name's own span) and what (`detail`)."""

    name: str
    kind: str  # variable | parameter | function | model | metamodel | field | module | python module
    span: Span
    detail: str
    value: A.Expr | None = None  # an assigned variable's value, for inferring its type
    target: tuple[str, str] | None = None  # `from "file.m" import name`: (resolved file, name)
    annotation: str | None = None  # a parameter's or field's declared type
    node: A.Node | None = None  # the statement that binds it, as the front end resolved it


@dataclass
class Completion:
    label: str
    kind: str  # keyword | builtin | variable | function | model | field | layer | type | module | method | argument
    detail: str = ""


@dataclass
class _Scope:
    node: A.Node | None  # None: the module
    start: int  # source offsets
    end: int
    symbols: dict[str, Symbol] = field(default_factory=dict)
    model: A.ModelDecl | None = None  # a model body (fields in scope, layers may be written)
    in_forward: bool = False


def type_text(t: A.TypeExpr | None) -> str:
    """An annotation as written: `Tensor[float32, B, n]`, `Model[Text -> Tensor]`."""
    if t is None:
        return "Any"
    if isinstance(t, A.TypeDim):
        return str(t.value)
    if isinstance(t, A.TypeArrow):
        return f"{type_text(t.input)} -> {type_text(t.output)}"
    return t.name + (f"[{', '.join(type_text(a) for a in t.args)}]" if t.args else "")


def _param_text(p: A.Param) -> str:
    prefix = {"var": "*", "kwvar": "**"}.get(p.kind, "")
    text = prefix + p.name + (f": {type_text(p.type)}" if p.type is not None else "")
    return text + (" = …" if p.default is not None else "")


def signature_text(decl: A.FuncDecl) -> str:
    returns = f" -> {type_text(decl.returns)}" if decl.returns is not None else ""
    return f"func {decl.name}({', '.join(_param_text(p) for p in decl.params)}){returns}"


def model_header(decl: A.ModelDecl) -> str:
    return f"{decl.kind} {decl.name}" + (f" extends {decl.base}" if decl.base else "")


class Analysis:
    """One parse and check of a document.  `module` is None when the source does not parse;
    pass the previous analysis as `fallback` so completion and navigation keep working while
    the user types.  `check(module) -> (diagnostics, program)` resolves the parsed module
    (`check_program` by default; the REPL's leaves out declarations a later input replaced)."""

    def __init__(self, source: str, filename: str, fallback: Analysis | None = None, check=check_program):
        self.source = source
        self.filename = filename
        self.lines = source.split("\n")
        self.module: A.Module | None = None
        self.diagnostics: list[Diagnostic] = []
        self._imported: dict[str, _Outline | None] = {}
        self.program = None  # the front end's resolved program (`CheckContext`)
        try:
            self.module = parse(source, filename)
        except MError as err:
            self.diagnostics = list(err.diagnostics)
        if self.module is not None:
            self.diagnostics, self.program = check(self.module)
            self.module = self.program.module
            self._offsets = line_offsets(source)
            self.scopes = self._collect_scopes()
        elif fallback is not None and fallback.module is not None:
            self.module, self._offsets, self.scopes = fallback.module, fallback._offsets, fallback.scopes
            self.program = fallback.program
        else:
            self._offsets, self.scopes = line_offsets(source), []

    @classmethod
    def of(cls, source: str, program) -> Analysis:
        """The analysis of a program the front end has already resolved (`check_program`'s
        `CheckContext` for `source`): the REPL's session, checked once for running it."""
        self = cls.__new__(cls)
        self.source, self.filename, self.lines = source, program.filename, source.split("\n")
        self.module, self.program, self._imported = program.module, program, {}
        self.diagnostics = list(program.diagnostics)
        self._offsets = line_offsets(source)
        self.scopes = self._collect_scopes()
        return self

    # ------------------------------------------------------------------ positions
    def offset(self, line: int, column: int) -> int:
        """Source offset of 1-based `line`, 0-based `column`."""
        if line - 1 >= len(self._offsets):
            return len(self.source)
        return self._offsets[line - 1] + column

    def text_offset(self, line: int, column: int) -> int:
        """Offset in the current text (which may differ from the last parsed one)."""
        return sum(len(text) + 1 for text in self.lines[:line - 1]) + column

    def in_code(self, line: int, column: int) -> bool:
        """Whether a position of the current text is outside strings and comments."""
        return in_code(self.source, self.text_offset(line, column))

    def _span_offset(self, span: Span) -> int:
        return self.offset(span.line, span.column - 1)

    def name_span(self, name: str, span: Span) -> Span:
        """The span of `name` itself, searched from the start of the statement `span` on."""
        return name_span(self.lines, name, span)

    # ------------------------------------------------------------------ scopes and symbols
    def _collect_scopes(self) -> list[_Scope]:
        """The front end's scopes of the module (`CheckContext.scopes`), placed in the text, with
        each binding as a symbol (trailing blocks and comprehensions are left out)."""
        scopes = []
        for scope in self.program.scopes if self.program is not None else ():
            node = scope.node
            if scope.kind == "module":
                view = _Scope(None, 0, len(self.source))
            elif scope.kind == "function" or (scope.kind == "model" and node.span.file == self.filename):
                start = self._span_offset(node.span)
                view = _Scope(node, start, block_end(self.source, start))
            else:
                continue
            if scope.kind == "model":
                view.model = node
                for name, (f, owner) in self.model_fields(node).items():
                    view.symbols[name] = self._field_symbol(f, owner)
            else:
                if scope.parent is not None and scope.parent.kind == "model":  # a forward block
                    view.model, view.in_forward = scope.parent.node, True
                for name, binding in scope.bindings(self.lines).items():
                    view.symbols[name] = self._symbol(binding)
            scopes.append(view)
        return scopes

    def _symbol(self, b: Binding) -> Symbol:
        """The editor's symbol for a name the front end resolved: its detail text, and where an
        import leads."""
        node = b.node
        if b.kind == "parameter":
            return Symbol(b.name, "parameter", b.span, f"(parameter) {_param_text(node)}", node.default,
                          annotation=type_text(node.type) if node.type is not None else None)
        if b.kind == "function":
            return Symbol(b.name, "function", b.span, signature_text(node), node=node)
        if b.kind in ("model", "metamodel"):
            return Symbol(b.name, b.kind, b.span, model_header(node), node=node)
        if b.kind == "module":
            resolved = self.resolve_import(node.path)
            where = Span(str(resolved), 1, 1, 1, 1) if resolved else b.span
            return Symbol(b.name, "module", where, f'import "{node.path}"' + (f" as {node.alias}" if node.alias else ""))
        if b.kind == "python module":
            return Symbol(b.name, "python module", b.span,
                          f"import python {node.module}" + (f" as {node.alias}" if node.alias else ""))
        if isinstance(node, A.FromImport):
            item = next(i for i in node.names if i.bound_name == b.name)
            resolved = self.resolve_import(node.path)
            return Symbol(b.name, "variable", b.span, f'from "{node.path}" import {item.name}',
                          target=(str(resolved), item.name) if resolved else None)
        return Symbol(b.name, "variable", b.span, "", b.value)

    def scopes_at(self, offset: int) -> list[_Scope]:
        """The scopes containing `offset`, innermost first."""
        inside = [s for s in self.scopes if s.start <= offset < max(s.end, s.start + 1) or s.node is None]
        return sorted(inside, key=lambda s: s.end - s.start)

    def lookup(self, name: str, offset: int) -> Symbol | None:
        for scope in self.scopes_at(offset):
            if name in scope.symbols:
                return scope.symbols[name]
        return None

    # ------------------------------------------------------------------ imports and models
    def resolve_import(self, path: str) -> Path | None:
        from mlang.lang.runtime import resolve_import
        try:
            return resolve_import(path, self.filename)
        except MError:
            return None

    def imported(self, resolved: str) -> _Outline | None:
        """The outline of an imported M file — as the check of this one resolved it — once per analysis."""
        if resolved not in self._imported:
            program = self.program.programs.get(resolved) if self.program is not None else None
            try:
                source = program.source if program is not None else Path(resolved).read_text(encoding="utf-8")
                self._imported[resolved] = _Outline(source, resolved, program)
            except (OSError, UnicodeDecodeError):
                self._imported[resolved] = None
        return self._imported[resolved]

    def follow(self, symbol: Symbol) -> Symbol:
        """A `from "x.m" import name` symbol → the symbol in x.m that it names."""
        seen = 0
        while symbol.target is not None and seen < 8:
            outline = self.imported(symbol.target[0])
            found = outline.top_level(symbol.target[1]) if outline else None
            if found is None:
                break
            symbol, seen = found, seen + 1
        return symbol

    @property
    def model_decls(self) -> dict[str, A.ModelDecl]:
        """Every model declaration visible at top level: the document's own and imported ones
        (and the standard metamodels its models extend), as the front end resolved them."""
        return self.program.models if self.program is not None else {}

    @property
    def table(self) -> ModelTable:
        """The resolved models (`mlang.lang.resolve`): the front end's for the document."""
        return self.program.table if self.program is not None else ModelTable({}, registry.builtins())

    def model_fields(self, decl: A.ModelDecl) -> dict[str, tuple[A.FieldDecl, A.ModelDecl]]:
        """Fields by name, `input`/`output` and inherited ones included, each with its typed
        declaration (or its binding, when never typed) and the model that declares it."""
        resolved = self.table.fields(decl)
        if resolved is None:  # a base the front end cannot see: what the body itself says
            return {f.name: (f, decl) for f in decl.fields}
        fields = dict(self.table.io_fields(decl))
        for name, f in resolved.items():
            fields[name] = (f.declared, f.declared_in) if f.declared is not None else (f.decl, f.owner)
        return fields

    def field_span(self, f: A.FieldDecl, owner: A.ModelDecl) -> Span:
        if f.span.file == self.filename:
            return self.name_span(f.name, f.span)
        return Span(f.span.file, f.span.line, f.span.column, f.span.line, f.span.column + len(f.name))

    def _field_symbol(self, f: A.FieldDecl, owner: A.ModelDecl) -> Symbol:
        static = self.static_models.models.get(owner.name) if self.static_models else None
        known = static.fields.get(f.name) if static else None
        kind = str(known.type) if known is not None else type_text(f.type)
        return Symbol(f.name, "field", self.field_span(f, owner), f"(field of {owner.name}) {f.name}: {kind}",
                      annotation=kind)

    @cached_property
    def static_models(self):
        """The models stage's static view (fields, I/O types, shapes), or None without it."""
        # computed by `m check`'s models plugin; without the models stage the editor only loses shapes
        return self.program.results.get("models") if self.program is not None else None

    @cached_property
    def layer_shapes(self) -> dict[int, tuple]:
        """id(layer Call) → (input type, output type) through each model's layer stack."""
        checker, shapes = self.static_models, {}
        if checker is None:
            return shapes
        from mlang.lang import types as T
        from mlang.models.shapes import ShapeMismatch, field_bindings, propagate, stack_input
        for model in (m for m in checker.models.values() if m is not None):
            env = model.env()
            current = stack_input(T.substitute(model.input_type, field_bindings(env)))
            for layer_call in model.layers:
                try:
                    layer = checker.static_layer(layer_call.call, env)
                    output = propagate(current, [layer])[0] if hasattr(layer, "output_type") else T.ANY
                except (ShapeMismatch, MError):
                    output = T.ANY
                shapes.setdefault(id(layer_call.call), (current, output))
                current = output
        return shapes

    def model_summary(self, decl: A.ModelDecl) -> str:
        lines = [model_header(decl) + " {"]
        static = self.static_models.models.get(decl.name) if self.static_models else None
        if static is not None:
            lines.append(f"    input: {static.input_type}")
            output = self.static_models.outputs.get(decl.name, static.output_type)
            lines.append(f"    output: {output}")
        for name, (f, owner) in self.model_fields(decl).items():
            if name in ("input", "output") and static is not None:
                continue
            known = static.fields.get(name) if static else None
            kind = str(known.type) if known is not None else type_text(f.type)
            default = self._field_default(f, owner, decl)
            lines.append(f"    {name}: {kind}{default}")
        layers = static.layers if static is not None else decl.layers
        for layer in layers:
            shapes = self.layer_shapes.get(id(layer.call))
            arrow = f"    // {shapes[0]} -> {shapes[1]}" if shapes else ""
            lines.append(f"    {_call_text(layer.call, self)}{arrow}")
        lines.append("}")
        return "\n".join(lines)

    def _field_default(self, f: A.FieldDecl, owner: A.ModelDecl, decl: A.ModelDecl) -> str:
        for current in (decl, owner):
            bound = next((x for x in current.fields if x.name == f.name and x.default is not None), None)
            if bound is not None:
                return " = " + _source_text(bound.default, self)
        return "  (abstract)" if f.default is None else ""

    # ------------------------------------------------------------------ inference
    def infer(self, expr: A.Expr | None, offset: int, depth: int = 0) -> str:
        """The type of `expr` as far as the source states it, else `Any`."""
        if expr is None or depth > 16:
            return "Any"
        if isinstance(expr, A.Constant):
            value = expr.value
            return "none" if value is None else {bool: "bool", int: "int", float: "float", str: "str"}[type(value)]
        if isinstance(expr, A.FString):
            return "str"
        if isinstance(expr, (A.Compare, A.BoolOp)) or (isinstance(expr, A.UnaryOp) and expr.op == "not"):
            return "bool"
        if isinstance(expr, A.UnaryOp):
            return self.infer(expr.operand, offset, depth + 1)
        if isinstance(expr, A.BinOp):
            return _arithmetic(expr.op, self.infer(expr.left, offset, depth + 1),
                               self.infer(expr.right, offset, depth + 1))
        if isinstance(expr, (A.ListLit, A.SetLit)):
            kinds = {self.infer(e, offset, depth + 1) for e in expr.elts}
            return f"List[{kinds.pop() if len(kinds) == 1 else 'Any'}]"
        if isinstance(expr, A.DictLit):
            keys = {"str" if isinstance(k, A.Name) else self.infer(k, offset, depth + 1) for k in expr.keys}
            values = {self.infer(v, offset, depth + 1) for v in expr.values}
            one = lambda kinds: kinds.pop() if len(kinds) == 1 else "Any"  # noqa: E731
            return f"Dict[{one(keys)}, {one(values)}]"
        if isinstance(expr, A.TupleLit):
            return "(" + ", ".join(self.infer(e, offset, depth + 1) for e in expr.elts) + ")"
        if isinstance(expr, A.ListComp):
            return "List[Any]"
        if isinstance(expr, A.Name):
            symbol = self.lookup(expr.id, offset)
            return self.symbol_type(symbol, depth + 1) if symbol else "Any"
        if isinstance(expr, A.Call):
            return self._call_type(expr, offset, depth)
        return "Any"

    def _call_type(self, call: A.Call, offset: int, depth: int) -> str:
        checker = self.static_models
        if checker is not None:
            value = checker.instantiations.get(id(call)) or checker.composition_values.get(id(call))
            if value is not None:
                return f"{value.name}: Model[{value.input} -> {value.output}]"
        if not isinstance(call.func, A.Name):
            return "Any"
        name = call.func.id
        symbol = self.lookup(name, offset)
        if symbol is not None:
            symbol = self.follow(symbol)
            if symbol.kind in ("model", "metamodel"):
                return f"{name}: Model"
            decl = self._function_decl(symbol)
            if decl is not None and decl.returns is not None:
                return type_text(decl.returns)
            return "Any"
        return {"int": "int", "float": "float", "str": "str", "bool": "bool", "len": "int", "range": "range",
                "list": "List[Any]", "dict": "Dict[Any, Any]"}.get(name, "Any")

    @staticmethod
    def _function_decl(symbol: Symbol) -> A.FuncDecl | None:
        return symbol.node if symbol.kind == "function" and isinstance(symbol.node, A.FuncDecl) else None

    def symbol_type(self, symbol: Symbol, depth: int = 0) -> str:
        symbol = self.follow(symbol)
        if symbol.kind == "variable" and symbol.value is not None:
            return self.infer(symbol.value, self._span_offset(symbol.span), depth)
        if symbol.kind in ("parameter", "field"):
            if symbol.annotation is not None:
                return symbol.annotation
            return self.infer(symbol.value, self._span_offset(symbol.span), depth) if symbol.value else "Any"
        return symbol.kind

    # ------------------------------------------------------------------ hover
    def hover(self, line: int, column: int) -> tuple[str, Span] | None:
        """Markdown for the name at a position, and the span it covers."""
        if self.module is None or not 1 <= line <= len(self.lines):
            return None
        found = word_at(self.lines[line - 1], column)
        if found is None or not self.in_code(line, found[1]):
            return None
        word, start = found
        span = Span(self.filename, line, start + 1, line, start + 1 + len(word))
        offset = self.offset(line, start)
        layer = self._layer_call_at(line, start + 1, word)
        if layer is not None:
            shapes = self.layer_shapes.get(id(layer))
            text = f"(layer) {_call_text(layer, self)}"
            if shapes:
                text += f"\n// input:  {shapes[0]}\n// output: {shapes[1]}"
            return _markdown(text), span
        member = self._member_symbol(line, start, word)
        symbol = member or self.lookup(word, offset)
        if symbol is not None:
            return _markdown(self.describe(symbol)), span
        builtin = registry.builtins().get(word)
        if builtin is not None:
            return _markdown(_builtin_text(builtin)), span
        if word in TYPE_NAMES:
            return _markdown(f"(type) {word}"), span
        return None

    def describe(self, symbol: Symbol) -> str:
        symbol = self.follow(symbol)
        if symbol.kind in ("model", "metamodel"):
            decl = self._model_decl(symbol)
            return self.model_summary(decl) if decl is not None else symbol.detail
        if symbol.kind == "variable":
            return f"{symbol.name}: {self.symbol_type(symbol)}"
        if symbol.kind == "parameter":
            return f"(parameter) {symbol.name}: {self.symbol_type(symbol)}"
        return symbol.detail

    def _model_decl(self, symbol: Symbol) -> A.ModelDecl | None:
        if isinstance(symbol.node, A.ModelDecl):
            return symbol.node
        for decl in self.model_decls.values():
            if decl.name == symbol.name and decl.span.file == symbol.span.file:
                return decl
        outline = self.imported(symbol.span.file) if symbol.span.file != self.filename else None
        return outline.model_decls.get(symbol.name) if outline else None

    def _layer_call_at(self, line: int, column: int, word: str) -> A.Call | None:
        for decl in (n for n in self.module.body if isinstance(n, A.ModelDecl)):
            for layer in decl.layers:
                func = layer.call.func
                if isinstance(func, A.Name) and func.id == word and func.span.line == line \
                        and func.span.column == column:
                    return layer.call
        return None

    def _member_symbol(self, line: int, start: int, word: str) -> Symbol | None:
        """For `a.b` with the cursor on `b`: the symbol `b` names in what `a` is."""
        before = self.lines[line - 1][:start]
        match = re.search(r"([^\W\d]\w*)\s*\.\s*$", before)
        if not match:
            return None
        members = self.members(match.group(1), self.offset(line, match.start(1)))
        return members.get(word) if members else None

    def members(self, name: str, offset: int) -> dict[str, Symbol] | None:
        """What `name.` offers: an imported M file's top-level names, or a model's fields."""
        symbol = self.lookup(name, offset)
        if symbol is None:
            return None
        symbol = self.follow(symbol)
        if symbol.kind == "module":
            outline = self.imported(symbol.span.file)
            return dict(outline.scopes[0].symbols) if outline and outline.scopes else None
        decl = self._model_decl(symbol) if symbol.kind in ("model", "metamodel") else None
        if decl is None and symbol.kind == "variable" and symbol.value is not None:
            decl = self._instantiated_model(symbol.value, self._span_offset(symbol.span))
        if decl is None:
            return None
        return {n: self._field_symbol(f, owner) for n, (f, owner) in self.model_fields(decl).items()}

    def _instantiated_model(self, value: A.Expr, offset: int) -> A.ModelDecl | None:
        if isinstance(value, A.Call) and isinstance(value.func, A.Name):
            symbol = self.lookup(value.func.id, offset)
            if symbol is not None and self.follow(symbol).kind in ("model", "metamodel"):
                return self._model_decl(self.follow(symbol))
        return None

    # ------------------------------------------------------------------ go to definition
    def definition(self, line: int, column: int) -> Span | None:
        if self.module is None or not 1 <= line <= len(self.lines):
            return None
        imported = self._import_path_at(line, column)
        if imported is not None:
            return Span(str(imported), 1, 1, 1, 1)
        found = word_at(self.lines[line - 1], column)
        if found is None or not self.in_code(line, found[1]):
            return None
        word, start = found
        symbol = self._member_symbol(line, start, word) or self.lookup(word, self.offset(line, start))
        return self.follow(symbol).span if symbol is not None else None

    def _import_path_at(self, line: int, column: int) -> Path | None:
        text = self.lines[line - 1]
        for stmt in self.module.body:
            if isinstance(stmt, (A.Import, A.FromImport)) and stmt.span.line == line:
                for quote in ('"', "'"):
                    at = text.find(quote + stmt.path + quote)
                    if at >= 0 and at <= column <= at + len(stmt.path) + 1:
                        return self.resolve_import(stmt.path)
        return None

    # ------------------------------------------------------------------ completion
    def completions(self, line: int, column: int) -> list[Completion]:
        text = self.lines[line - 1][:column] if 1 <= line <= len(self.lines) else ""
        if not self.in_code(line, column):
            return []
        offset = self.offset(line, column)
        access = _MEMBER_ACCESS.search(text)
        if access:
            return self._member_completions(access.group(1), offset)
        items = {c.label: c for c in self._argument_completions(line, column, offset)}
        scopes = self.scopes_at(offset) if self.module is not None else []
        for scope in reversed(scopes):  # inner scopes last: their names win
            for symbol in scope.symbols.values():
                items[symbol.name] = Completion(symbol.name, _completion_kind(symbol.kind), symbol.detail)
        if _TYPE_POSITION.search(text):
            for name in TYPE_NAMES:
                items.setdefault(name, Completion(name, "type", "type"))
        model_body = next((s for s in scopes if s.model is not None), None)
        if model_body is not None and not model_body.in_forward:
            for name in _layer_names():
                items.setdefault(name, Completion(name, "layer", "layer"))
        for name, builtin in registry.builtins().items():
            items.setdefault(name, Completion(name, "builtin", _builtin_signature_text(builtin)))
        for word in KEYWORDS:
            items.setdefault(word, Completion(word, "keyword", "keyword"))
        return list(items.values())

    def _argument_completions(self, line: int, column: int, offset: int) -> list[Completion]:
        """`name=` for each keyword the call being written accepts: a function's parameters, a
        model's fields, a builtin's or layer's parameters."""
        callee = open_call(self.source, self.text_offset(line, column))
        if callee is None:
            return []
        symbol = self.lookup(callee, offset) if self.module is not None else None
        names: list[str] = []
        if symbol is not None:
            symbol = self.follow(symbol)
            decl = self._model_decl(symbol) if symbol.kind in ("model", "metamodel") else None
            function = self._function_decl(symbol)
            if decl is not None:
                names = [n for n in self.model_fields(decl) if n not in ("input", "output")]
            elif function is not None:
                names = [p.name for p in function.params if p.kind == "normal"]
        elif callee in registry.builtins():
            sig = _signature(registry.builtins()[callee])
            hidden = _LAYER_PLUMBING if callee in _layer_names() else ()
            names = [n for n in sig.names() if not n.startswith("_") and n not in hidden] if sig else []
        return [Completion(f"{n}=", "argument", f"{callee}({n}=…)") for n in names]

    def _member_completions(self, name: str, offset: int) -> list[Completion]:
        members = self.members(name, offset) if self.module is not None else None
        if members is None:
            return []
        items = [Completion(s.name, _completion_kind(s.kind), s.detail) for s in members.values()]
        symbol = self.follow(self.lookup(name, offset))
        if symbol.kind != "module":
            items += [Completion(n, "method", "model member") for n in MODEL_MEMBERS if n not in members]
        return items


class _Outline(Analysis):
    """An imported file, as the front end resolved it when it checked the import (its own errors
    are reported at the import by the checker); checked here only when it was not."""

    def __init__(self, source: str, filename: str, program=None):
        self.source, self.filename, self.lines = source, filename, source.split("\n")
        self.diagnostics, self._imported = [], {}
        self._offsets = line_offsets(source)
        self.program = program
        if program is None:
            try:
                self.module = parse(source, filename)
            except MError:
                self.module, self.scopes = None, []
                return
            self.program = check_program(self.module, plugins=False)[1]
        self.module = self.program.module
        self.scopes = self._collect_scopes()

    def top_level(self, name: str) -> Symbol | None:
        return self.scopes[0].symbols.get(name) if self.scopes else None


# ---------------------------------------------------------------------- helpers

def _arithmetic(op: str, left: str, right: str) -> str:
    numbers = ("int", "float", "bool")
    if left in numbers and right in numbers:
        if op == "/" or "float" in (left, right):
            return "float"
        return "int"
    if op == "+" and left == right == "str":
        return "str"
    if op in ("+", "*") and left.startswith("List[") and (left == right or right == "int"):
        return left
    return "Any"


def _source_text(node: A.Node, analysis: Analysis) -> str:
    """The source of an expression on its line (up to the end of the statement on that line)."""
    source = analysis if node.span.file == analysis.filename else analysis.imported(node.span.file)
    if source is None or node.span.line > len(source.lines):
        return "…"
    text = source.lines[node.span.line - 1][node.span.column - 1:]
    return re.split(r"\s*(?://|#|;)", text)[0].strip() or "…"


def _call_text(call: A.Call, analysis: Analysis) -> str:
    text = _source_text(call, analysis)
    depth, end = 0, len(text)
    for index, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == ")" and depth == 0:
            end = index + 1
            break
    return text[:end]


def _markdown(text: str) -> str:
    return f"```m\n{text}\n```"


def _signature(builtin: registry.Builtin):
    try:
        return builtin.signature
    except Exception:  # a stage's broken declaration must not break completion
        return None


def _builtin_signature_text(builtin: registry.Builtin) -> str:
    sig = _signature(builtin)
    return sig.text() if sig is not None else f"{builtin.name}(…)"


def _builtin_text(builtin: registry.Builtin) -> str:
    text = "(builtin) " + _builtin_signature_text(builtin)
    if builtin.accepts_block:
        text += " { … }"
    if builtin.doc:
        text += "\n// " + builtin.doc.strip().splitlines()[0]
    return text


def _completion_kind(symbol_kind: str) -> str:
    return {"metamodel": "model", "parameter": "variable", "python module": "module"}.get(symbol_kind, symbol_kind)


def _layer_names() -> list[str]:
    try:
        from mlang.models.layers import layer_names
        return layer_names()
    except Exception:  # without the models stage there is no layer catalogue to offer
        return []

