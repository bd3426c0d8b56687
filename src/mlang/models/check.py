"""The models stage's checker plugin: model errors found by `m check`, before anything runs.

Registered with `register_check(check_models)`.  It reads the module's `metamodel`/`model`
declarations, the instantiations `Name(field=...)` and the compositions
(`sequentialModel`, `parallelModel`) and reports, each at its line:

- a cycle in `extends`;
- a field name the model cannot use (it would shadow the module's own attributes);
- a field default or binding of the wrong type;
- a concrete `model` that leaves an abstract field unbound; instantiating with an unbound
  abstract field, an unknown field (with "did you mean"), positional arguments, or a wrong type;
- an unknown layer (with "did you mean") and bad layer arguments (name, count, type, range);
- a shape mismatch inside a layer stack, or between the stack and the declared `output:` type;
- a shape mismatch between `sequentialModel` parts and an impossible `parallelModel` merge;
- a literal `loadModelFromUrl` name that is a near miss of a zoo name.

The standard metamodels (`TextClassifier`, ...) are checked like the module's own models, as
bases and when instantiated directly (`TextClassifier(num_labels="two")`).  A layer they
declare that rejects a value the user gave (`pooling = "bogus"` in a model extending one, or
`TextClassifier(pooling="bogus")`) is reported where the user gave it, with the library's
line as a note (`stdlib_note`, the run's wording too).

Names a `forward` block uses are the front end's concern (its model scope holds the fields,
inherited ones included), as are unknown fields and positional arguments at instantiation, which
it reports first; this plugin still finds those, for callers without the front end.

Whatever cannot be known statically (values from Python, unknown bases) is skipped: no false errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mlang.lang import ast as A
from mlang.lang import types as T
from mlang.lang.diagnostics import Diagnostic, MError, Span
from mlang.lang.registry import builtins
from mlang.lang.resolve import Field, ModelTable, did_you_mean, no_field, positional_fields, unbound_field
from mlang.models.astutil import (IO_FIELDS, UNKNOWN, call_name, names_read, static_kind, static_value,
                                  type_from_ast)
from mlang.models.layers.base import (bind_arguments, create_layer, layer_class, positional_names,
                                      unknown_layer_error)
from mlang.models.shapes import (MERGES, ShapeMismatch, check_output, check_sequence, field_bindings, merge_type,
                                 propagate, reject_input_shape, stack_input)
from mlang.models.spec import value_matches_type
from mlang.models.stdlib import is_stdlib_file

RESERVED_FIELDS = frozenset({
    # every public attribute of a declared model, with what transformers adds to torch modules
    # (tests/models/test_model_errors.py checks the list against the class), so a field never
    # shadows one; kept here so m check needs no torch
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children",
    "compile", "compute", "config", "count_params", "cpu", "cuda", "double", "dump_patches",
    "eval", "example_inputs", "extra_repr", "features", "fields", "float", "forward",
    "from_config", "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half",
    "input_type", "ipu", "kind", "labels", "layers", "load_state_dict", "materialize", "modules",
    "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "output_type",
    "parameters", "parts", "preprocess", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "run_forward", "set_extra_state", "set_submodule", "share_memory", "smart_apply", "spec",
    "state_dict", "submodels", "summary", "summary_children", "summary_rows", "task", "to", "to_empty", "train",
    "training", "transforms", "type", "xpu", "zero_grad",
})
ABSTRACT = object()


def reserved_field(name: str, model: str, span: Span | None = None) -> MError:
    """A field named like a model attribute would shadow it."""
    hint = (f"it is set on an instance, not declared: {model.lower()}.{name} = ..." if name in ("task", "labels")
            else "rename the field")
    return MError(f"'{name}' cannot be a field name of model {model}: it is a model attribute", span, hint=hint)


# The model errors `m check` and the run both report, each worded here once (with the
# instantiation ones of mlang.lang.resolve, which the front end reports too).

def extends_cycle(chain: list[str], span: Span | None = None) -> MError:
    """`A extends B`, `B extends A`: `chain` is the names along the cycle, the first again last."""
    return MError(f"cycle in extends: {' extends '.join(chain)}", span,
                  hint="a model cannot inherit from itself, directly or through its bases")


def leaves_abstract(model: str, name: str, owner: str | None = None, span: Span | None = None) -> MError:
    """A concrete `model` that does not bind an abstract field it inherits or declares."""
    where = f" (declared in {owner})" if owner else ""
    return MError(f"model {model} leaves the abstract field '{name}' unbound{where}", span,
                  hint=f"bind it in the body ({name} = ...) or declare {model} as a metamodel")


def wrong_field_type(name: str, model: str, expected, given: str, span: Span | None = None) -> MError:
    """A field's value that is not of its declared type; `given` words the value (`str 'two'`)."""
    return MError(f"field '{name}' of {model} is {expected} but is given {given}"[:300], span)


def argument_reads(call: A.Call, cls) -> dict[str, tuple[str, ...]]:
    """Parameter name → the names its argument reads, for a layer call (`TextEncoder(pretrained_model,
    pooling=pooling)` → {"pretrained_model": ("pretrained_model",), "pooling": ("pooling",)}):
    which field gave the value a layer's error is about (`LayerArgError.argument`)."""
    found = {}
    if cls is not None and not getattr(cls, "VARARGS", None) and not any(isinstance(a, A.Starred) for a in call.args):
        found.update((p, names_read(a)) for p, a in zip(positional_names(cls), call.args))
    found.update((k.name, names_read(k.value)) for k in call.keywords if k.name is not None)
    return found


def stdlib_note(layer: str, span: Span, metamodel: str) -> str:
    """The note on an error a layer of M's standard library raised, reported at the user's value."""
    return f"raised by {layer} at {span}, in M's standard {metamodel}"


FAILED = object()  # a layer whose error is already reported
COMPOSITIONS = ("sequentialModel", "parallelModel")


@dataclass
class StaticField:
    name: str
    type: T.MType
    value: object  # a static value, UNKNOWN, or ABSTRACT
    span: Span
    owner: str


@dataclass
class StaticModel:
    """What the checker knows about a declared model, inherited parts included."""

    decl: A.ModelDecl
    fields: dict[str, StaticField] = field(default_factory=dict)
    layers: list[A.LayerCall] = field(default_factory=list)
    input_type: T.MType = T.ANY
    output_type: T.MType = T.ANY
    output_span: Span | None = None
    has_forward: bool = False
    open: bool = False  # the base is not declared in this module: fields are not fully known
    lineage: list[str] = field(default_factory=list)

    def env(self) -> dict:
        return {n: f.value for n, f in self.fields.items() if f.value not in (UNKNOWN, ABSTRACT)}


class ModelChecker:
    """The model checks of one module.

    `calls`: the front end's record of the module's calls (`CheckContext.calls`); without it
    the checker finds the calls it needs by walking the module itself.
    """

    def __init__(self, module: A.Module, visible: dict | None = None, calls: list | None = None,
                 table: ModelTable | None = None, scopes: list | None = None):
        self.module = module
        # with the front end's scopes: every name the module binds, anywhere (None: checked alone)
        self.bound = set().union(*(s.names for s in scopes)) if scopes else None
        self.layers_checked: set[int] = set()  # id() of the layer calls configured (each reported once)
        self.diagnostics: list[Diagnostic] = []
        self.arguments: dict[int, str] = {}  # id(diagnostic) → the layer argument it is about
        # models imported from other M files (under their own name) are known too; the standard
        # metamodels the front end lists are found through `declaration`, which sees rebinding
        self.decls = {name: d for name, d in (visible or {}).items()
                      if isinstance(d, A.ModelDecl) and d.name == name and not is_stdlib_file(d.span and d.span.file)}
        self.decls.update({s.name: s for s in module.body if isinstance(s, A.ModelDecl)})
        self.models: dict[str, StaticModel | None] = {}
        self.calls = calls
        # the fields of each model, inherited ones included: the front end's resolution
        self.table = table if table is not None else ModelTable(self.decls, builtins())
        self.assigned_models: dict[str, StaticModelValue] = {}

    @cached_property
    def model_calls(self) -> dict[int, list[A.Call]]:
        """id(module-level statement) → its calls that may make a model value (instantiations of
        a declared model, compositions), innermost first: arguments before the calls using them."""
        from mlang.models.stdlib import METAMODELS

        # a standard metamodel's file is read only when the module calls one (`declaration`)
        wanted = set(self.decls).union(COMPOSITIONS,
                                       (n for n in METAMODELS if self.bound is None or n not in self.bound))
        found: dict[int, list[A.Call]] = {}
        if self.calls is not None:
            for site in self.calls:
                if site.name in wanted:
                    found.setdefault(id(site.statement), []).append(site.call)
            return found
        for stmt in _statements(self.module.body):
            calls = [n for n in A.walk(stmt) if isinstance(n, A.Call) and call_name(n) in wanted]
            if calls:
                found[id(stmt)] = calls[::-1]
        return found

    def error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span, hint=hint))

    def declaration(self, name: str) -> A.ModelDecl | None:
        """The model `name` means: one the module sees, or a standard metamodel (`TextClassifier`)
        where the module binds no other meaning to the name."""
        if name in self.decls:
            return self.decls[name]
        if self.bound is not None and name in self.bound:
            return None
        return self.table.builtin(name)

    def add(self, exc: MError) -> None:
        self.diagnostics.extend(exc.diagnostics)
        if getattr(exc, "argument", None) is not None:  # a layer's argument at fault
            self.arguments[id(exc.diagnostics[0])] = exc.argument

    # ----- declarations ------------------------------------------------------------------------
    def resolve(self, name: str, chain: tuple = ()) -> StaticModel | None:
        if name in self.models:
            return self.models[name]
        decl = self.declaration(name)
        base = None
        if decl.base is not None:
            if decl.base in chain or decl.base == name:
                cycle = [*chain, name, decl.base][chain.index(decl.base) if decl.base in chain else 0:]
                self.add(extends_cycle(cycle, decl.base_span or decl.span))
                self.models[name] = None
                return None
            if self.declaration(decl.base) is not None:
                base = self.resolve(decl.base, (*chain, name))
                if base is None:
                    self.models[name] = None
                    return None
        model = self.declare(decl, base)
        self.models[name] = model
        return model

    def declare(self, decl: A.ModelDecl, base: StaticModel | None) -> StaticModel:
        model = StaticModel(decl, open=decl.base is not None and base is None)
        if base is not None:
            model.layers = list(base.layers)
            model.input_type, model.output_type = base.input_type, base.output_type
            model.output_span, model.has_forward = base.output_span, base.has_forward
            model.open = base.open
            model.lineage = list(base.lineage)
        model.lineage.insert(0, decl.name)
        names = self.decls.keys()  # a model's name as a field type is a Model type
        for f in decl.fields:
            if f.name in IO_FIELDS and f.type is not None:
                t = type_from_ast(f.type, names)
                if f.name == "input":
                    model.input_type = t
                else:
                    model.output_type, model.output_span = t, f.span
            elif f.name in RESERVED_FIELDS:
                self.add(reserved_field(f.name, decl.name, f.span))
        # in the order the run evaluates them: inherited first, each seeing the ones before it
        resolved = self.table.fields(decl, partial=model.open) or {}
        for f in resolved.values():
            if f.name not in RESERVED_FIELDS:
                self.declare_field(model, f, names)
        model.layers.extend(decl.layers)
        model.has_forward = model.has_forward or decl.forward is not None
        if decl.kind == "model" and decl.base is None and not model.layers and not model.has_forward:
            nothing = computes_nothing(decl.name, [f.name for f in decl.fields]).diagnostics[0]
            self.error(nothing.message, decl.span, hint=nothing.hint)
        if decl.kind == "model" and not model.open:
            for name, sf in model.fields.items():
                if sf.value is ABSTRACT:
                    self.add(leaves_abstract(decl.name, name, sf.owner, decl.span))
        return model

    def declare_field(self, model: StaticModel, f: Field, names) -> None:
        ftype = type_from_ast(f.type, names) if f.type is not None else T.ANY
        if f.default is None:
            value = ABSTRACT if f.type is not None else UNKNOWN
        else:
            value = static_value(f.default, model.env())
            if value is not UNKNOWN and not _fits(value, ftype):
                if f.owner is model.decl:  # a base's own error is reported at the base
                    self.add(wrong_field_type(f.name, model.decl.name, ftype, f"{static_kind(value)} {value!r}",
                                              f.default.span))
                value = UNKNOWN
        model.fields[f.name] = StaticField(f.name, ftype, value, f.decl.span, (f.declared_in or f.owner).name)

    # ----- layer stacks ------------------------------------------------------------------------
    def check_stack(self, model: StaticModel) -> T.MType:
        """Propagate shapes through the stack; report the first mismatch; return the output type."""
        env = model.env()
        bindings = field_bindings(env)
        current = stack_input(T.substitute(model.input_type, bindings))
        if not model.layers:
            return T.substitute(model.output_type, bindings)
        failed = False
        bound = {n: f.span for n, f in model.fields.items() if f.span is not None and not is_stdlib_file(f.span.file)}
        for call in model.layers:
            before = len(self.diagnostics)
            layer = self.static_layer(call.call, env)
            if layer is FAILED or layer is UNKNOWN:
                current = T.ANY
            else:
                try:
                    current = propagate(current, [layer])[0]
                except ShapeMismatch as exc:
                    self.add(exc)
                    failed, current = True, T.ANY
            self.at_users_value(before, call.call, model, bound, model.decl.span)
        if failed:
            return T.ANY
        if model.has_forward:
            return T.substitute(model.output_type, bindings)
        try:
            check_output(current, T.substitute(model.output_type, bindings), f"the layer stack of {model.decl.name}",
                         model.output_span or model.decl.span)
        except ShapeMismatch as exc:
            self.add(exc)
            return T.ANY
        return current if isinstance(model.output_type, T.AnyType) else T.substitute(model.output_type, bindings)

    def static_layer(self, call: A.Call, env: dict):
        """The configured layer, `UNKNOWN` when its arguments are not static, `FAILED` after an error."""
        name = call_name(call)
        if name is None:
            return UNKNOWN
        self.layers_checked.add(id(call))
        cls = layer_class(name)
        if cls is None:
            if self.bound is None or name in self.bound or name in builtins():  # else the front end
                self.add(unknown_layer_error(name, call.func.span))              # said "undefined name"
            return FAILED
        if any(isinstance(a, A.Starred) for a in call.args) or any(k.name is None for k in call.keywords):
            return UNKNOWN
        args = [self.static_argument(a, env) for a in call.args]
        kwargs = {k.name: self.static_argument(k.value, env) for k in call.keywords}
        if any(v is FAILED for v in [*args, *kwargs.values()]):
            return FAILED
        try:
            if any(v is UNKNOWN for v in [*args, *kwargs.values()]):
                bind_arguments(cls, tuple(args), kwargs, call.span)
                return UNKNOWN
            layer = create_layer(name, tuple(args), kwargs, span=call.span)
            reject_input_shape([layer])
            return layer
        except MError as exc:
            if getattr(exc, "run_time_only", False):
                return UNKNOWN
            self.add(exc)
            return FAILED

    def at_users_value(self, since: int, call: A.Call, model: StaticModel, given: dict[str, Span],
                       fallback: Span) -> None:
        """Move the errors reported since `since` about `call`, a layer M's standard library
        declares, to the value the user gave: `given[field]` for the field the layer's faulty
        argument reads (any field the call reads when no argument is named), else `fallback`."""
        if call.span is None or not is_stdlib_file(call.span.file):
            return
        for d in self.diagnostics[since:]:
            if d.span is None or not is_stdlib_file(d.span.file):
                continue
            # the layer that raised it: `call` or one given to it (`Forecast(LSTM(hidden_size), ...)`)
            raised = next((c for c in A.walk(call) if isinstance(c, A.Call) and c.span == d.span), call)
            name = self.arguments.get(id(d))
            by_argument = argument_reads(raised, layer_class(call_name(raised) or ""))
            reads = by_argument.get(name, ()) if name is not None else tuple(
                dict.fromkeys(n for names in by_argument.values() for n in names))
            blamed = next((given[n] for n in reads if n in given), fallback)
            d.notes.append(stdlib_note(call_name(raised) or "a layer", d.span, model.lineage[-1]))
            d.span = blamed

    def static_argument(self, node, env: dict):
        if isinstance(node, A.Call) and call_name(node) is not None:
            if layer_class(call_name(node)) is not None:
                return self.static_layer(node, env)
        return static_value(node, env)

    # ----- instantiations and compositions -----------------------------------------------------
    def check_instantiation(self, call: A.Call) -> "StaticModelValue | None":
        name = call_name(call)
        model = self.resolve(name) if name is not None and self.declaration(name) is not None else None
        if model is None:
            return None
        ok = True
        if call.args:
            self.add(positional_fields(name, len(call.args), call.args[0].span))
            ok = False
        given, spans = {}, {}
        for kw in call.keywords:
            if kw.name is None:
                return None
            if kw.name not in model.fields:
                if model.open:
                    continue
                self.add(no_field(name, kw.name, model.fields, kw.span))
                ok = False
                continue
            value = static_value(kw.value, {})
            ftype = model.fields[kw.name].type
            if value is not UNKNOWN and not _fits(value, ftype):
                self.add(wrong_field_type(kw.name, name, ftype, f"{static_kind(value)} {value!r}", kw.value.span))
                ok = False
            given_model = self.model_value(kw.value)
            if isinstance(ftype, T.ModelType) and given_model is not None and not self.model_fits(given_model, ftype):
                self.add(wrong_field_type(kw.name, name, ftype, f"{given_model.name} ({given_model.input} -> "
                                          f"{given_model.output})", kw.value.span))
                ok = False
            given[kw.name] = value
            spans[kw.name] = kw.span
        if not model.open:
            for fname, sf in model.fields.items():
                if sf.value is ABSTRACT and fname not in given:
                    self.add(unbound_field(name, fname, call.span))
                    ok = False
        if not ok:
            return None
        env = self.instance_env(model, given)
        self.check_instance_layers(model, env, {k for k, v in given.items() if v is not UNKNOWN}, spans, call.span)
        bindings = _int_bindings(env)
        output = self.outputs.get(name, T.ANY)
        return StaticModelValue(name, T.substitute(model.input_type, bindings), T.substitute(output, bindings))

    def instance_env(self, model: StaticModel, given: dict) -> dict:
        """The static field values of one instance: `given` ones, the others' defaults evaluated
        in order with the fields before them (as the run evaluates them)."""
        env: dict = {}
        for f in (self.table.fields(model.decl) or {}).values():
            known = model.fields.get(f.name)
            if known is None:
                continue
            value = given[f.name] if f.name in given else (
                static_value(f.default, env) if f.default is not None else UNKNOWN)
            if value is not UNKNOWN and _fits(value, known.type):
                env[f.name] = value
        return env

    def check_instance_layers(self, model: StaticModel, env: dict, given: set[str], spans: dict[str, Span],
                              fallback: Span) -> None:
        """The layers that read a field the instantiation gives, configured with its values:
        an error of a layer the standard library declares is reported at the keyword."""
        start = len(self.diagnostics)
        for entry in model.layers:
            if not given.intersection(names_read(entry.call)):
                continue
            before = len(self.diagnostics)
            self.static_layer(entry.call, env)
            self.at_users_value(before, entry.call, model, spans, fallback)
        if len(self.diagnostics) > start:  # not again what the declaration's check reported there
            seen = {(d.message, d.span) for d in self.diagnostics[:start]}
            new = self.diagnostics[start:]
            del self.diagnostics[start:]
            for d in new:
                if (d.message, d.span) not in seen:
                    seen.add((d.message, d.span))
                    self.diagnostics.append(d)

    def model_fits(self, value: "StaticModelValue", expected: T.ModelType) -> bool:
        """A statically known model value against a `Model[In -> Out]` or model-named field type."""
        if expected.name not in (None, "Model"):
            known = self.models.get(value.name)
            if known is None or known.open:
                return True
            return expected.name in known.lineage
        return (T.unify(stack_input(value.input), stack_input(expected.input), T.Bindings())
                and T.unify(stack_input(value.output), stack_input(expected.output), T.Bindings()))

    def model_value(self, node) -> "StaticModelValue | None":
        if isinstance(node, A.Call):
            if call_name(node) is not None and self.declaration(call_name(node)) is not None:
                return self.instantiations.get(id(node))
            return self.composition_values.get(id(node))
        if isinstance(node, A.Name):
            return self.assigned_models.get(node.id)
        return None

    def check_composition(self, call: A.Call) -> "StaticModelValue | None":
        name = call_name(call)
        if name not in COMPOSITIONS:
            return None
        parts = [self.model_value(a) for a in call.args]
        merge_kw = next((k for k in call.keywords if k.name == "merge"), None)
        merge = static_value(merge_kw.value, {}) if merge_kw else "concat"
        if name == "parallelModel" and isinstance(merge, str) and merge not in MERGES:
            hint = did_you_mean(merge, MERGES)
            self.error(f"parallelModel: unknown merge '{merge}'", merge_kw.value.span,
                       hint=hint or "use 'concat', 'sum' or 'stack'")
            return None
        if any(p is None for p in parts) or not parts:
            return None
        try:
            if name == "sequentialModel":
                check_sequence([(p.input, p.output) for p in parts], [p.name for p in parts])
                return StaticModelValue(name, parts[0].input, parts[-1].output)
            first = stack_input(parts[0].input)
            for p in parts[1:]:
                if not T.unify(stack_input(p.input), first, T.Bindings()):
                    raise ShapeMismatch(f"parallelModel: {parts[0].name} takes {parts[0].input} but "
                                        f"{p.name} takes {p.input}; every part must accept the same input")
            if isinstance(merge, str):
                return StaticModelValue(name, parts[0].input,
                                        merge_type([p.output for p in parts], merge, [p.name for p in parts]))
        except MError as exc:
            for d in exc.diagnostics:
                self.error(d.message, call.span, hint=d.hint)
        return None

    # ----- driver ------------------------------------------------------------------------------
    def run(self) -> list[Diagnostic]:
        self.outputs: dict[str, T.MType] = {}
        self.instantiations: dict[int, StaticModelValue] = {}
        self.composition_values: dict[int, StaticModelValue] = {}
        for name in self.decls:
            model = self.resolve(name)
            if model is not None:
                self.outputs[name] = self.check_stack(model)
        for stmt in _statements(self.module.body):
            self.check_statement(stmt)
        self.check_layer_calls()
        # an imported model's own errors are reported when its file is checked
        return [d for d in self.diagnostics if d.span is None or d.span.file == self.module.filename]

    def check_layer_calls(self) -> None:
        """Layers made outside model bodies (`sequentialModel(Dense(4), ...)`, in functions):
        their arguments, with the catalogue's messages.  Only with the front end's record of the
        calls and scopes, so a name the program binds to something else is left alone."""
        if self.calls is None or self.bound is None:
            return
        for site in reversed(self.calls):  # outermost first: a layer given to a layer is checked with it
            if (isinstance(site.statement, A.ModelDecl) or id(site.call) in self.layers_checked
                    or site.name in self.bound or layer_class(site.name) is None):
                continue
            self.static_layer(site.call, {})

    def check_statement(self, stmt) -> None:
        for call in self.model_calls.get(id(stmt), ()):
            value = self.check_instantiation(call)
            if value is not None:
                self.instantiations[id(call)] = value
            value = self.check_composition(call)
            if value is not None:
                self.composition_values[id(call)] = value
        if isinstance(stmt, A.Assign) and isinstance(stmt.target, A.Name):
            value = self.model_value(stmt.value)
            if value is not None:
                self.assigned_models[stmt.target.id] = value
            else:
                self.assigned_models.pop(stmt.target.id, None)


@dataclass
class StaticModelValue:
    """A model value whose I/O types the checker knows (an instantiation or a composition)."""

    name: str
    input: T.MType
    output: T.MType


def computes_nothing(name: str, field_names) -> MError:
    """A concrete model with no layers, no forward block and no base: it has nothing to compute
    (and nothing to train).  The hint names the standard metamodel its fields suggest."""
    from mlang.models.stdlib import declarations

    wanted = set(field_names) - set(IO_FIELDS)
    overlap = {base: wanted & {f.name for f in decl.fields} for base, decl in declarations().items()}
    best = max(overlap, key=lambda base: (len(overlap[base]), base == "TextClassifier"))
    if overlap[best]:
        hint = (f"to build on the standard {best}, whose fields include "
                f"{', '.join(sorted(overlap[best]))}, write `model {name} extends {best} {{ ... }}`")
    else:
        hint = "add layers (e.g. Dense(2)), a forward(x) { ... } block, or extend a model (e.g. TextClassifier)"
    return MError(f"model {name} has no layers, no forward block and no base model, so it computes nothing",
                  hint=hint)


def _fits(value, expected: T.MType) -> bool:
    if isinstance(expected, T.ModelType):
        return True  # model-valued fields are checked at instantiation (values come from calls)
    return value_matches_type(value, expected)


def _int_bindings(env: dict) -> T.Bindings:
    bindings = T.Bindings()
    for name, value in env.items():
        if isinstance(value, int) and not isinstance(value, bool):
            bindings[T.Sym(name)] = value
    return bindings


def _statements(body):
    """Top-level statements and those nested in blocks (not inside model bodies)."""
    for stmt in body:
        if isinstance(stmt, A.ModelDecl):
            continue
        yield stmt


def check_models(module: A.Module, ctx=None) -> list[Diagnostic]:
    """The checker plugin: model diagnostics for one parsed module.

    With the front end's context each problem is reported once, by whichever knows it: an
    undefined name by the front end, a layer's arguments here (the front end leaves the layer
    catalogue's calls to this plugin); the instantiation errors both find are worded alike
    (mlang.lang.resolve), so `m check` shows them once.
    """
    checker = ModelChecker(module, getattr(ctx, "models", None), getattr(ctx, "calls", None),
                           getattr(ctx, "table", None), getattr(ctx, "scopes", None))
    found = checker.run()
    if ctx is not None:
        ctx.results["models"] = checker  # the static view of the models, for the language server
    return found + pretrained_name_errors(getattr(ctx, "calls", None) or ())


def pretrained_name_errors(calls) -> list[Diagnostic]:
    """`loadModelFromUrl("minilm-l7")`: a literal name that is a near miss of a zoo name, and no
    location (no scheme, no file of that name), fails at run time; report it now.  Any other
    literal may be a path made later or a hub name: left alone."""
    found = []
    for site in calls:
        if site.name != "loadModelFromUrl" or not site.call.args:
            continue
        arg = site.call.args[0]
        if not (isinstance(arg, A.Constant) and isinstance(arg.value, str)):
            continue
        name = arg.value.strip()
        from mlang.models import zoo

        if zoo.is_zoo_name(name) or ":" in name or "/" in name or zoo.likely_typo(name) is None:
            continue
        folder = Path(arg.span.file).parent if arg.span and not arg.span.file.startswith("<") else Path()
        if Path(name).exists() or (folder / name).exists():
            continue
        unknown = zoo.unknown_pretrained(name)
        found.append(Diagnostic(str(unknown.args[0]), arg.span, hint=unknown.diagnostics[0].hint))
    return found
