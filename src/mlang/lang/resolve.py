"""Model declarations resolved: which declaration a name means, and its fields with inherited ones.

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
from mlang.lang.diagnostics import MError

__all__ = ["Field", "ModelTable", "IO_FIELDS", "no_field", "positional_fields", "unbound_field"]

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

def no_field(model: str, name: str, fields, span=None) -> MError:
    """`Classifier(num_label=3)`: the model has no such field."""
    import difflib

    fields = list(fields)
    close = difflib.get_close_matches(name, fields, n=1)
    return MError(f"{model} has no field '{name}'", span,
                  hint=f"did you mean '{close[0]}'?" if close else f"its fields are: {', '.join(fields) or 'none'}")


def positional_fields(model: str, count: int, span=None) -> MError:
    """`Classifier(3)`: fields are given by name."""
    return MError(f"{model}(...) takes fields by name, got {count} positional argument(s)", span,
                  hint=f"write {model}(field=value, ...)")


def unbound_field(model: str, name: str, span=None) -> MError:
    """`Classifier()` where `encoder` is abstract and not given."""
    return MError(f"cannot instantiate {model}: its abstract field '{name}' is unbound", span,
                  hint=f"pass {model}({name}=...) or bind it in a model that extends {model}")
