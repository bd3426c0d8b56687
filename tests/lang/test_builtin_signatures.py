"""Every builtin's declared parameters (`register_builtin(..., params=...)`) against the real
function, so that the declarations `m check` reads cannot drift from what runs."""
import inspect

import pytest

from mlang.lang import registry
from mlang.lang.registry import literal_kinds

registry.load_stages()
BUILTINS = registry.builtins()
KINDS = {inspect.Parameter.POSITIONAL_ONLY: "positional-only", inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
         inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.KEYWORD_ONLY: "keyword-only",
         inspect.Parameter.VAR_KEYWORD: "**"}


def declared(sig: registry.Signature) -> list[tuple[str, str, bool]]:
    """(name, kind, has_default) of a declared signature, `*`/`**` as Python spells their kinds."""
    rows = [(n, "positional-only" if i < sig.positional_only else "positional", d)
            for i, (n, d) in enumerate(sig.positional)]
    rows += [("*", "*", False)] if sig.var_positional else []
    rows += [(n, "keyword-only", d) for n, d in sig.keyword_only]
    rows += [("**", "**", False)] if sig.var_keyword else []
    return rows


def actual(fn) -> list[tuple[str, str, bool]]:
    params = inspect.signature(fn).parameters.values()  # follows __wrapped__, drops a class's self
    return [(p.name if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) else KINDS[p.kind], KINDS[p.kind],
             p.default is not p.empty) for p in params]


def compare(sig: registry.Signature, fn) -> None:
    """Names, kinds and defaults the same; each declared literal type admits what the function's
    annotation admits, and each default as written is the function's."""
    assert declared(sig) == actual(fn), f"{sig.name}: the params= declared with register_builtin differ from the function"
    params = inspect.signature(fn).parameters
    for name, type_text in sig.types.items():
        p = next((q for q in params.values() if q.kind is q.VAR_KEYWORD), None) if name == "**" else params[name]
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", None)
        if p.annotation is not p.empty and literal_kinds(annotation) is not None:
            assert literal_kinds(type_text) == literal_kinds(annotation), (name, type_text, annotation)
    for name, text in sig.defaults.items():
        if text != "...":
            assert eval(text) == params[name].default, name  # noqa: S307 - our own declarations


def declared_builtins():
    return sorted(name for name, b in BUILTINS.items() if b.params is not None and b.m_file is None)


@pytest.mark.parametrize("name", declared_builtins())
def test_each_declared_signature_is_the_functions(name):
    builtin = BUILTINS[name]
    target = builtin.resolve()
    sig = builtin.signature
    if callable(builtin.params):  # a catalogue layer: its dataclass fields, less the span a call records
        fields = [(n, d) for n, _, d in actual(target) if n != "span"]
        assert sig.var_positional or [(n, d) for n, _, d in declared(sig)] == fields
        return
    compare(sig, target)


def test_every_builtin_m_cannot_inspect_declares_its_parameters():
    """A builtin imported on first use declares its parameters (Python's own are inspected live);
    the ones written in M name their file."""
    lazy = [name for name, b in BUILTINS.items() if isinstance(b.target, str) or not callable(b.target)]
    undeclared = [name for name in lazy if BUILTINS[name].params is None and BUILTINS[name].m_file is None]
    assert undeclared == [], ("declare their parameters: register_builtin(..., params=\"a, b=1, *, c: int = 2\") "
                              "(docs/language.md, Extending the language)")


def test_dataset_members_are_the_loaders():
    from mlang.data.loaders import LOADERS, loader

    dataset = BUILTINS["Dataset"]
    assert sorted(dataset.members) == sorted(LOADERS)
    for fmt in LOADERS:
        compare(dataset.member_signature(fmt), loader(fmt))


def test_a_declaration_that_is_not_a_parameter_list_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'probe'"):
        registry.Signature.from_text("probe", "a, b=")
