"""`m check` of hyperparameter spaces reads the front end's resolved program: a space variable is
the one the call's scope sees (a function's own, a parameter, the module's), and the names
`autoTuneModel` and the model mean what they mean at the call."""
import mlang

MODEL = """\
model IrisNet {
    input: Tensor[float32, B, 4]
    hidden: int = 8
    Dense(hidden)
    Dense(3)
}
data = Dataset.sklearn("iris")
"""
TYPO = "hyperparameter 'hiden' is neither a field of IrisNet nor a training setting"


def errors(source: str) -> list[tuple[int, int, str]]:
    return [(d.span.line, d.span.column, d.message) for d in mlang.check_source(source, "tune.m")]


def test_a_functions_own_space_variable_is_not_the_modules():
    source = MODEL + (
        "space = defineHyperparamSpace({hiden: intRange(4, 16)})\n"
        "best = autoTuneModel(IrisNet, space, data, data)\n"
        "func tune(d) {\n"
        "    space = defineHyperparamSpace({hidden: intRange(4, 16)})\n"
        "    return autoTuneModel(IrisNet, space, d, d)\n"
        "}\n")
    assert errors(source) == [(8, 32, TYPO)]  # the module's space only, though two statements bind `space`


def test_a_space_passed_in_as_a_parameter_is_not_known():
    source = MODEL + (
        "space = defineHyperparamSpace({hiden: intRange(4, 16)})\n"
        "func tune(space, d) {\n"
        "    return autoTuneModel(IrisNet, space, d, d)\n"
        "}\n")
    assert errors(source) == []


def test_a_space_in_a_branch_of_the_function_is_still_its_scopes():
    source = MODEL + (
        "func tune(d, wide) {\n"
        "    if wide {\n"
        "        space = {hidden: intRange(4, 64), epoch: choice(1, 2)}\n"
        "    }\n"
        "    return autoTuneModel(IrisNet, space, d, d)\n"
        "}\n")
    assert [m for _, _, m in errors(source)] == [
        "hyperparameter 'epoch' is neither a field of IrisNet nor a training setting"]


def test_a_name_the_program_binds_is_not_the_builtin_or_the_model():
    source = MODEL + (
        "func autoTuneModel(model, space, train, valid) { return model }\n"
        "a = autoTuneModel(IrisNet, {hiden: intRange(4, 16)}, data, data)\n")
    assert errors(source) == []
    source = MODEL + (
        "func tune(IrisNet, d) {\n"
        "    return autoTuneModel(IrisNet, {hiden: intRange(4, 16)}, d, d)\n"
        "}\n")
    assert errors(source) == []
