"""The checker plugin for hyperparameter spaces: `m check` reports a bad space at its line.

For `autoTuneModel(Name, space, ...)` where `Name` is a model the file sees (its own, an imported
one, a standard metamodel: the front end's resolved `ModelTable`, inherited fields included) and
`space` is `defineHyperparamSpace({...})` (inline, or a variable that the call's scope assigns
exactly once), every key must be a field of the model or a training setting, and every
distribution's values must fit the field's declared type.  The same checks `autoTuneModel`
makes at run time are applied to the statically known part of the program; anything not known
(a model from another file, a space built at run time, bounds computed by code) is skipped,
never guessed.
"""
from __future__ import annotations

from mlang.lang import ast as A
from mlang.lang.diagnostics import Diagnostic, MError
from mlang.models.astutil import IO_FIELDS, UNKNOWN, call_name, static_value, type_from_ast

TUNE = "autoTuneModel"
SPACE = "defineHyperparamSpace"


def check_spaces(module: A.Module, ctx) -> list[Diagnostic]:
    """The plugin: reads the front end's resolved program (`ctx`): its record of the calls, the
    scope each is made in, and the models' fields."""
    if module.source and TUNE not in module.source:
        return []  # most programs tune nothing
    found: list[Diagnostic] = []
    for site in ctx.calls:
        if site.name != TUNE or len(site.call.args) < 2 or site.scope.lookup(TUNE) is not None:
            continue  # not the builtin: the program binds the name itself
        model, space = site.call.args[0], site.call.args[1]
        if not isinstance(model, A.Name) or getattr(site.scope.lookup(model.id), "parent", None) is not None:
            continue  # a model the module does not declare or import by that name (a parameter, ...)
        fields = _field_types(ctx.table, model.id)
        literal = _space_literal(space, site.scope) if fields is not None else None
        if literal is not None:
            found.extend(_check_literal(model.id, fields, literal))
    return found


def _field_types(table, name: str) -> dict | None:
    """The model's fields and their M types, inherited ones included; None when not known."""
    decl = table.get(name)
    fields = table.fields(decl) if decl is not None else None
    if fields is None:
        return None
    names = tuple(table.local)
    return {n: type_from_ast(f.type, names) for n, f in fields.items() if n not in IO_FIELDS}


def _space_literal(node, scope=None) -> A.DictLit | None:
    """The `{...}` of a space written inline or held by a variable that `scope` sees assigned
    exactly once (any other variable's space is unknown)."""
    if isinstance(node, A.DictLit):
        return node
    if isinstance(node, A.Name) and scope is not None:
        where = scope.lookup(node.id)
        values = where.values(node.id) if where is not None else []
        return _space_literal(values[0]) if len(values) == 1 and values[0] is not None else None
    if isinstance(node, A.Call) and call_name(node) == SPACE and len(node.args) == 1:
        return node.args[0] if isinstance(node.args[0], A.DictLit) else None
    return None


def _check_literal(model_name: str, fields: dict, literal: A.DictLit) -> list[Diagnostic]:
    from mlang.train.hpo.space import HyperparamSpace
    from mlang.train.hpo.tune import TuneTarget, split_space

    target = TuneTarget(model_name, build=None, fields=fields)
    found = []
    for key, value in zip(literal.keys, literal.values):
        name = key.id if isinstance(key, A.Name) else static_value(key, {})
        if not isinstance(name, str):
            continue
        try:
            param = _static_param(value)
        except MError as error:  # bad bounds or options
            found.append(_diagnostic(error, value.span))
            continue
        if param is None:
            continue
        try:
            split_space(HyperparamSpace({name: param}), target)
        except MError as error:  # not a field or setting, or the wrong type
            found.append(_diagnostic(error, key.span))
    return found


def _diagnostic(error: MError, span) -> Diagnostic:
    return Diagnostic(str(error.args[0]), span, hint=error.diagnostics[0].hint)


def _static_param(node):
    """The distribution a call like `intRange(1, 4).when(...)` makes, when its arguments are
    constants (its condition left out: it is checked when the space is built)."""
    from mlang.train.hpo import space as S

    if (isinstance(node, A.Call) and isinstance(node.func, A.Attribute)
            and node.func.attr == "when"):
        node = node.func.value
    makers = {"uniform": S.uniform, "logUniform": S.log_uniform, "intRange": S.int_range,
              "choice": S.choice}
    if not isinstance(node, A.Call) or call_name(node) not in makers or node.block:
        return None
    args = [static_value(a, {}) for a in node.args]
    kwargs = {k.name: static_value(k.value, {}) for k in node.keywords}
    if UNKNOWN in args or UNKNOWN in kwargs.values() or None in kwargs:
        return None
    return makers[call_name(node)](*args, **kwargs)
