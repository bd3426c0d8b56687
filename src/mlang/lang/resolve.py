"""The resolved program: which declaration a model name means, its fields with inherited ones,
and the scopes of a module with the names each binds and where.

One place knows "the fields of a model, inherited ones included": the checker, the models and
hyperparameter checks and the language server read them from a `ModelTable`.  A table holds the
declarations a module sees by name (its own and imported ones) and, behind them, the builtins
written in M (`registry.Builtin.m_file`: the standard metamodels), whose files are read through
the normal parser, once per process.  A declaration from such a file resolves its base among
that file's declarations.

Fields are in declaration order, bases first; a field a model re-declares or binds keeps its
place.  `fields(decl)` is None when a base cannot be seen (then nothing about the model's fields
may be reported: unknowns are no error).
"""
from __future__ import annotations

from dataclasses import dataclass

from mlang.lang import ast as m
from mlang.lang.diagnostics import MError, Span

__all__ = ["Binding", "Field", "ModelTable", "IO_FIELDS", "Scope", "binds_undeclared", "did_you_mean", "name_span",
           "no_field", "positional_fields", "unbound_field", "unknown_base"]

IO_FIELDS = ("input", "output")  # typed declarations of a model's I/O, not fields one binds


@dataclass
class Field:
    """A model's field as its declarations and bindings along `extends` leave it."""

    name: str
    decl: m.FieldDecl  # the nearest declaration or binding
    owner: m.ModelDecl  # the model whose body holds `decl`
    declared: m.FieldDecl | None  # the nearest declaration with a type (None: never typed)
    declared_in: m.ModelDecl | None  # the model whose body holds `declared`
    default: m.Expr | None  # the nearest value (None: abstract, or untyped and unbound)

    @property
    def type(self) -> m.TypeExpr | None:
        return self.declared.type if self.declared is not None else None

    @property
    def abstract(self) -> bool:
        return self.default is None and self.type is not None


_m_files: dict[str, dict[str, m.ModelDecl]] = {}


def m_file_declarations(path: str) -> dict[str, m.ModelDecl]:
    """The model declarations of an M file that declares builtins, parsed once per process."""
    if path not in _m_files:
        from mlang.lang.parser import parse

        with open(path, encoding="utf-8") as file:
            module = parse(file.read(), path)
        _m_files[path] = {s.name: s for s in module.body if isinstance(s, m.ModelDecl)}
    return _m_files[path]


class ModelTable:
    """The model declarations one module sees, and their resolved fields."""

    def __init__(self, local: dict[str, m.ModelDecl], builtins: dict):
        self.local = local  # bound name → declaration (the module's own and imported ones)
        self.builtins = builtins
        self._scopes: dict[int, dict[str, m.ModelDecl]] = {}  # id(decl from an M builtin file) → its file's
        self._fields: dict[tuple, dict[str, Field] | None] = {}

    @classmethod
    def of_lineage(cls, chain: list[m.ModelDecl]) -> ModelTable:
        """The table of one declaration and its bases as the run found them (nearest first):
        each resolves its `extends` to the next, whichever names its module bound (runtime
        declaration reads its fields from here, as `m check` does from the module's table)."""
        table = cls({}, {})
        for decl, base in zip(chain, [*chain[1:], None]):
            table._scopes[id(decl)] = {decl.base: base} if base is not None else {}
        return table

    def builtin(self, name: str) -> m.ModelDecl | None:
        """The declaration of a builtin written in M (`TextClassifier`), None for any other name."""
        entry = self.builtins.get(name)
        path = getattr(entry, "m_file", None)
        if path is None:
            return None
        try:
            decls = m_file_declarations(path)
        except (OSError, UnicodeDecodeError, MError):  # the library's fault, not the program's
            return None
        for decl in decls.values():
            self._scopes.setdefault(id(decl), decls)
        return decls.get(name)

    def get(self, name: str, seen_from: m.ModelDecl | None = None) -> m.ModelDecl | None:
        """The declaration `name` means where `seen_from` is declared (the module by default)."""
        scope = self._scopes.get(id(seen_from)) if seen_from is not None else None
        if scope is not None:
            found = scope.get(name)
            return found if found is not None else self.builtin(name)
        found = self.local.get(name)
        return found if found is not None else self.builtin(name)

    def base(self, decl: m.ModelDecl) -> m.ModelDecl | None:
        return self.get(decl.base, decl) if decl.base is not None else None

    def lineage(self, decl: m.ModelDecl) -> list[m.ModelDecl] | None:
        """`decl` and its bases, nearest first; None when a base cannot be seen or in a cycle."""
        chain = [decl]
        while chain[-1].base is not None:
            base = self.base(chain[-1])
            if base is None or base in chain:
                return None
            chain.append(base)
        return chain

    def fields(self, decl: m.ModelDecl, partial: bool = False) -> dict[str, Field] | None:
        """Every field of `decl`, inherited ones included (not `input:`/`output:` types); None
        when a base cannot be seen — or, `partial`, what the model itself declares and binds."""
        key = (id(decl), partial)
        if key not in self._fields:
            self._fields[key] = None  # a cycle reached again is unknown
            self._fields[key] = self._resolve(decl, partial)
        return self._fields[key]

    def _resolve(self, decl: m.ModelDecl, partial: bool) -> dict[str, Field] | None:
        fields: dict[str, Field] = {}
        if decl.base is not None:
            base = self.base(decl)
            inherited = self.fields(base) if base is not None else None
            if inherited is None and not partial:
                return None
            fields.update(inherited or {})
        for f in decl.fields:
            if f.name in IO_FIELDS and f.type is not None:
                continue
            before = fields.get(f.name)
            if f.type is not None:
                fields[f.name] = Field(f.name, f, decl, f, decl, f.default)
            else:
                fields[f.name] = Field(f.name, f, decl, before.declared if before else None,
                                       before.declared_in if before else None, f.default)
        return fields

    def undeclared_bindings(self, decl: m.ModelDecl) -> list[m.FieldDecl]:
        """The bindings (no type) in `decl`'s body of a field that no base declares and the body
        does not type either (`num_label = 2` extending TextClassifier: `binds_undeclared`);
        none when `decl` extends nothing or a base cannot be seen."""
        base = self.base(decl) if decl.base is not None else None
        inherited = self.fields(base) if base is not None else None
        if inherited is None:
            return []
        typed = {f.name for f in decl.fields if f.type is not None}
        return [f for f in decl.fields if f.type is None and f.name not in inherited and f.name not in typed
                and f.name not in IO_FIELDS]

    def io_fields(self, decl: m.ModelDecl) -> dict[str, tuple[m.FieldDecl, m.ModelDecl]]:
        """The nearest `input:` and `output:` declarations along `extends`, with their models."""
        found: dict[str, tuple[m.FieldDecl, m.ModelDecl]] = {}
        for d in self.lineage(decl) or [decl]:
            for f in d.fields:
                if f.name in IO_FIELDS and f.type is not None:
                    found.setdefault(f.name, (f, d))
        return found

    def add_file(self, module: m.Module, visible: dict[str, m.ModelDecl] | None = None) -> None:
        """Make the models of an imported M file resolve their bases among the models that file
        sees (`visible`: its own and those it imports; its own by default)."""
        decls = {s.name: s for s in module.body if isinstance(s, m.ModelDecl)}
        for decl in decls.values():
            self._scopes.setdefault(id(decl), visible if visible is not None else decls)


# ----- the messages of instantiating a model, one wording for `m check` and for the run ---------

def did_you_mean(name: str, candidates, cutoff: float = 0.6) -> str | None:
    """The "did you mean 'x'?" hint for the closest candidate, None when none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"did you mean '{close[0]}'?" if close else None


def no_field(model: str, name: str, fields, span=None) -> MError:
    """`Classifier(num_label=3)`: the model has no such field."""
    fields = list(fields)
    return MError(f"{model} has no field '{name}'", span,
                  hint=did_you_mean(name, fields) or f"its fields are: {', '.join(fields) or 'none'}")


def positional_fields(model: str, count: int, span=None) -> MError:
    """`Classifier(3)`: fields are given by name."""
    return MError(f"{model}(...) takes fields by name, got {count} positional argument(s)", span,
                  hint=f"write {model}(field=value, ...)")


def binds_undeclared(kind: str, model: str, name: str, base: str, fields, span=None) -> MError:
    """`model S extends TextClassifier { num_label = 2 }`: a binding (no type) of a field no base
    declares is a typo far more often than a new field."""
    return MError(f"{kind} {model} binds '{name}', which {base} does not declare", span,
                  hint=did_you_mean(name, fields) or f"declare a new field with its type: {name}: <type> = ...")


def unknown_base(base: str, span=None, hint: str | None = None) -> MError:
    """`model S extends Encodr`: no model or metamodel of that name (`hint`: a did-you-mean)."""
    return MError(f"unknown model '{base}' after extends", span,
                  hint=hint or "declare it with `metamodel` or `model`, or import the file that does")


def unbound_field(model: str, name: str, span=None) -> MError:
    """`Classifier()` where `encoder` is abstract and not given."""
    return MError(f"cannot instantiate {model}: its abstract field '{name}' is unbound", span,
                  hint=f"pass {model}({name}=...) or bind it in a model that extends {model}")


# ----- scopes: the names each one binds, and where ----------------------------------------------

@dataclass
class Binding:
    """A name a scope binds, and where: the statement (or parameter) that binds it, the span of
    the name itself, and for a variable the value assigned (for inferring its type)."""

    name: str
    kind: str  # variable | parameter | function | model | metamodel | module | python module
    node: m.Node
    span: Span
    value: m.Expr | None = None


class Scope:
    """One scope of a checked module, as the front end resolved it: its kind, the node that opens
    it, the names it binds (`names`, what lookups read) and `bindings(lines)`: each name's
    `Binding` with the span of the name itself (read on demand: the editor needs it, `m check`
    does not).  `open`: names the checker cannot see may be bound here (a model whose base is
    unknown).  Scopes chain to their `parent`; `CheckContext.scopes` lists a module's in order."""

    __slots__ = ("kind", "names", "parent", "open", "funcs", "node", "params", "body", "_bindings")

    def __init__(self, kind: str, names: set[str], parent: Scope | None, open_: bool = False,
                 node: m.Node | None = None, params: list[m.Param] = (), body: list[m.Stmt] = ()):
        self.kind = kind  # module | function | block | model | comprehension
        self.names = names
        self.parent = parent
        self.open = open_
        self.funcs: dict[str, m.FuncDecl] = {}
        self.node, self.params, self.body = node, params, body
        self._bindings: dict[str, Binding] | None = None

    def lookup(self, name: str) -> Scope | None:
        scope = self
        while scope is not None:
            if name in scope.names:
                return scope
            scope = scope.parent
        return None

    def is_open(self) -> bool:
        scope = self
        while scope is not None:
            if scope.open:
                return True
            scope = scope.parent
        return False

    def visible(self) -> set[str]:
        names, scope = set(), self
        while scope is not None:
            names |= scope.names
            scope = scope.parent
        return names

    def bindings(self, lines: list[str]) -> dict[str, Binding]:
        """Each parameter and each name the body binds (first binding wins), with the name's own
        span (`lines`: the module's source lines, to find a declared name after its keyword)."""
        if self._bindings is None:
            found: dict[str, Binding] = {}
            for p in self.params:
                if p.kind != "star":
                    found.setdefault(p.name, Binding(p.name, "parameter", p, name_span(lines, p.name, p.span)))
            for stmt in self.body:
                for binding in _declared_by(stmt, lines):
                    found.setdefault(binding.name, binding)
            names = self.names
            for node in _statements(self.body):
                for target, value in _assigned(node):
                    if isinstance(target, m.Name) and target.id in names and target.id not in found:
                        span = target.span
                        found[target.id] = Binding(target.id, "variable", node, Span(
                            span.file, span.line, span.column, span.line, span.column + len(target.id)), value)
            self._bindings = found
        return self._bindings

    def values(self, name: str) -> list[m.Expr | None]:
        """What each binding of `name` in this scope gives it: the value of an assignment
        `name = value`, None for any other binding (a parameter, a loop variable, an unpacking,
        `name += …`, a declaration or an import).  One value: the name holds that value."""
        found: list[m.Expr | None] = [None for p in self.params if p.name == name]
        for stmt in self.body:
            found.extend(None for b in _declared_by(stmt, ()) if b.name == name)
        for node in _statements(self.body):
            if isinstance(node, m.AugAssign) and isinstance(node.target, m.Name) and node.target.id == name:
                found.append(None)
            for target, value in _assigned(node):
                if isinstance(target, m.Name) and target.id == name:
                    found.append(value if isinstance(node, m.Assign) and node.target is target else None)
        return found


def name_span(lines: list[str], name: str, span: Span) -> Span:
    """The span of `name` itself, searched from the start of `span` on (over three lines)."""
    import re

    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    for line_no in range(span.line, min(span.line + 3, len(lines) + 1)):
        text = lines[line_no - 1]
        match = pattern.search(text, span.column - 1 if line_no == span.line else 0)
        if match:
            return Span(span.file, line_no, match.start() + 1, line_no, match.end() + 1)
    return span


def after_keyword(span: Span) -> Span:
    """Where to search a declaration's name: after its keyword (`func f`, `model Net`)."""
    return Span(span.file, span.line, span.column + 1, span.end_line, span.end_column)


def _declared_by(stmt: m.Stmt, lines: list[str]):
    if isinstance(stmt, m.FuncDecl):
        yield Binding(stmt.name, "function", stmt, name_span(lines, stmt.name, after_keyword(stmt.span)))
    elif isinstance(stmt, m.ModelDecl):
        yield Binding(stmt.name, stmt.kind, stmt, name_span(lines, stmt.name, after_keyword(stmt.span)))
    elif isinstance(stmt, m.Import):
        yield Binding(stmt.bound_name, "module", stmt, stmt.span)
    elif isinstance(stmt, m.PythonImport):
        yield Binding(stmt.bound_name, "python module", stmt,
                      name_span(lines, stmt.bound_name, after_keyword(stmt.span)))
    elif isinstance(stmt, m.FromImport):
        for item in stmt.names:
            yield Binding(item.bound_name, "variable", stmt, item.span)


def _statements(body: list[m.Stmt]):
    """The statements of a scope in source order, those of `if`/`while`/`for` bodies included
    (not nested functions, models or trailing blocks: scopes of their own).  Only statements
    bind names in M, so expressions are not walked."""
    stack = list(reversed(body))
    while stack:
        s = stack.pop()
        yield s
        if isinstance(s, m.If):
            stack.extend(reversed(s.orelse))
            stack.extend(reversed(s.body))
        elif isinstance(s, (m.While, m.For)):
            stack.extend(reversed(s.body))


def _assigned(node: m.Node):
    """(target name node, value) pairs a statement binds."""
    if isinstance(node, m.Assign):
        targets = node.target.elts if isinstance(node.target, m.TupleLit) else [node.target]
        single = not isinstance(node.target, m.TupleLit)
        values = node.value.elts if isinstance(node.value, m.TupleLit) and not single \
            and len(node.value.elts) == len(targets) else [None] * len(targets)
        for target, value in zip(targets, [node.value] if single else values):
            yield target, value
    elif isinstance(node, m.For):
        for target in node.target.elts if isinstance(node.target, m.TupleLit) else [node.target]:
            yield target, None
