"""The checker: several errors at once, hints, builtin signatures without imports, plugins."""
import sys

import mlang.lang as lang
from mlang.lang import registry
from mlang.lang.checker import builtin_signature
from mlang.lang.diagnostics import Diagnostic


def messages(source):
    return [(d.span.line, d.message, d.hint) for d in lang.check_source(source, "c.m")]


def test_undefined_names_suggest_a_close_one():
    assert messages("learning_rate = 0.1\nprint(learnin_rate)\nprinnt(1)\n") == [
        (2, "undefined name 'learnin_rate'", "did you mean 'learning_rate'?"),
        (3, "undefined name 'prinnt'", "did you mean 'print'?")]


def test_scopes_functions_comprehensions_models_and_blocks():
    source = """func outer(a) {
    func inner() { return a + later }
    later = 1
    return inner
}
squares = [i * i for i in range(3)]
metamodel Base { size: int = 2 }
model Child extends Base {
    Dense(size)
    forward(x) { return x * size + missing }
}
"""
    assert messages(source) == [(10, "undefined name 'missing'", None)]


def test_argument_checks_for_m_functions_models_and_builtins():
    source = """func f(a, b = 1, *, key) { return a }
f(1, key = 2)
f(1, 2, 3, key = 4)
f(key = 1)
metamodel Base { size: int = 2 }
Base(siz = 3)
print(len([1], [2]))
"""
    assert [m for _, m, _ in messages(source)] == [
        "'f' takes at most 2 arguments, but 3 were given",
        "'f' is missing 1 argument: 'a'",
        "'Base' has no field named 'siz'",
        "'len' takes at most 1 argument, but 2 were given",
    ]


def test_builtin_signature_is_read_from_source_without_importing():
    module_name = "mlang.lang._sig_probe"
    assert module_name not in sys.modules
    builtin = registry.Builtin("probe", "mlang.lang.checker:_signature_from_args")
    sig = builtin_signature(builtin)
    assert [n for n, _ in sig.positional] == ["name", "args", "skip_self"]
    lazy = registry.Builtin("lazyTorch", "mlang.lang.api:run_file")
    assert [n for n, _ in builtin_signature(lazy).positional] == ["path", "args", "check"]


def test_check_plugins_run_and_their_failures_become_diagnostics():
    def plugin(module, ctx):
        return [Diagnostic(f"{len(module.body)} statements in {ctx.filename}", None)]

    def broken(module, ctx):
        raise KeyError("oops")

    registry.register_check(plugin)
    registry.register_check(broken)
    try:
        found = [d.message for d in lang.check_source("x = 1\n", "p.m")]
    finally:
        registry._checks.remove(plugin)
        registry._checks.remove(broken)
    assert "1 statements in p.m" in found
    assert any(m.startswith("internal error in the checker plugin") for m in found)


def test_registered_builtins_are_defined_and_accept_blocks_only_when_registered():
    registry.register_builtin("withBlock", lambda _block=None: None, accepts_block=True)
    registry.register_builtin("withoutBlock", lambda: None)
    try:
        found = messages("withBlock() {\n    1\n}\nwithoutBlock() {\n    2\n}\n")
    finally:
        registry._builtins.pop("withBlock")
        registry._builtins.pop("withoutBlock")
    assert [(line, m) for line, m, _ in found] == [(4, "'withoutBlock' does not take a block")]


def test_flat_chains_are_not_nesting():
    terms = " + ".join(["x"] * 3000)
    elifs = "".join(f" else if x == {i} {{\n    y = {i}\n}}" for i in range(1, 1000))
    ternary = " if x else ".join(["x"] * 1000)
    calls = "".join(".real.conjugate()[0:1]" for _ in range(500))
    source = f"x = 1\ny = 0\nif x == 0 {{\n}}{elifs}\nz = {terms}\nw = {ternary}\nv = x{calls}\nu = 1 + {'- ' * 900}x\n"
    assert messages(source) == []
    assert messages(f"x = 1\nz = {terms} + nope\n") == [(2, "undefined name 'nope'", "did you mean 'open'?")]


def test_binding_debug_is_an_error_wherever_python_would_refuse_it():
    bindings = ["__debug__ = 1", "__debug__ += 1", "x.__debug__ = 1", "for __debug__ in [1] {\n}",
                "func __debug__() {\n}",
                "func f(a, *__debug__) {\n}", "import python os as __debug__", "print(__debug__=1)",
                "y = [1 for __debug__ in [1]]", "a, __debug__ = 1, 2", "model M {\n    __debug__: int = 1\n}"]
    for line in bindings:
        found = [(message, hint) for _, message, hint in messages(f"x = 1\n{line}\n")]
        assert ("'__debug__' cannot be assigned: Python reserves the name", "choose another name") in found, line
    assert messages("x = 1\ny = x.__debug__\n") == []  # reading it is fine


def test_an_import_path_the_system_cannot_look_up_is_a_diagnostic():
    path = "a" * 300 + ".m"
    assert messages(f'import "{path}"\n') == [(1, f'cannot find the M file "{path}"',
                                                 "the system cannot look it up: File name too long")]
