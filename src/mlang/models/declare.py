"""`metamodel` / `model` declarations at run time: the `declare_model` runtime hook.

The compiled module calls `declare_model(decl_ast, module_globals)` for each declaration; it
returns a `ModelClass`, bound to the declared name.  Calling it, `Name(field=value, ...)`,
instantiates a `DeclaredModel` (an `MModel`):

- fields are evaluated in declaration order, each default seeing the fields before it, so
  `Dense(num_labels)` and `encoder: Model = TextEncoder(pretrained_model)` follow overrides;
- `extends` copies the base's fields, layers, input/output types and forward; the body may
  override field defaults (`num_labels = 5`), bind abstract fields, append layers, replace forward;
- an unknown field, an unbound abstract field or a value of the wrong type is an `MError` naming
  the model and the field's declaration line.
"""
from __future__ import annotations

from mlang.lang import ast as A
from mlang.lang import types as T
from mlang.lang.diagnostics import MError, Span
from mlang.lang.resolve import (Field, ModelTable, binds_undeclared, did_you_mean, no_field, positional_fields,
                                unbound_field, unknown_base)
from mlang.models.astutil import IO_FIELDS, call_name, names_read, type_from_ast
from mlang.models.check import (RESERVED_FIELDS, argument_reads, extends_cycle, leaves_abstract, reserved_field,
                                stdlib_note, wrong_field_type)
from mlang.models.spec import ABSTRACT, FieldSpec, LayerEntry, ModelSpec, type_of_value, value_matches_type


class Deferred:
    """A field default: an M expression evaluated per instance, with earlier fields in scope."""

    def __init__(self, evaluate, span: Span | None):
        self.evaluate, self.span = evaluate, span

    def __repr__(self) -> str:
        return f"<default at {self.span}>"


class ModelClass:
    """A declared model or metamodel.  Call it with field values to get a model (an `MModel`)."""

    def __init__(self, spec: ModelSpec, module_globals: dict, lineage: list[A.ModelDecl]):
        self.spec = spec
        self.module_globals = module_globals
        self.lineage = lineage  # its declaration and its bases', nearest first

    @property
    def __name__(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        base = f" extends {self.spec.base.name}" if self.spec.base is not None else ""
        return f"<{self.spec.kind} {self.spec.name}{base}>"

    @property
    def fields(self) -> dict[str, FieldSpec]:
        return self.spec.fields

    def __call__(self, *args, **overrides):
        if args:
            raise positional_fields(self.spec.name, len(args))
        values = self.field_values(overrides)
        try:
            return DeclaredModel(self.spec, values)
        except MError as error:
            raise at_users_line(error, self.spec, overrides) from None

    def restore(self, values: dict, layers: list):
        """An instance with saved field values and layers (nothing re-evaluated)."""
        from mlang.models.instance import DeclaredModel as cls
        return cls(self.spec, values, layers=layers)

    def field_values(self, overrides: dict) -> dict:
        """Every field's value for one instance, checked against its declared type."""
        spec = self.spec
        for name in overrides:
            if name not in spec.fields:
                raise no_field(spec.name, name, spec.fields)
        values: dict = {}
        for name, fspec in spec.fields.items():
            if name in overrides:
                value = overrides[name]
            elif fspec.is_abstract:
                raise unbound_field(spec.name, name)
            elif isinstance(fspec.default, Deferred):
                value = fspec.default.evaluate(values)
            else:
                value = fspec.default
            if isinstance(value, ModelClass) and isinstance(fspec.type, T.ModelType):
                value = value()
            if not value_matches_type(value, fspec.type):
                # a value the declaration binds is wrong where it is written (as `m check` says);
                # one given to the call, at the call (no span: the M frame's line)
                at = fspec.default.span if name not in overrides and isinstance(fspec.default, Deferred) else None
                raise wrong_field_type(name, spec.name, fspec.type, f"{type_of_value(value)} {value!r}", at)
            values[name] = value
        return values


def at_users_line(error: MError, spec: ModelSpec, overrides: dict) -> MError:
    """An error in a layer M's standard library declares (`TextEncoder(pretrained_model, ...)` in
    stdlib/text.m) is the user's value's fault: report it where the user gave that value — the
    field binding in their model, or (span left empty, so the M frame's line is used) the call
    that passed it — with the library line as a note."""
    from mlang.models.stdlib import is_stdlib_file

    first = error.diagnostics[0] if error.diagnostics else None
    if first is None or first.span is None or not is_stdlib_file(first.span.file):
        return error
    entry = next((e for e in spec.layers if e.span == first.span), None)
    reads = entry.argument_reads.get(getattr(error, "argument", None), entry.reads) if entry else ()
    fields = [n for n in reads if n in spec.fields]  # those the argument at fault reads, if named
    blamed = next((n for n in fields if n in overrides), None)
    span = None
    if blamed is None:
        bound = [spec.fields[n].span for n in fields
                 if spec.fields[n].span is not None and not is_stdlib_file(spec.fields[n].span.file)]
        span = bound[0] if bound else (spec.span if spec.span and not is_stdlib_file(spec.span.file) else None)
    first.notes.append(stdlib_note(entry.name if entry else "a layer", first.span,
                                   spec.lineage()[-1] if spec.base is not None else spec.name))
    first.span = span
    return error


def DeclaredModel(spec: ModelSpec, values: dict):
    """An instance of a declared model (built lazily so this module stays torch-free)."""
    from mlang.models.instance import DeclaredModel as cls
    return cls(spec, values)


# ----- building a spec from the AST --------------------------------------------------------------

class _Evaluator:
    """Evaluates M expressions of one declaration with the front end's `compile_expression`."""

    def __init__(self, module_globals: dict, filename: str):
        self.globals, self.filename = module_globals, filename

    def compile(self, expr: A.Expr):
        from mlang.lang.compiler import compile_expression
        code = compile_expression(expr, self.filename)

        def evaluate(env: dict):
            return eval(code, self.globals, dict(env))  # noqa: S307 - compiled M code
        return evaluate


def declare_model(decl: A.ModelDecl, module_globals: dict) -> ModelClass:
    """The `declare_model` runtime hook: a `ModelClass` for a `model`/`metamodel` declaration.
    Its fields, inherited ones included, are the front end's `ModelTable` resolution of the
    declaration and the bases the run found (`ModelTable.of_lineage`): the same order, types and
    defaults `m check` reads."""
    filename = decl.filename or decl.span.file
    evaluator = _Evaluator(module_globals, filename)
    base_class = _base_class(decl, module_globals)
    base = base_class.spec if base_class is not None else None
    lineage = [decl, *(base_class.lineage if base_class is not None else ())]
    table = ModelTable.of_lineage(lineage)
    fields, inherited = table.fields(decl), table.fields(lineage[1]) if base is not None else {}
    undeclared = [id(f) for f in table.undeclared_bindings(decl)]
    spec = ModelSpec(decl.name, kind=decl.kind, base=base, span=decl.span)
    if base is not None:
        spec.layers = list(base.layers)
        spec.input_type, spec.output_type = base.input_type, base.output_type
        spec.forward, spec.forward_params = base.forward, base.forward_params
    model_names = tuple(n for n, v in module_globals.items() if isinstance(v, ModelClass)) + (decl.name,)
    for fdecl in decl.fields:  # what one declaration may not say, in source order
        if fdecl.name in IO_FIELDS and fdecl.type is not None:
            t = type_from_ast(fdecl.type, model_names)
            if fdecl.name == "input":
                spec.input_type = t
            else:
                spec.output_type = t
        elif fdecl.name in RESERVED_FIELDS:
            raise reserved_field(fdecl.name, spec.name, fdecl.span)
        elif id(fdecl) in undeclared:
            raise binds_undeclared(spec.kind, spec.name, fdecl.name, base.name, inherited, fdecl.span)
    for name, f in fields.items():
        spec.fields[name] = _field_spec(f, decl, base, evaluator, model_names)
    spec.layers.extend(_layer_entry(call, evaluator) for call in decl.layers)
    if decl.forward is not None:
        spec.forward = _compile_forward(decl, spec, module_globals, filename)
        spec.forward_params = spec.forward.params
        spec.source = _source_text(filename)
    elif base is not None:
        spec.source = base.source
    if decl.kind == "model":
        for name, f in fields.items():
            if spec.fields[name].is_abstract:
                raise leaves_abstract(decl.name, name, (f.declared_in or f.owner).name, decl.span)
    return ModelClass(spec, module_globals, lineage)


def _base_class(decl: A.ModelDecl, module_globals: dict) -> ModelClass | None:
    if decl.base is None:
        return None
    span = decl.base_span or decl.span
    if decl.base == decl.name:
        raise extends_cycle([decl.name, decl.name], span)
    base = module_globals.get(decl.base)
    if base is None:
        from mlang.lang.registry import builtins
        entry = builtins().get(decl.base)
        base = entry.resolve() if entry is not None else None
    if base is None:
        known = [n for n, v in module_globals.items() if isinstance(v, ModelClass)]
        raise unknown_base(decl.base, span, did_you_mean(decl.base, known))
    if not isinstance(base, ModelClass) or not isinstance(base.spec, ModelSpec):
        raise MError(f"{decl.name} extends '{decl.base}', which is not a model or metamodel", span)
    if base.spec.is_subtype_of(decl.name):
        raise extends_cycle([decl.name, *base.spec.lineage()], span)
    return base


def _field_spec(f: Field, decl: A.ModelDecl, base: ModelSpec | None, evaluator: _Evaluator,
                model_names) -> FieldSpec:
    """The run's view of a resolved field: one `decl` leaves as its base left it is the base's
    (its default compiled where the base was declared); a type or value `decl` gives is read here."""
    if f.owner is not decl:
        return base.fields[f.name]
    if f.declared_in is decl:
        ftype = type_from_ast(f.type, model_names)
    else:
        ftype = base.fields[f.name].type if base is not None and f.name in base.fields else T.ANY
    default = Deferred(evaluator.compile(f.default), f.default.span) if f.default is not None else ABSTRACT
    return FieldSpec(f.name, ftype, default, f.decl.span)


def _layer_entry(layer: A.LayerCall, evaluator: _Evaluator) -> LayerEntry:
    call = layer.call
    name = call_name(call)
    if name is None:
        raise MError("a layer line must call a catalogue layer by name, e.g. Dense(10)", call.span)
    from mlang.models.layers.base import layer_class, unknown_layer_error
    if layer_class(name) is None:
        raise unknown_layer_error(name, call.func.span)
    args = [evaluator.compile(a.value if isinstance(a, A.Starred) else a) for a in call.args]
    starred = [isinstance(a, A.Starred) for a in call.args]
    keywords = [(k.name, evaluator.compile(k.value)) for k in call.keywords]
    reads = names_read(call)
    by_argument = argument_reads(call, layer_class(name))

    def arguments(fields: dict):
        values: list = []
        for is_star, evaluate in zip(starred, args):
            value = evaluate(fields)
            values.extend(value) if is_star else values.append(value)
        kwargs: dict = {}
        for key, evaluate in keywords:
            value = evaluate(fields)
            kwargs.update(value) if key is None else kwargs.__setitem__(key, value)
        return tuple(values), kwargs
    return LayerEntry(name, arguments, call.span, reads, by_argument)


def _source_text(filename: str) -> str | None:
    import linecache
    lines = linecache.getlines(filename)
    return "".join(lines) if lines else None


class ForwardBlock:
    """A compiled `forward(x) { ... }` block; `bind(values)` gives the function for one call, its
    body seeing the model's fields and `self` by bare name (`self.layers(x)` runs the layer stack)."""

    def __init__(self, make, free_names: tuple[str, ...], params: tuple[str, ...]):
        self.make, self.free_names, self.params = make, free_names, params

    def bind(self, values: dict):
        return self.make(**{name: values.get(name) for name in self.free_names})


def _compile_forward(decl: A.ModelDecl, spec: ModelSpec, module_globals: dict, filename: str) -> ForwardBlock:
    from mlang.lang.compiler import compile_forward
    free = (*spec.fields, "self")
    make = compile_forward(decl.forward, list(free), filename, module_globals)
    return ForwardBlock(make, free, tuple(p.name for p in decl.forward.params))


def declarations(source: str, filename: str) -> dict:
    """The globals of a saved M file after running only its model declarations, functions and
    Python imports (its other statements — training, printing, saving — do not run)."""
    from mlang.lang import runtime
    from mlang.lang.compiler import compile_module
    from mlang.lang.parser import parse

    runtime.register_source(filename, source)
    module = parse(source, filename)
    module.body = [s for s in module.body if isinstance(s, (A.ModelDecl, A.FuncDecl, A.PythonImport))]
    compiled = compile_module(module)
    module_globals = runtime.new_globals(filename, "__restored__", compiled.decls)
    runtime.prepare_builtins(compiled.names_read)
    exec(compiled.code, module_globals)  # noqa: S102 - declarations compiled from M source
    return module_globals


def redeclare(source: str, filename: str, name: str) -> ModelClass:
    """The model class `name` declared by a saved M file."""
    model_class = declarations(source, filename).get(name)
    if not isinstance(model_class, ModelClass):
        raise MError(f"the saved source does not declare the model '{name}'", field="source")
    return model_class


def m_function_source(func) -> tuple[str, str] | None:
    """(source, filename) when `func` is a function written in M, else None."""
    from mlang.lang import runtime

    code = getattr(func, "__code__", None)
    filename = getattr(code, "co_filename", None)
    if filename is None or filename not in runtime._m_files:
        return None
    source = _source_text(filename)
    return (source, filename) if source else None
