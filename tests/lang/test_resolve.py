"""The resolved program's model fields (lang/resolve.ModelTable) are the ones `m check` checks and
the ones a run declares: the same order, types, defaults and errors, through `mlang`'s API."""
from __future__ import annotations

import pytest

import mlang
from mlang.lang.diagnostics import MError

BASE = """model Base {
    input: Tensor[float32, B, 4]
    width: int = 4
    hidden: int = width * 2
    Dense(hidden)
}
"""


def checked_and_run(source: str, filename: str = "prog.m") -> tuple[list[str], str | None]:
    """The messages `m check` reports, and the run's error (None when it ran), for one program."""
    messages = [d.message for d in mlang.check_source(source, filename)]
    try:
        mlang.run_source(source, filename, check=False)
    except MError as err:
        return messages, err.diagnostics[0].message
    return messages, None


def test_an_inherited_default_reads_the_override_in_the_order_the_base_declares(capsys):
    source = BASE + ("model Wide extends Base { width = 8 }\nw = Wide()\n"
                     "print(w.hidden, w.output_type, list(Wide.fields))\n")
    assert checked_and_run(source) == ([], None)
    assert capsys.readouterr().out == "16 Tensor[float32, B, 16] ['width', 'hidden']\n"


def test_a_field_declared_again_without_a_value_is_abstract_at_check_and_at_run():
    source = BASE + "metamodel Open extends Base { hidden: int }\nmodel Closed extends Open { }\n"
    messages, error = checked_and_run(source)
    expected = "model Closed leaves the abstract field 'hidden' unbound (declared in Open)"
    assert messages == [expected] and error == expected


def test_binding_a_field_no_base_declares_is_the_same_error_at_check_and_at_run():
    source = BASE + "model Typo extends Base { widht = 8 }\n"
    messages, error = checked_and_run(source)
    assert messages == [error] == ["model Typo binds 'widht', which Base does not declare"]


def test_an_untyped_field_of_the_root_can_be_bound_again(capsys):
    source = ("model Root {\n    input: Tensor[float32, B, 4]\n    scale = 2\n    Dense(4 * scale)\n}\n"
              "model Thrice extends Root { scale = 3 }\nprint(Thrice().output_type)\n")
    assert checked_and_run(source) == ([], None)
    assert capsys.readouterr().out == "Tensor[float32, B, 12]\n"


def test_a_standard_metamodels_fields_are_inherited_in_the_librarys_order(capsys):
    # TextClassifier (stdlib/text.m) is declared by the run from the same table the checker reads
    source = ("model Sentiment extends TextClassifier { num_labels = 3 }\n"
              "print(list(Sentiment.fields) == list(TextClassifier.fields), Sentiment.fields['num_labels'].type)\n")
    assert mlang.check_source(source, "s.m") == []
    mlang.run_source(source, "s.m", check=False)
    assert capsys.readouterr().out == "True int\n"
    with pytest.raises(MError, match="Sentiment binds 'num_label', which TextClassifier does not declare"):
        mlang.run_source(source.replace("num_labels", "num_label"), "s.m", check=False)


def test_a_base_a_later_statement_rebinds_is_the_one_the_declaration_ran_against(capsys):
    # at run time `extends` reads the base bound when the declaration runs
    source = BASE + ("Old = Base\nmodel Base {\n    input: Tensor[float32, B, 4]\n    depth: int = 3\n"
                     "    Dense(depth)\n}\nmodel Kept extends Old { width = 1 }\nprint(Kept().output_type)\n")
    mlang.run_source(source, "rebind.m", check=False)
    assert capsys.readouterr().out == "Tensor[float32, B, 2]\n"


def test_an_unknown_base_is_the_same_error_at_check_and_at_run():
    source = BASE + "model Wide extends Bse { width = 8 }\n"
    messages, error = checked_and_run(source)
    assert messages == [error] == ["unknown model 'Bse' after extends"]
    with pytest.raises(MError) as raised:
        mlang.run_source(source, "prog.m", check=False)
    assert raised.value.diagnostics[0].hint == "did you mean 'Base'?"
    assert str(raised.value.diagnostics[0].span) == "prog.m:7:20"


def test_a_field_the_body_declares_may_be_bound_again_in_that_body(capsys):
    source = BASE + "model Deeper extends Base {\n    extra: int = 2\n    extra = 3\n}\nprint(Deeper().extra)\n"
    assert checked_and_run(source) == ([], None)  # m check said "Deeper binds 'extra', which Base does not declare"
    assert capsys.readouterr().out == "3\n"


def test_a_bound_value_of_the_wrong_type_is_reported_where_it_is_written_at_check_and_at_run():
    source = BASE + 'model Bad extends Base { hidden = "eight" }\nBad()\n'
    found = mlang.check_source(source, "prog.m")
    with pytest.raises(MError) as raised:
        mlang.run_source(source, "prog.m", check=False)
    at_run = raised.value.diagnostics[0]
    assert [(d.message, str(d.span)) for d in found] == [(at_run.message, str(at_run.span))] == [
        ("field 'hidden' of Bad is int but is given str 'eight'", "prog.m:7:35")]
    with pytest.raises(MError, match="is int but is given str 'two'") as raised:  # a value given to the call
        mlang.run_source(BASE + 'Base(hidden="two")\n', "call.m", check=False)
    assert "call.m:7" in mlang.format_error(raised.value)
