"""M AST → Python `ast` → code objects, keeping the `.m` file name and M line/column numbers.

M runs as ordinary Python bytecode: a `for` loop in M costs what it costs in Python, and
tracebacks, debuggers and profilers point at `.m` lines.

Public entry points (also used by the models stage):
- `compile_module(module) -> CompiledModule`: code for a whole file (`exec` mode).
- `compile_expression(expr, filename) -> code`: `eval`-mode code for one expression, so a later
  stage can `eval(code, module_globals, fields)` with a model's fields in scope.
- `compile_forward(forward, free_names, filename, module_globals=None) -> make`: a factory;
  `make(**values)` returns the forward function, whose body sees each of `free_names` (fields,
  submodels, `self`, ...) by bare name, bound to `values[name]`.

What M constructs become:
- `model`/`metamodel` declarations: `Name = __m_declare_model__(<the ModelDecl>, globals())`,
  which calls the `declare_model` runtime hook (registered by the models stage).
- a trailing block `f(a) { stmts }`: `f(a, _block=<zero-argument function>)`; the function runs
  `stmts` in the caller's scope (assigning a name the caller already binds updates it) and returns
  the list of the non-`none` values of its expression statements.
- `import "x.m"`, `from "x.m" import a`, `import python a.b`: calls into `mlang.lang.runtime`.
"""
from __future__ import annotations

import ast as py
import sys
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

from mlang.lang import ast as m
from mlang.lang.diagnostics import MError, MSyntaxError, Span

__all__ = ["CompiledModule", "compile_module", "compile_expression", "compile_forward", "bound_names",
           "free_names"]

_CMP_OPS = {"<": py.Lt, ">": py.Gt, "==": py.Eq, "!=": py.NotEq, "<=": py.LtE, ">=": py.GtE,
            "in": py.In, "not in": py.NotIn, "is": py.Is, "is not": py.IsNot}
_BIN_OPS = {"+": py.Add, "-": py.Sub, "*": py.Mult, "/": py.Div, "%": py.Mod, "@": py.MatMult,
            "**": py.Pow, "<<": py.LShift, ">>": py.RShift, "&": py.BitAnd, "|": py.BitOr, "^": py.BitXor}
_UNARY_OPS = {"-": py.USub, "+": py.UAdd, "~": py.Invert, "not": py.Not}

BLOCK_VALUES = "__m_values"


@dataclass
class CompiledModule:
    """A compiled M file: its code, the model declarations it refers to, and the names it reads."""

    code: Any
    filename: str
    decls: list[m.ModelDecl] = field(default_factory=list)
    names_read: set[str] = field(default_factory=set)


def bound_names(stmts: list[m.Stmt], params: list[m.Param] = ()) -> set[str]:
    """Names a scope binds: parameters, assignment and loop targets, declarations, imports.

    Function bodies, trailing blocks and comprehensions are scopes of their own and not entered.
    """
    names = {p.name for p in params if p.kind != "star"}
    stack = list(stmts)
    while stack:
        s = stack.pop()
        if isinstance(s, (m.Assign, m.AugAssign)):
            names.update(_target_names(s.target))
        elif isinstance(s, m.For):
            names.update(_target_names(s.target))
            stack.extend(s.body)
        elif isinstance(s, m.If):
            stack.extend(s.body)
            stack.extend(s.orelse)
        elif isinstance(s, m.While):
            stack.extend(s.body)
        elif isinstance(s, (m.FuncDecl, m.ModelDecl)):
            names.add(s.name)
        elif isinstance(s, (m.Import, m.PythonImport)):
            names.add(s.bound_name)
        elif isinstance(s, m.FromImport):
            names.update(n.bound_name for n in s.names)
    return names


def _target_names(target: m.Expr) -> list[str]:
    if isinstance(target, m.Name):
        return [target.id]
    if isinstance(target, (m.TupleLit, m.ListLit)):
        return [n for elt in target.elts for n in _target_names(elt)]
    return []


def free_names(node: m.Node) -> set[str]:
    """Every name read anywhere under `node` (a superset of its free names)."""
    return {n.id for n in m.walk(node) if isinstance(n, m.Name)}


class _Scope:
    def __init__(self, kind: str, bound: set[str], parent: _Scope | None):
        self.kind = kind  # module | function | block
        self.bound = bound
        self.parent = parent

    def function_bound(self) -> set[str]:
        """Names bound by the enclosing function scopes (for `nonlocal` in a block)."""
        names, scope = set(), self
        while scope is not None and scope.kind != "module":
            names |= scope.bound
            scope = scope.parent
        return names

    def in_module(self) -> bool:
        scope = self
        while scope.kind == "block":
            scope = scope.parent
        return scope.kind == "module"


class _Compiler:
    def __init__(self, filename: str):
        self.filename = filename
        self.decls: list[m.ModelDecl] = []
        self.scope: _Scope | None = None
        self.block_count = 0

    # -- locations
    def at(self, node: py.AST, span: Span | None) -> py.AST:
        if span is None:
            return node
        node.lineno = span.line
        node.col_offset = span.column - 1
        if span.end_line and span.end_column:
            node.end_lineno, node.end_col_offset = span.end_line, span.end_column - 1
        else:
            node.end_lineno, node.end_col_offset = span.line, span.column - 1
        return node

    # -- scopes
    def push(self, kind: str, bound: set[str]):
        self.scope = _Scope(kind, bound, self.scope)

    def pop(self):
        self.scope = self.scope.parent

    # -- statements
    def body(self, stmts: list[m.Stmt], span: Span | None = None) -> list[py.stmt]:
        out: list[py.stmt] = []
        for s in stmts:
            out.extend(self.stmt(s))
        if not out:
            out.append(self.at(py.Pass(), span))
        return out

    def stmt(self, s: m.Stmt) -> list[py.stmt]:
        method = getattr(self, "stmt_" + type(s).__name__)
        return method(s)

    def _value_with_block(self, value: m.Expr) -> tuple[list[py.stmt], py.expr]:
        """Compile a statement's value; a trailing block becomes a function defined just before."""
        if isinstance(value, m.Call) and value.block is not None:
            block_def, name = self.block_function(value)
            call = self.call(value)
            call.keywords.append(py.keyword(arg="_block", value=self.at(py.Name(name, py.Load()), value.span)))
            return [block_def], call
        return [], self.expr(value)

    def stmt_ExprStmt(self, s: m.ExprStmt):
        before, value = self._value_with_block(s.value)
        if self.scope.kind == "block":
            return before + self.block_value(value, s.span)
        return before + [self.at(py.Expr(value), s.span)]

    def block_value(self, value: py.expr, span: Span) -> list[py.stmt]:
        """In a trailing block, `expr` becomes `v = expr; if v is not None: values.append(v)`."""
        tmp = "__m_value"
        assign = self.at(py.Assign([self.at(py.Name(tmp, py.Store()), span)], value), span)
        append = self.at(py.Expr(self.at(py.Call(
            self.at(py.Attribute(self.at(py.Name(BLOCK_VALUES, py.Load()), span), "append", py.Load()), span),
            [self.at(py.Name(tmp, py.Load()), span)], []), span)), span)
        test = self.at(py.Compare(self.at(py.Name(tmp, py.Load()), span), [py.IsNot()],
                                  [self.at(py.Constant(None), span)]), span)
        return [assign, self.at(py.If(test, [append], []), span)]

    def block_function(self, call: m.Call) -> tuple[py.FunctionDef, str]:
        self.block_count += 1
        name = f"__m_block_{self.block_count}"
        span = call.span
        assigned = bound_names(call.block)
        if self.scope.in_module():
            declare = [self.at(py.Global(sorted(assigned)), span)] if assigned else []
        else:
            outer = self.scope.function_bound() & assigned
            declare = [self.at(py.Nonlocal(sorted(outer)), span)] if outer else []
        self.push("block", assigned)
        try:
            body = self.body(call.block, span)
        finally:
            self.pop()
        init = self.at(py.Assign([self.at(py.Name(BLOCK_VALUES, py.Store()), span)],
                                 self.at(py.List([], py.Load()), span)), span)
        ret = self.at(py.Return(self.at(py.Name(BLOCK_VALUES, py.Load()), span)), span)
        if body and isinstance(body[-1], py.Pass):
            body = []
        fn = py.FunctionDef(name=name, args=_no_args(), body=declare + [init] + body + [ret],
                            decorator_list=[], returns=None, type_comment=None)
        return self.at(fn, span), name

    def stmt_Assign(self, s: m.Assign):
        before, value = self._value_with_block(s.value)
        return before + [self.at(py.Assign([self.target(s.target)], value), s.span)]

    def stmt_AugAssign(self, s: m.AugAssign):
        return [self.at(py.AugAssign(self.target(s.target), _BIN_OPS[s.op](), self.expr(s.value)), s.span)]

    def stmt_Return(self, s: m.Return):
        return [self.at(py.Return(self.expr(s.value) if s.value is not None else None), s.span)]

    def stmt_Break(self, s: m.Break):
        return [self.at(py.Break(), s.span)]

    def stmt_Continue(self, s: m.Continue):
        return [self.at(py.Continue(), s.span)]

    def stmt_If(self, s: m.If):
        # An `else if` chain is compiled in a loop (its length is not nesting), innermost last.
        chain = [s]
        while len(s.orelse) == 1 and type(s.orelse[0]) is m.If:
            s = s.orelse[0]
            chain.append(s)
        heads = [(item, self.expr(item.test), self.body(item.body, item.span)) for item in chain]
        orelse = []
        for item in s.orelse:
            orelse.extend(self.stmt(item))
        for item, test, body in reversed(heads):
            orelse = [self.at(py.If(test, body, orelse), item.span)]
        return orelse

    def stmt_While(self, s: m.While):
        return [self.at(py.While(self.expr(s.test), self.body(s.body, s.span), []), s.span)]

    def stmt_For(self, s: m.For):
        return [self.at(py.For(self.target(s.target), self.expr(s.iter), self.body(s.body, s.span), [],
                               type_comment=None), s.span)]

    def function(self, name: str, params: list[m.Param], body: list[m.Stmt], span: Span) -> py.FunctionDef:
        args = self.arguments(params)
        self.push("function", bound_names(body, params))
        try:
            stmts = self.body(body, span)
        finally:
            self.pop()
        fn = py.FunctionDef(name=name, args=args, body=stmts, decorator_list=[], returns=None, type_comment=None)
        return self.at(fn, span)

    def arguments(self, params: list[m.Param]) -> py.arguments:
        normal = [p for p in params if p.kind == "normal"]
        star = next((p for p in params if p.kind in ("var", "star")), None)
        var = star if star is not None and star.kind == "var" else None
        kwvar = next((p for p in params if p.kind == "kwvar"), None)
        var_index = params.index(star) if star is not None else len(params)
        positional = [p for p in normal if params.index(p) < var_index]
        keyword_only = [p for p in normal if params.index(p) > var_index]
        return py.arguments(
            posonlyargs=[],
            args=[self.at(py.arg(p.name), p.span) for p in positional],
            vararg=self.at(py.arg(var.name), var.span) if var else None,
            kwonlyargs=[self.at(py.arg(p.name), p.span) for p in keyword_only],
            kw_defaults=[self.expr(p.default) if p.default is not None else None for p in keyword_only],
            kwarg=self.at(py.arg(kwvar.name), kwvar.span) if kwvar else None,
            defaults=[self.expr(p.default) for p in positional if p.default is not None],
        )

    def stmt_FuncDecl(self, s: m.FuncDecl):
        return [self.function(s.name, s.params, s.body, s.span)]

    def stmt_ModelDecl(self, s: m.ModelDecl):
        index = len(self.decls)
        self.decls.append(s)
        decl = self.at(py.Subscript(self.name("__m_decls__", s.span), self.at(py.Constant(index), s.span),
                                    py.Load()), s.span)
        call = self.call_helper("__m_declare_model__", [decl, self.call_helper("__m_globals__", [], s.span)], s.span)
        return [self.at(py.Assign([self.at(py.Name(s.name, py.Store()), s.span)], call), s.span)]

    def stmt_Import(self, s: m.Import):
        call = self.call_helper("__m_import__", [self.const(s.path, s.span), self.const(self.filename, s.span)],
                                s.span)
        return [self.at(py.Assign([self.at(py.Name(s.bound_name, py.Store()), s.span)], call), s.span)]

    def stmt_FromImport(self, s: m.FromImport):
        names = self.at(py.Tuple([self.const(n.name, n.span) for n in s.names], py.Load()), s.span)
        call = self.call_helper("__m_import_names__", [self.const(s.path, s.span),
                                                       self.const(self.filename, s.span), names], s.span)
        targets = self.at(py.Tuple([self.at(py.Name(n.bound_name, py.Store()), n.span) for n in s.names],
                                   py.Store()), s.span)
        return [self.at(py.Assign([targets], call), s.span)]

    def stmt_PythonImport(self, s: m.PythonImport):
        call = self.call_helper("__m_import_python__", [self.const(s.module, s.span),
                                                        self.const(s.alias is not None, s.span)], s.span)
        return [self.at(py.Assign([self.at(py.Name(s.bound_name, py.Store()), s.span)], call), s.span)]

    # -- expressions
    def name(self, ident: str, span: Span) -> py.Name:
        return self.at(py.Name(ident, py.Load()), span)

    def const(self, value, span: Span) -> py.Constant:
        return self.at(py.Constant(value), span)

    def call_helper(self, helper: str, args: list[py.expr], span: Span) -> py.Call:
        return self.at(py.Call(self.name(helper, span), args, []), span)

    def target(self, e: m.Expr) -> py.expr:
        if isinstance(e, m.Name):
            return self.at(py.Name(e.id, py.Store()), e.span)
        if isinstance(e, m.Attribute):
            return self.at(py.Attribute(self.expr(e.value), e.attr, py.Store()), e.span)
        if isinstance(e, m.Index):
            return self.at(py.Subscript(self.expr(e.value), self.subscript(e.index), py.Store()), e.span)
        if isinstance(e, (m.TupleLit, m.ListLit)):
            kind = py.Tuple if isinstance(e, m.TupleLit) else py.List
            return self.at(kind([self.target(x) for x in e.elts], py.Store()), e.span)
        raise MSyntaxError("cannot assign to this expression", e.span)

    def expr(self, e: m.Expr) -> py.expr:
        return getattr(self, "expr_" + type(e).__name__)(e)

    def expr_Name(self, e: m.Name):
        return self.name(e.id, e.span)

    def expr_Constant(self, e: m.Constant):
        return self.const(e.value, e.span)

    def expr_FString(self, e: m.FString):
        values = []
        for part in e.parts:
            if isinstance(part, m.FormattedValue):
                spec = None
                if part.format_spec is not None:
                    spec = self.at(py.JoinedStr([self.const(part.format_spec, part.span)]), part.span)
                conversion = ord(part.conversion) if part.conversion else -1
                values.append(self.at(py.FormattedValue(self.expr(part.value), conversion, spec), part.span))
            else:
                values.append(self.const(part.value, part.span))
        return self.at(py.JoinedStr(values), e.span)

    def expr_operators(self, e: m.Expr) -> py.expr:
        """Operators and conditional expressions, compiled with a stack instead of recursion: a
        flat chain (`a + b + ... + z`) is as deep as its number of terms."""
        stack, done = [(e, False)], []
        while stack:
            node, children_done = stack.pop()
            operands = _operands(node)
            if operands is None:
                done.append(self.expr(node))
            elif not children_done:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(operands))
            else:
                count = len(operands)
                values = done[-count:]
                del done[-count:]
                done.append(self.at(_operator_node(node, values), node.span))
        return done[0]

    expr_BinOp = expr_UnaryOp = expr_BoolOp = expr_Compare = expr_IfExp = expr_operators

    def expr_Starred(self, e: m.Starred):
        return self.at(py.Starred(self.expr(e.value), py.Load()), e.span)

    def expr_postfix(self, e: m.Expr) -> py.expr:
        """A call, attribute or index and the ones it is made of (`x.f(a)[0].g()`), compiled
        innermost first in a loop: a long chain is not nesting."""
        e, chain = m.postfix_chain(e)
        for node in chain:
            if type(node) is m.Call and node.block is not None:
                raise MSyntaxError("a call with a block must be a statement of its own", node.span,
                                   hint="write `x = f(...) { ... }` or `f(...) { ... }` on its own line")
        value = self.expr(e)
        for node in reversed(chain):
            kind = type(node)
            if kind is m.Call:
                value = self.call(node, value)
            elif kind is m.Attribute:
                value = self.at(py.Attribute(value, node.attr, py.Load()), node.span)
            else:
                value = self.at(py.Subscript(value, self.subscript(node.index), py.Load()), node.span)
        return value

    expr_Call = expr_Attribute = expr_Index = expr_postfix

    def call(self, e: m.Call, func: py.expr | None = None) -> py.Call:
        """The Python call of `e` (`func`: its callee, when already compiled)."""
        if func is None:
            func = self.expr(e.func)
        keywords = [self.at(py.keyword(arg=k.name, value=self.expr(k.value)), k.span) for k in e.keywords]
        return self.at(py.Call(func, [self.expr(a) for a in e.args], keywords), e.span)

    def subscript(self, index: m.Expr) -> py.expr:
        if isinstance(index, m.TupleLit):
            return self.at(py.Tuple([self.subscript(x) for x in index.elts], py.Load()), index.span)
        return self.expr(index)

    def expr_Slice(self, e: m.Slice):
        part = lambda x: self.expr(x) if x is not None else None  # noqa: E731
        return self.at(py.Slice(part(e.lower), part(e.upper), part(e.step)), e.span)

    def expr_ListLit(self, e: m.ListLit):
        return self.at(py.List([self.expr(x) for x in e.elts], py.Load()), e.span)

    def expr_TupleLit(self, e: m.TupleLit):
        return self.at(py.Tuple([self.expr(x) for x in e.elts], py.Load()), e.span)

    def expr_SetLit(self, e: m.SetLit):
        return self.at(py.Set([self.expr(x) for x in e.elts]), e.span)

    def expr_DictLit(self, e: m.DictLit):
        return self.at(py.Dict([self.expr(k) for k in e.keys], [self.expr(v) for v in e.values]), e.span)

    def comprehensions(self, gens: list[m.Comprehension]) -> list[py.comprehension]:
        return [py.comprehension(self.target(g.target), self.expr(g.iter), [self.expr(c) for c in g.ifs], 0)
                for g in gens]

    def expr_ListComp(self, e: m.ListComp):
        return self.at(py.ListComp(self.expr(e.elt), self.comprehensions(e.generators)), e.span)

    def expr_DictComp(self, e: m.DictComp):
        return self.at(py.DictComp(self.expr(e.key), self.expr(e.value), self.comprehensions(e.generators)),
                       e.span)


def _operands(node: m.Expr) -> list[m.Expr] | None:
    """The operands of an operator or conditional expression, in source order; None for others."""
    kind = type(node)
    if kind is m.BinOp:
        return [node.left, node.right]
    if kind is m.UnaryOp:
        return [node.operand]
    if kind is m.BoolOp:
        return node.values
    if kind is m.Compare:
        return [node.left, *node.comparators]
    if kind is m.IfExp:
        return [node.test, node.body, node.orelse]
    return None


def _operator_node(node: m.Expr, values: list[py.expr]) -> py.expr:
    """The Python node of an operator or conditional expression, from its compiled operands."""
    kind = type(node)
    if kind is m.BinOp:
        return py.BinOp(values[0], _BIN_OPS[node.op](), values[1])
    if kind is m.UnaryOp:
        return py.UnaryOp(_UNARY_OPS[node.op](), values[0])
    if kind is m.BoolOp:
        return py.BoolOp(py.And() if node.op == "and" else py.Or(), values)
    if kind is m.Compare:
        return py.Compare(values[0], [_CMP_OPS[o]() for o in node.ops], values[1:])
    return py.IfExp(values[0], values[1], values[2])


def _no_args() -> py.arguments:
    return py.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                        defaults=[])


def _fix_missing_locations(tree: py.AST) -> None:
    """`ast.fix_missing_locations` without recursion: a position a node lacks is its parent's."""
    stack = [(tree, 1, 0, 1, 0)]
    pop, push, AST = stack.pop, stack.append, py.AST
    while stack:
        node, line, column, end_line, end_column = pop()
        if "lineno" in node._attributes:  # with col_offset, end_lineno and end_col_offset
            value = getattr(node, "lineno", None)
            if value is None:
                node.lineno = line
            else:
                line = value
            value = getattr(node, "col_offset", None)
            if value is None:
                node.col_offset = column
            else:
                column = value
            value = getattr(node, "end_lineno", None)
            if value is None:
                node.end_lineno = end_line
            else:
                end_line = value
            value = getattr(node, "end_col_offset", None)
            if value is None:
                node.end_col_offset = end_column
            else:
                end_column = value
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, AST):
                push((value, line, column, end_line, end_column))
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, AST):
                        push((item, line, column, end_line, end_column))


# Python's compiler recurses once per level of the tree it is given and stops at a depth set by
# the recursion limit.  M's flat chains (`a + b + ... + z`, `else if` chains) are deep Python
# trees, so compile() runs with a limit of at least this: its C frames are small, and 10,000
# levels take well under the 8 MB of a thread's stack.
_COMPILE_RECURSION_LIMIT = 10_000
_limit_lock = threading.Lock()
_limit_holders = [0, 0]  # compile() calls running under the raised limit, the limit before them


@contextmanager
def _deep_recursion():
    with _limit_lock:
        if _limit_holders[0] == 0:
            _limit_holders[1] = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_limit_holders[1], _COMPILE_RECURSION_LIMIT))
        _limit_holders[0] += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_holders[0] -= 1
            if _limit_holders[0] == 0:
                sys.setrecursionlimit(_limit_holders[1])


def _to_code(tree: py.AST, filename: str, mode: str, span: Span):
    """`compile()`, turning Python's complaints about generated code into M diagnostics."""
    _fix_missing_locations(tree)
    try:
        with warnings.catch_warnings(), _deep_recursion():
            # Python's hints about its own syntax (`is` with a literal) do not apply to M source.
            warnings.simplefilter("ignore", SyntaxWarning)
            return compile(tree, filename, mode, dont_inherit=True)
    except SyntaxError as err:
        where = Span(filename, err.lineno or span.line, (err.offset or 0) + 1 if err.offset is not None else span.column)
        raise MSyntaxError(err.msg, where) from None
    except (ValueError, TypeError) as err:
        raise MSyntaxError(f"cannot compile this program: {err}", span) from None
    except RecursionError:
        raise MSyntaxError("the program is nested too deeply to compile", span) from None


def compile_module(module: m.Module) -> CompiledModule:
    """Compile a parsed file to a code object for `exec` in the module's globals."""
    compiler = _Compiler(module.filename)
    compiler.push("module", bound_names(module.body))
    try:
        body = compiler.body(module.body, Span(module.filename, 1, 1)) if module.body else []
    except RecursionError:
        raise MSyntaxError("the program is nested too deeply to compile", Span(module.filename, 1, 1)) from None
    tree = py.Module(body=body, type_ignores=[])
    code = _to_code(tree, module.filename, "exec", Span(module.filename, 1, 1))
    return CompiledModule(code, module.filename, compiler.decls, free_names(module))


def compile_expression(expr: m.Expr, filename: str | None = None):
    """`eval`-mode code for one M expression: `eval(code, module_globals, fields)`.

    Comprehensions inside the expression see globals but not the `fields` mapping (as in Python).
    """
    filename = filename or expr.span.file
    compiler = _Compiler(filename)
    compiler.push("module", set())
    tree = py.Expression(body=compiler.expr(expr))
    return _to_code(tree, filename, "eval", expr.span)


def compile_forward(forward: m.ForwardDecl, free_names: list[str], filename: str | None = None,
                    module_globals: dict | None = None) -> Callable[..., Callable]:
    """A factory for a model's forward function.

    `make = compile_forward(decl.forward, ["encoder", "num_labels", "self"], filename, globals)`;
    `fn = make(encoder=..., num_labels=2, self=model)`; `fn(x)` runs the M body, which reads
    those names as closure variables (Python speed) and everything else from `module_globals`
    (the declaring module's globals, so its functions and M builtins are visible).
    """
    from mlang.lang import runtime

    filename = filename or forward.span.file
    free = list(dict.fromkeys(free_names))
    compiler = _Compiler(filename)
    compiler.push("module", set())
    compiler.push("function", set(free))
    inner = compiler.function("forward", forward.params, forward.body, forward.span)
    compiler.pop()
    outer = py.FunctionDef(
        name="__m_forward_factory__",
        args=py.arguments(posonlyargs=[], args=[py.arg(n) for n in free], vararg=None, kwonlyargs=[],
                          kw_defaults=[], kwarg=None, defaults=[]),
        body=[inner, py.Return(py.Name("forward", py.Load()))], decorator_list=[], returns=None,
        type_comment=None)
    compiler.at(outer, forward.span)
    code = _to_code(py.Module(body=[outer], type_ignores=[]), filename, "exec", forward.span)
    if module_globals is None:
        module_globals = runtime.new_globals(filename)
    runtime.register_file(filename)
    runtime.prepare_builtins(free_names_of_forward(forward) - set(free))
    scope: dict = {}
    exec(code, module_globals, scope)
    factory = scope["__m_forward_factory__"]

    def make(**values):
        missing = [n for n in free if n not in values]
        if missing:
            raise MError(f"forward needs values for {', '.join(missing)}", forward.span)
        return factory(**{n: values[n] for n in free})

    return make


def free_names_of_forward(forward: m.ForwardDecl) -> set[str]:
    names: set[str] = set()
    for s in forward.body:
        names |= free_names(s)
    return names
