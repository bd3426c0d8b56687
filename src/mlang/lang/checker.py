"""The checker: errors found before anything runs, all of them reported (not only the first).

It reports undefined names (with "did you mean"), wrong argument counts and keyword names for M
functions and registered builtins, `return` outside a function or inside a block, `break` and
`continue` outside a loop, duplicate declarations, type annotations that name no type, unknown
`extends` bases, missing imports and import cycles, and trailing blocks given to a callee that
takes none.  Then every plugin from `registry.checks()` runs: `fn(module, ctx)` returns
diagnostics; `ctx` is a `CheckContext` (the models stage checks fields and shapes this way).

Unknowns never cause errors: a call through an attribute, a builtin whose signature cannot be
read, a model extending a base the checker cannot see — those are left alone.

The checker visits every node of the module once, and on the way records every call of a plain
name (`ctx.calls`), so that plugins look only at the calls they care about instead of walking
the whole tree again.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from mlang.lang import ast as m
from mlang.lang import registry
from mlang.lang.builtins import PROGRAM_NAMES
from mlang.lang.compiler import bound_names
from mlang.lang.diagnostics import Diagnostic, MError, Span
from mlang.lang.parser import gc_paused
from mlang.lang.registry import Signature, literal_kinds
from mlang.lang.resolve import (ModelTable, Scope, binds_undeclared, did_you_mean, no_field, positional_fields,
                                unknown_base)
from mlang.lang.types import DTYPES, TYPE_NAMES

__all__ = ["CallSite", "CheckContext", "check_module", "check_program", "Signature", "function_signature"]

_SHAPED_TYPES = ("Tensor", "Image")  # their bracket arguments are dims, not types
_RESERVED = "__debug__"  # the one name M allows that Python cannot bind


class CallSite(NamedTuple):
    """A call of a plain name, `name(...)`, the module-level statement that holds it and the
    scope it is made in (what its names mean there: `scope.lookup(name)`)."""

    name: str
    call: m.Call
    statement: m.Stmt
    scope: Scope | None = None


@dataclass
class CheckContext:
    """What a checker plugin is given besides the module.

    `models`: every model/metamodel declaration visible in the module (its own and imported ones,
    by bound name); `builtins`: the registry's builtins; `imports`: bound name → imported
    `Module` AST; `calls`: every call of a plain name in the module, innermost first (arguments
    before the call they are given to), statements in source order — None until the front end
    has checked the module; `report(message, span, hint)` adds a diagnostic.
    """

    filename: str
    source: str
    module: m.Module
    models: dict[str, m.ModelDecl] = field(default_factory=dict)
    builtins: dict = field(default_factory=dict)
    imports: dict[str, m.Module] = field(default_factory=dict)
    calls: list[CallSite] | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    table: ModelTable | None = None  # `models` and the standard metamodels resolved, fields inherited
    results: dict = field(default_factory=dict)  # what plugins computed, for other consumers (the LSP)
    scopes: list[Scope] = field(default_factory=list)  # the module's scopes, outermost first, as resolved
    programs: dict = field(default_factory=dict)  # resolved path of each M file it imports → its context

    def report(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span, hint=hint))


def function_signature(name: str, params: list[m.Param]) -> Signature:
    """The signature of an M function (or forward block) from its parameters, with the types
    its annotations name where a literal can show them (`n: int`)."""
    positional, keyword_only, after_var = [], [], False
    var = kwvar = False
    types = {}
    for p in params:
        if p.kind in ("var", "star"):
            var = var or p.kind == "var"
            after_var = True
        elif p.kind == "kwvar":
            kwvar = True
        elif after_var:
            keyword_only.append((p.name, p.default is not None))
        else:
            positional.append((p.name, p.default is not None))
        if p.type is not None and not isinstance(p.type, m.TypeArrow) and getattr(p.type, "name", None):
            types[p.name] = p.type.name
    return Signature(name, positional, keyword_only, 0, var, kwvar, types)


# ------------------------------------------------------------------ scopes

def _did_you_mean(name: str, candidates) -> str | None:
    """Stricter than elsewhere (many names are in scope), and a name mistyped only in case
    (`Relu`) finds its own (`ReLU`)."""
    hint = did_you_mean(name, candidates, cutoff=0.7)
    if hint is None:
        same = [c for c in candidates if c.lower() == name.lower()]
        hint = f"did you mean '{min(same)}'?" if same else None
    return hint


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ------------------------------------------------------------------ the checker

class _Checker:
    def __init__(self, ctx: CheckContext, checking: list[str], modules: dict):
        self.ctx = ctx
        self.builtins = ctx.builtins
        self.checking = checking  # files being checked, outermost first (import-cycle detection)
        self.modules = modules  # resolved path -> its CheckContext (None while it is checked), shared by one run
        self.scope: Scope | None = None
        self.in_function = False
        self.in_block = False
        self.loop_depth = 0
        self.type_names = set(TYPE_NAMES)
        self.binding_counts: dict[str, int] = {}  # top-level name -> how many statements bind it
        self.function_signatures: dict[m.FuncDecl, tuple[Signature, bool]] = {}
        self.calls: list[CallSite] = []  # becomes ctx.calls once every statement is checked
        self.top_statement: m.Stmt | None = None  # the module-level statement being checked

    def error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.ctx.report(message, span, hint)

    def report(self, error: MError) -> None:
        self.ctx.diagnostics.extend(error.diagnostics)

    def bound(self, name: str, span: Span | None) -> None:
        """Report binding `name` (assigning, declaring, importing or passing it by keyword), which
        the callers test for `_RESERVED`: Python refuses to bind `__debug__`, so the run would
        fail where the check passed."""
        self.error(f"'{name}' cannot be assigned: Python reserves the name", span, hint="choose another name")

    # -- module
    def run(self) -> None:
        module = self.ctx.module
        for s in module.body:
            for name in bound_names([s]):
                self.binding_counts[name] = self.binding_counts.get(name, 0) + 1
        self.scope = self.new_scope("module", set(self.binding_counts) | set(PROGRAM_NAMES), node=module,
                                    body=module.body)
        self.ctx.table = ModelTable(self.ctx.models, self.builtins)
        self.collect_models(module.body)
        self.statements(module.body)
        self.ctx.calls = self.calls

    def collect_models(self, body: list[m.Stmt]) -> None:
        for s in body:
            if isinstance(s, m.ModelDecl):
                self.ctx.models.setdefault(s.name, s)
                self.type_names.add(s.name)
        # the standard metamodels a model extends are visible to the stages' checks as declared
        for decl in list(self.ctx.models.values()):
            for d in (self.ctx.table.lineage(decl) or ())[1:]:
                if self.builtin_model(d.name) is d:
                    self.ctx.models.setdefault(d.name, d)

    def statements(self, body: list[m.Stmt]) -> None:
        declared: dict[str, Span] = {}
        top_level = body is self.ctx.module.body
        for s in body:
            if top_level:
                self.top_statement = s
            name = None
            if isinstance(s, (m.FuncDecl, m.ModelDecl)):
                name = s.name
                if isinstance(s, m.FuncDecl):
                    self.scope.funcs.setdefault(s.name, s)
            elif isinstance(s, (m.Import, m.PythonImport)):
                name = s.bound_name
            elif isinstance(s, m.FromImport):
                for item in s.names:
                    if item.bound_name == _RESERVED:
                        self.bound(item.bound_name, item.span)
            if name is not None:
                if name == _RESERVED:
                    self.bound(name, s.span)
                if name in declared:
                    self.error(f"'{name}' is already declared on line {declared[name].line}", s.span,
                               hint="give one of them another name")
                else:
                    declared[name] = s.span
            self.stmt(s)

    def stmt(self, s: m.Stmt) -> None:
        _STMT_VISITORS[type(s)](self, s)

    def stmt_ExprStmt(self, s: m.ExprStmt):
        self.expr(s.value)

    def stmt_Assign(self, s: m.Assign):
        self.expr(s.value)
        self.target(s.target)

    def stmt_AugAssign(self, s: m.AugAssign):
        self.expr(s.value)
        self.expr(s.target)
        if isinstance(s.target, m.Name):
            if s.target.id == _RESERVED:
                self.bound(s.target.id, s.target.span)
        elif isinstance(s.target, m.Attribute):
            if s.target.attr == _RESERVED:
                self.bound(s.target.attr, s.target.span)

    def target(self, t: m.Expr):
        if isinstance(t, m.Name):
            if t.id == _RESERVED:
                self.bound(t.id, t.span)
        elif isinstance(t, (m.TupleLit, m.ListLit)):
            for elt in t.elts:
                self.target(elt)
        elif isinstance(t, m.Starred):
            self.target(t.value)
        elif isinstance(t, m.Attribute):
            if t.attr == _RESERVED:
                self.bound(t.attr, t.span)
            self.expr(t.value)
        elif isinstance(t, m.Index):
            self.expr(t.value)
            self.expr(t.index)

    def stmt_Return(self, s: m.Return):
        if self.in_block:
            self.error("'return' cannot be used inside a block", s.span,
                       hint="a block's values are the values of its expression statements")
        elif not self.in_function:
            self.error("'return' outside a function", s.span)
        if s.value is not None:
            self.expr(s.value)

    def stmt_Break(self, s: m.Break):
        self.loop_exit("break", s.span)

    def stmt_Continue(self, s: m.Continue):
        self.loop_exit("continue", s.span)

    def loop_exit(self, word: str, span: Span) -> None:
        if self.loop_depth:
            return
        if self.in_block:
            self.error(f"'{word}' cannot leave a block", span,
                       hint="a block runs as a function of its own: put the loop inside the block")
        else:
            self.error(f"'{word}' outside a loop", span)

    def stmt_If(self, s: m.If):
        # `else if` chains are walked in a loop: a chain of any length is not nesting.
        while True:
            self.expr(s.test)
            self.statements(s.body)
            orelse = s.orelse
            if len(orelse) != 1 or type(orelse[0]) is not m.If:
                break
            s = orelse[0]
        self.statements(orelse)

    def stmt_While(self, s: m.While):
        self.expr(s.test)
        self.loop(s.body)

    def stmt_For(self, s: m.For):
        self.expr(s.iter)
        self.target(s.target)
        self.loop(s.body)

    def loop(self, body):
        self.loop_depth += 1
        try:
            self.statements(body)
        finally:
            self.loop_depth -= 1

    def params(self, params: list[m.Param]) -> None:
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                self.error(f"duplicate parameter '{p.name}'", p.span)
            seen.add(p.name)
            if p.name == _RESERVED:
                self.bound(p.name, p.span)
            if p.type is not None:
                self.type(p.type)
            if p.default is not None:
                self.expr(p.default)

    def new_scope(self, kind: str, names: set[str], open_: bool = False, node=None, params=(), body=()) -> Scope:
        """A scope inside the current one, recorded in the resolved program (`ctx.scopes`)."""
        scope = Scope(kind, names, self.scope, open_, node, params, body)
        self.ctx.scopes.append(scope)
        return scope

    def function_body(self, names: set[str], node, params: list[m.Param], body: list[m.Stmt],
                      open_: bool = False) -> None:
        saved = (self.scope, self.in_function, self.in_block, self.loop_depth)
        self.scope = self.new_scope("function", names, open_, node, params, body)
        self.in_function, self.in_block, self.loop_depth = True, False, 0
        try:
            self.statements(body)
        finally:
            self.scope, self.in_function, self.in_block, self.loop_depth = saved

    def stmt_FuncDecl(self, s: m.FuncDecl):
        self.params(s.params)
        if s.returns is not None:
            self.type(s.returns)
        self.function_body(bound_names(s.body, s.params), s, s.params, s.body)

    # -- models
    def model_fields(self, decl: m.ModelDecl) -> list[str] | None:
        """All field names of `decl` including inherited ones, in order; None when a base is not visible."""
        fields = self.ctx.table.fields(decl)
        return None if fields is None else list(fields)

    def builtin_model(self, name: str) -> m.ModelDecl | None:
        """The declaration of a builtin model written in M (a standard metamodel), if `name` is one."""
        return self.ctx.table.builtin(name)

    def stmt_ModelDecl(self, s: m.ModelDecl):
        if s.base is not None and s.base not in self.ctx.models:
            where = self.scope.lookup(s.base)
            if where is None and s.base not in self.builtins:
                hint = _did_you_mean(s.base, list(self.ctx.models) + list(self.builtins))
                self.report(unknown_base(s.base, s.base_span or s.span, hint))
        base = self.ctx.table.base(s) if s.base is not None else None
        inherited = self.ctx.table.fields(base) if base is not None else None
        for f in self.ctx.table.undeclared_bindings(s):
            self.report(binds_undeclared(s.kind, s.name, f.name, s.base, inherited, f.span))
        declared: dict[str, m.FieldDecl] = {}
        bound: dict[str, m.FieldDecl] = {}
        for f in s.fields:
            table = declared if f.type is not None else bound
            if f.name in table:
                what = "declared" if f.type is not None else "bound"
                self.error(f"field '{f.name}' is {what} twice in {s.kind} '{s.name}'", f.span)
            table[f.name] = f
            if f.name == _RESERVED:
                self.bound(f.name, f.span)
        fields = self.model_fields(s)
        names = {f.name for f in s.fields}.union(fields or ())
        saved = self.scope
        self.scope = self.new_scope("model", names, fields is None, s)
        try:
            for f in s.fields:
                if f.type is not None:
                    self.type(f.type, dims=names)
                if f.default is not None:
                    self.expr(f.default)
            for layer in s.layers:
                self.expr(layer.call)
            if s.forward is not None:
                self.params(s.forward.params)
                if s.forward.returns is not None:
                    self.type(s.forward.returns, dims=names)
                body_names = bound_names(s.forward.body, s.forward.params) | {"self"}
                self.function_body(body_names, s.forward, s.forward.params, s.forward.body, open_=fields is None)
        finally:
            self.scope = saved

    # -- imports
    def stmt_Import(self, s: m.Import):
        module = self.imported(s.path, s.span)
        if module is not None:
            self.ctx.imports[s.bound_name] = module

    def stmt_FromImport(self, s: m.FromImport):
        module = self.imported(s.path, s.span)
        if module is None:
            return
        names = bound_names(module.body)
        for item in s.names:
            if item.name not in names:
                self.error(f'"{s.path}" defines no \'{item.name}\'', item.span,
                           hint=_did_you_mean(item.name, names))
                continue
            decl = next((d for d in module.body if isinstance(d, m.ModelDecl) and d.name == item.name), None)
            if decl is not None:
                self.ctx.models[item.bound_name] = decl
                self.type_names.add(item.bound_name)

    def stmt_PythonImport(self, s: m.PythonImport):
        from mlang.lang.runtime import script_folder_has_module

        top = s.module.split(".")[0]
        if (top not in sys.modules and importlib.util.find_spec(top) is None
                and not script_folder_has_module(s.span.file if s.span else "", top)):
            self.error(f"no Python module named '{top}'", s.span, hint="is it installed in this environment?")

    def imported(self, path: str, span: Span) -> m.Module | None:
        from mlang.lang import api
        from mlang.lang.runtime import resolve_import

        try:
            resolved = str(resolve_import(path, self.ctx.filename, span))
        except MError as err:
            self.ctx.diagnostics.extend(err.diagnostics)
            return None
        except OSError as err:  # a path the system refuses to look up (too long, ...)
            self.error(f'cannot find the M file "{path}"', span, hint=f"the system cannot look it up: {err.strerror}")
            return None
        if resolved in self.checking:
            cycle = self.checking[self.checking.index(resolved):] + [resolved]
            self.error("import cycle: " + " → ".join(Path(p).name for p in cycle), span,
                       hint="move what both files need into a third file that imports neither")
            return None
        if resolved not in self.modules:
            self.modules[resolved] = None
            try:
                module = api.parse_file(resolved)
            except MError as err:
                self.ctx.diagnostics.extend(err.diagnostics)
                return None
            ctx = _check(module, self.checking + [resolved], self.modules)
            self.ctx.diagnostics.extend(ctx.diagnostics)
            self.modules[resolved] = ctx
        if self.modules[resolved] is None:
            return None
        imported = self.ctx.programs[resolved] = self.modules[resolved]
        self.ctx.table.add_file(imported.module, imported.models)  # its models' bases are found where it sees them
        return imported.module

    # -- types
    def type(self, t: m.TypeExpr, dims: set[str] = frozenset()) -> None:
        if isinstance(t, m.TypeArrow):
            self.type(t.input, dims)
            self.type(t.output, dims)
            return
        if isinstance(t, m.TypeDim):
            self.error(f"expected a type, found the number {t.value}", t.span)
            return
        if t.name not in self.type_names and t.name not in self.ctx.models and t.name not in self.builtins:
            self.error(f"'{t.name}' is not a type", t.span,
                       hint=_did_you_mean(t.name, self.type_names | set(self.ctx.models)))
            return
        if t.name in _SHAPED_TYPES:
            return  # dims: integers, symbols (B) or field names, and a dtype for Tensor
        for arg in t.args:
            self.type(arg, dims)

    # -- expressions: each kind of node has its visitor; a kind without one has its children visited
    def expr(self, e: m.Expr) -> None:
        visit = _EXPR_VISITORS.get(type(e))
        if visit is not None:
            visit(self, e)
            return
        for child in m.iter_child_nodes(e):
            if isinstance(child, m.Expr):
                self.expr(child)
            elif isinstance(child, m.Keyword):
                self.expr(child.value)

    def exprs(self, es) -> None:
        for e in es:
            if e is not None:
                self.expr(e)

    def expr_Constant(self, e):
        return None

    def expr_operators(self, e: m.Expr):
        """Operators and conditional expressions, with a stack instead of recursion: a flat chain
        (`a + b + ... + z`, `x if a else y if b else ...`) is as deep as its number of terms."""
        stack = [e]
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            e = pop()
            kind = type(e)
            if kind is m.BinOp:
                push(e.right)
                push(e.left)
            elif kind is m.UnaryOp:
                push(e.operand)
            elif kind is m.BoolOp:
                extend(reversed(e.values))
            elif kind is m.Compare:
                extend(reversed(e.comparators))
                push(e.left)
            elif kind is m.IfExp:
                push(e.orelse)
                push(e.body)
                push(e.test)
            else:
                self.expr(e)

    expr_UnaryOp = expr_BoolOp = expr_Compare = expr_IfExp = expr_operators

    def expr_BinOp(self, e: m.BinOp):
        left, right = e.left, e.right
        if type(left) in _OPERATORS or type(right) in _OPERATORS:
            self.expr_operators(e)
        else:  # the common `a + f(b)`: no chain to walk
            self.expr(left)
            self.expr(right)

    def expr_Starred(self, e: m.Starred):
        self.expr(e.value)

    def expr_postfix(self, e: m.Expr):
        """A call, attribute or index, and the ones it is made of (`x.f(a)[0].g()`), innermost
        first, in a loop: a long chain is not nesting."""
        e, chain = m.postfix_chain(e)
        self.expr(e)
        for node in reversed(chain):
            kind = type(node)
            if kind is m.Call:
                self.call(node)
            elif kind is m.Index:
                self.expr(node.index)
            elif kind is m.Attribute and type(node.value) is m.Name:
                self.member(node)

    # The common `f(x)`, `a.b` and `a[i]` on a name: no chain to walk.
    def expr_Call(self, e: m.Call):
        if type(e.func) is m.Name:
            self.expr_Name(e.func)
            self.call(e)
        else:
            self.expr_postfix(e)

    def expr_Attribute(self, e: m.Attribute):
        if type(e.value) is m.Name:
            self.expr_Name(e.value)
            self.member(e)
        else:
            self.expr_postfix(e)

    def member(self, e: m.Attribute) -> None:
        """`Name.attr` where Name is a builtin namespace (`Dataset.csv`) or an imported M file:
        the attribute must be one it has."""
        owner = e.value.id
        where = self.scope.lookup(owner)
        if where is None:
            builtin = self.builtins.get(owner)
            members = builtin.members if builtin is not None else None
            if members is not None and e.attr not in members:
                self.error(f"'{owner}' has no attribute '{e.attr}'", e.span,
                           hint=_did_you_mean(e.attr, members) or f"its attributes: {', '.join(members)}")
        elif where.kind == "module" and owner in self.ctx.imports:
            names = self.module_names(owner)
            if names is not None and e.attr not in names:
                self.error(f"the M file imported as '{owner}' defines no '{e.attr}'", e.span,
                           hint=_did_you_mean(e.attr, names))

    def module_names(self, bound: str) -> set[str] | None:
        """The names an imported M file defines (None when `bound` is also bound otherwise)."""
        if self.binding_counts.get(bound) != 1:
            return None
        return bound_names(self.ctx.imports[bound].body)

    def expr_Index(self, e: m.Index):
        if type(e.value) is m.Name:
            self.expr_Name(e.value)
            self.expr(e.index)
        else:
            self.expr_postfix(e)

    def expr_Slice(self, e: m.Slice):
        self.exprs((e.lower, e.upper, e.step))

    def expr_ListLit(self, e: m.ListLit):
        self.exprs(e.elts)

    expr_TupleLit = expr_SetLit = expr_ListLit

    def expr_DictLit(self, e: m.DictLit):
        self.exprs(e.keys)
        self.exprs(e.values)

    def expr_Name(self, e: m.Name):
        if self.scope.lookup(e.id) is None and e.id not in self.builtins and not self.scope.is_open():
            candidates = self.scope.visible() | set(self.builtins)
            self.error(f"undefined name '{e.id}'", e.span, hint=_did_you_mean(e.id, candidates))

    def expr_FString(self, e: m.FString):
        for part in e.parts:
            if isinstance(part, m.FormattedValue):
                self.expr(part.value)

    def comprehension(self, gens: list[m.Comprehension], parts: list[m.Expr]):
        names: set[str] = set()
        for g in gens:
            names.update(_names_in_target(g.target))
        self.expr(gens[0].iter)
        saved = self.scope
        self.scope = self.new_scope("comprehension", names)
        try:
            for i, g in enumerate(gens):
                if i:
                    self.expr(g.iter)
                self.target(g.target)
                for cond in g.ifs:
                    self.expr(cond)
            for part in parts:
                self.expr(part)
        finally:
            self.scope = saved

    def expr_ListComp(self, e: m.ListComp):
        self.comprehension(e.generators, [e.elt])

    def expr_DictComp(self, e: m.DictComp):
        self.comprehension(e.generators, [e.key, e.value])

    def call(self, e: m.Call):
        """A call whose callee expression has been visited."""
        for a in e.args:
            self.expr(a)
        duplicated = self.keyword_arguments(e.keywords) if e.keywords else False
        # a callee we cannot see (a parameter, a Python object) is not checked: it may take a block
        callee = None if duplicated else self.callee(e.func)
        if callee is not None:
            self.check_call(e, *callee)
        if e.block is not None:
            self.block(e.block)
        if isinstance(e.func, m.Name):
            self.calls.append(CallSite(e.func.id, e, self.top_statement, self.scope))

    def keyword_arguments(self, keywords: list[m.Keyword]) -> bool:
        """Check the keywords' values; True when a name is given twice (reported at its first repeat:
        the argument checks would only repeat the confusion)."""
        duplicated = False
        seen: set[str] = set()
        for k in keywords:
            if k.name is not None:
                if k.name == _RESERVED:
                    self.bound(k.name, k.span)
                if k.name in seen and not duplicated:
                    self.error(f"keyword argument '{k.name}' is given twice", k.span)
                    duplicated = True
                seen.add(k.name)
            self.expr(k.value)
        return duplicated

    def callee(self, func: m.Expr):
        """(signature, takes_block, kind) for a call to a known M function, builtin or model."""
        if type(func) is m.Attribute and type(func.value) is m.Name:
            return self.member_callee(func)
        if not isinstance(func, m.Name):
            return None
        scope = self.scope.lookup(func.id)
        if scope is not None:
            decl = scope.funcs.get(func.id)
            if decl is not None and scope.kind == "module" and self.binding_counts.get(func.id) == 1:
                return *self.function_signature(decl), "function"
            model = self.ctx.models.get(func.id)
            if model is not None and scope.kind == "module":
                fields = self.model_fields(model)
                if fields is None:
                    return None
                sig = Signature(func.id, [], [(f, True) for f in fields])
                return sig, False, "model"
            return None
        builtin = self.builtins.get(func.id)
        if builtin is None:
            return None
        model = self.builtin_model(func.id)
        if model is not None:
            fields = self.model_fields(model)
            if fields is None:
                return None
            return Signature(func.id, [], [(f, True) for f in fields]), False, "model"
        return None if builtin.stage_checked else builtin.signature, builtin.accepts_block, "builtin"

    def member_callee(self, func: m.Attribute):
        """`Dataset.csv(...)`: a builtin namespace's declared member; `blocks.Encoder(...)`: a
        function or model of an imported M file."""
        owner = func.value.id
        where = self.scope.lookup(owner)
        if where is None:
            builtin = self.builtins.get(owner)
            sig = builtin.member_signature(func.attr) if builtin is not None else None
            return (sig, False, "builtin") if sig is not None else None
        if where.kind != "module" or owner not in self.ctx.imports or self.module_names(owner) is None:
            return None
        module = self.ctx.imports[owner]
        decl = next((s for s in module.body if isinstance(s, (m.FuncDecl, m.ModelDecl)) and s.name == func.attr), None)
        if decl is None or sum(func.attr in bound_names([s]) for s in module.body) != 1:
            return None
        if isinstance(decl, m.FuncDecl):
            return *self.function_signature(decl), "function"
        fields = self.model_fields(decl)
        if fields is None:
            return None
        return Signature(f"{owner}.{func.attr}", [], [(f, True) for f in fields]), False, "model"

    def function_signature(self, decl: m.FuncDecl) -> tuple[Signature, bool]:
        """(signature, takes_block) of an M function, read once per declaration."""
        known = self.function_signatures.get(decl)
        if known is None:
            sig = function_signature(decl.name, decl.params)
            known = sig, any(p.name == "_block" for p in decl.params) or sig.var_keyword
            self.function_signatures[decl] = known
        return known

    def check_call(self, call: m.Call, sig: Signature | None, takes_block: bool, kind: str):
        func = call.func
        name = func.id if type(func) is m.Name else f"{func.value.id}.{func.attr}"
        if call.block is not None and not takes_block:
            self.error(f"'{name}' does not take a block", call.span,
                       hint="only functions with a `_block` parameter and builtins registered with "
                            "accepts_block=True take a trailing block")
        if sig is None:
            return
        starred = any(isinstance(a, m.Starred) for a in call.args)
        double_starred = any(k.name is None for k in call.keywords)
        given = len(call.args)
        if not starred and not sig.var_positional and given > len(sig.positional):
            most = len(sig.positional)
            if kind == "model":
                self.report(positional_fields(name, given, call.args[0].span))
            else:
                self.error(f"'{name}' takes at most {_plural(most, 'argument')}, but {given} were given",
                           call.args[most].span if most < given else call.span)
            return
        filled = {n for n, _ in sig.positional[:given]} if not starred else set()
        if sig.types and not starred:
            for arg, (param, _) in zip(call.args, sig.positional):
                self.literal_argument(name, param, sig.types.get(param), arg)
        for k in call.keywords:
            if k.name is None or (kind == "builtin" and k.name == "_block" and takes_block):
                continue
            if kind == "model" and not sig.accepts_keyword(k.name):
                self.report(no_field(name, k.name, sig.names(), k.span))
            elif not sig.accepts_keyword(k.name) or (k.name not in sig.keyword_names and not self.fits(
                    sig.types.get("**"), k.value)):
                hint = _did_you_mean(k.name, sig.names())
                if hint is None and sig.var_keyword:
                    hint = f"its other keywords take {sig.types['**']} values"
                self.error(f"'{name}' has no parameter named '{k.name}'", k.span, hint=hint)
            elif k.name in filled:
                self.error(f"'{name}' got two values for '{k.name}'", k.span)
            elif k.name in sig.types:
                self.literal_argument(name, k.name, sig.types[k.name], k.value)
            filled.add(k.name)
        if starred or double_starred:
            return
        missing = [n for n in sig.required if n not in filled and not (n == "_block" and call.block is not None)]
        if missing:
            self.error(f"'{name}' is missing {_plural(len(missing), 'argument')}: "
                       + ", ".join(f"'{n}'" for n in missing), call.span)

    def fits(self, type_text: str | None, value: m.Expr) -> bool:
        """Whether a literal argument can be of the declared type (anything else may be)."""
        kinds = literal_kinds(type_text)
        kind = _literal_kind(value)
        if kinds is None or kind is None:
            return True
        return kind in kinds or (kind == "int" and "bool" in kinds)  # 1 for a flag works as Python's

    def literal_argument(self, callee: str, param: str, type_text: str | None, value: m.Expr) -> None:
        if not self.fits(type_text, value):
            given = _literal_kind(value)
            shown = f" {value.value!r}" if type(value) is m.Constant else ""
            self.error(f"argument '{param}' of '{callee}' is {type_text} but is given {given}{shown}", value.span)

    def block(self, body: list[m.Stmt]) -> None:
        saved = (self.scope, self.in_block, self.loop_depth)
        self.scope = self.new_scope("block", bound_names(body), body=body)
        self.in_block, self.loop_depth = True, 0
        try:
            self.statements(body)
        finally:
            self.scope, self.in_block, self.loop_depth = saved


_OPERATORS = frozenset({m.BinOp, m.UnaryOp, m.BoolOp, m.Compare, m.IfExp})
_LITERALS = {m.ListLit: "list", m.DictLit: "dict", m.TupleLit: "tuple", m.FString: "str", m.SetLit: "set"}


def _literal_kind(e: m.Expr) -> str | None:
    """The kind of value a literal argument is (`"int"`, `"str"`, `"list"`, ...), None for any
    other expression (its value is not known before running)."""
    if type(e) is m.UnaryOp and e.op in ("-", "+") and type(e.operand) is m.Constant:
        e = e.operand
        if isinstance(e.value, bool) or not isinstance(e.value, (int, float)):
            return None
    if type(e) is m.Constant:
        value = e.value
        return "None" if value is None else type(value).__name__
    return _LITERALS.get(type(e))


def _visitors(prefix: str) -> dict[type, object]:
    """Node class → the checker's method `prefix + class name`, for the classes that have one."""
    return {cls: getattr(_Checker, prefix + name) for name, cls in vars(m).items()
            if isinstance(cls, type) and issubclass(cls, m.Node) and hasattr(_Checker, prefix + name)}


_STMT_VISITORS = _visitors("stmt_")
_EXPR_VISITORS = _visitors("expr_")


def _names_in_target(target: m.Expr) -> list[str]:
    if isinstance(target, m.Name):
        return [target.id]
    if isinstance(target, (m.TupleLit, m.ListLit)):
        return [n for elt in target.elts for n in _names_in_target(elt)]
    return []


def _check(module: m.Module, checking: list[str], modules: dict, plugins: bool = True) -> CheckContext:
    ctx = CheckContext(module.filename, module.source, module, builtins=registry.builtins())
    checker = _Checker(ctx, checking, modules)
    try:
        checker.run()
    except RecursionError:
        ctx.report("the program is nested too deeply to check", Span(module.filename, 1, 1))
        return ctx
    for plugin in registry.checks() if plugins else ():
        try:
            found = plugin(module, ctx)
        except MError as err:
            found = err.diagnostics
        except Exception as err:  # a plugin's bug must not hide the program's diagnostics
            name = getattr(plugin, "__qualname__", repr(plugin))
            found = [Diagnostic(f"internal error in the checker plugin {name}: {type(err).__name__}: {err}",
                                Span(module.filename, 1, 1))]
        ctx.diagnostics.extend(found or [])
    return ctx


def check_module(module: m.Module, plugins: bool = True) -> list[Diagnostic]:
    """All diagnostics for `module` and the M files it imports, sorted by position.

    `plugins=False` runs only the front end's own checks (not the later stages' plugins).
    """
    return check_program(module, plugins)[0]


def check_program(module: m.Module, plugins: bool = True) -> tuple[list[Diagnostic], CheckContext]:
    """The diagnostics (as `check_module`) and the resolved program: the module's `CheckContext`
    — its models resolved (`table`), imports, calls, and what the plugins computed (`results`) —
    for consumers that need more than the errors (the language server)."""
    from mlang.lang import builtins as core

    core.register_core()
    origin = str(Path(module.filename).resolve()) if not module.filename.startswith("<") else module.filename
    with gc_paused():  # every collection during the check would traverse the whole young tree
        ctx = _check(module, [origin], {}, plugins)
    unique = {}
    for d in ctx.diagnostics:
        key = (d.span.file if d.span else "", d.span.line if d.span else 0, d.span.column if d.span else 0,
               d.message)
        unique.setdefault(key, d)
    return [unique[k] for k in sorted(unique, key=lambda k: (k[0] != module.filename, k))], ctx
