"""The checker: several errors at once, hints, declared builtin signatures, plugins."""
import subprocess
import sys

import mlang.lang as lang
from mlang.lang import registry
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
        "Base has no field 'siz'",
        "'len' takes at most 1 argument, but 2 were given",
    ]


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


COMPLETE = '''import "lib/blocks.m"
func repeat(s: str, n: int) { return s * n }
data = Dataset.sklearn("iris")
clf = fineTuneModel(Dense(3), data, epoch=3, learning_rate=0.1)
print(evaluate(clf, data, metric=["accuracy"]))
save(clf, "x", alia="prod")
small = optimize(clf, gaol="speed") {
    quantize(bits=8)
}
d = Dataset.csv("a.csv", sead=1)
print(repeat("hi", "3"))
t = Dataset.tensor([1])
model S extends TextClassifier { num_label = 2 }
c = TextClassifier(bogus=1)
e = blocks.Encodr()
f = blocks.Encoder(widht=3)
blocks.helper(a="x")
pretrained = loadModelFromUrl("minilm-l7")
'''
BLOCKS = '''metamodel Encoder {
    width: int = 4
    Dense(width)
}
func helper(a: int) { return a }
'''


def test_what_used_to_fail_only_at_run_time_is_a_check_error_at_its_place(tmp_path):
    """The cases of issue 13, through `m check` as a user runs it: each at its line and column,
    with a did-you-mean where one is close."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.m").write_text(BLOCKS)
    program = tmp_path / "complete.m"
    program.write_text(COMPLETE)
    result = subprocess.run([sys.executable, "-m", "mlang", "check", str(program)], capture_output=True, text=True)
    assert result.returncode == 1
    found = [(d.span.line, d.span.column, d.message, d.hint) for d in lang.check_source(COMPLETE, str(program))]
    assert found == [
        (4, 37, "'fineTuneModel' has no parameter named 'epoch'", "did you mean 'epochs'?"),
        (4, 46, "'fineTuneModel' has no parameter named 'learning_rate'", None),
        (5, 27, "'evaluate' has no parameter named 'metric'", "did you mean 'metrics'?"),
        (6, 16, "'save' has no parameter named 'alia'", "did you mean 'alias'?"),
        (7, 23, "'optimize' has no parameter named 'gaol'", "did you mean 'goal'?"),
        (10, 26, "'Dataset.csv' has no parameter named 'sead'", "its other keywords take str | list values"),
        (11, 20, "argument 'n' of 'repeat' is int but is given str '3'", None),
        (12, 5, "'Dataset' has no attribute 'tensor'", "did you mean 'tensors'?"),
        (13, 34, "model S binds 'num_label', which TextClassifier does not declare", "did you mean 'num_labels'?"),
        (14, 20, "TextClassifier has no field 'bogus'", found[9][3]),
        (15, 5, "the M file imported as 'blocks' defines no 'Encodr'", "did you mean 'Encoder'?"),
        (16, 20, "blocks.Encoder has no field 'widht'", "did you mean 'width'?"),
        (17, 17, "argument 'a' of 'blocks.helper' is int but is given str 'x'", None),
        (18, 31, "unknown pretrained model 'minilm-l7'", found[-1][3]),
    ]
    assert found[-1][3].startswith("did you mean 'minilm-l6'?")
    assert found[9][3].startswith("its fields are: pretrained_model, num_labels, ")  # as stdlib/text.m declares
    for line, column, message, _ in found:
        assert f"complete.m:{line}:{column}: error: {message}" in result.stderr


def test_literal_arguments_are_checked_against_declared_types_and_nothing_else_is():
    source = '''func scale(x: float, times: int = 2, label: str = "x", flag: bool = false) { return x * times }
n = "3"
scale(1, 2)
scale(1.5, times=-3, label="y", flag=1)
scale(n, times=n)
scale([1], times=2.5)
split(Dataset.sklearn("iris"), "half")
func total(xs: List[int]) { return sum(xs) }
total((1, 2))
evaluate(Dense(3), Dataset.sklearn("iris"), metrics="accuracy")
'''
    # a tuple stands for a list and a string is a Sequence, as in Python: no error for those
    assert messages(source) == [
        (6, "argument 'x' of 'scale' is float but is given list", None),
        (6, "argument 'times' of 'scale' is int but is given float 2.5", None),
        (7, "argument 'fraction' of 'split' is float but is given str 'half'", None),
    ]


def test_stdlib_metamodels_are_resolved_with_their_inherited_fields():
    source = '''model Sentiment extends TextClassifier {
    num_labels = 3
    pretrained_model = "minilm-l6"
}
model Wider extends Sentiment {
    hidden: int = 64
    dropout = 0.2
}
w = Wider(hidden=32, max_length=64, num_labels=2)
x = Wider(hiden=1)
model Odd extends Sentiment { num_labels = "three" }
'''
    assert messages(source) == [
        (10, "Wider has no field 'hiden'", "did you mean 'hidden'?"),
        (11, "field 'num_labels' of Odd is int but is given str 'three'", None),
    ]
