"""The models plugin reads the front end's record of the calls (`CheckContext.calls`) instead of
walking the module; on its own (the editor, `check_models(module)`) it walks.  Both find the same."""
import textwrap

from mlang.models.check import ModelChecker, check_models

COMPOSED = textwrap.dedent("""\
    model A {
        input: Tensor[float32, B, 16]
        Dense(8)
    }
    model C {
        input: Tensor[float32, B, 32]
        Dense(2)
    }
    metamodel Sized {
        input: Tensor[float32, B, 4]
        width: int = 3
        Dense(width)
    }
    a = A()
    pipeline = sequentialModel(a, C())
    a = 5
    stale = sequentialModel(a, C())
    both = [parallelModel(A(), C(), merge="concatenate") for _ in range(2)]
    func build() {
        return sequentialModel(sequentialModel(A(), C()), Sized(widht=2))
    }
    print(A(1), Sized(width="wide"))
    """)


def as_tuples(diagnostics):
    return sorted((d.span.line, d.span.column, d.message, d.hint) for d in diagnostics)


def test_the_front_ends_calls_and_a_walk_of_the_module_give_the_same_diagnostics(check_context):
    ctx = check_context(COMPOSED)
    walked = ModelChecker(ctx.module).run()
    from_calls = ModelChecker(ctx.module, calls=ctx.calls).run()
    assert as_tuples(from_calls) == as_tuples(walked)
    assert [line for line, *_ in as_tuples(walked)] == [15, 18, 20, 20, 22, 22]


def test_only_the_calls_that_can_make_a_model_are_looked_at(check_context):
    ctx = check_context(COMPOSED)
    checker = ModelChecker(ctx.module, calls=ctx.calls)
    looked_at = [call.func.id for calls in checker.model_calls.values() for call in calls]
    assert sorted(set(looked_at)) == ["A", "C", "Sized", "parallelModel", "sequentialModel"]
    build = ctx.module.body[8]
    assert [call.func.id for call in checker.model_calls[id(build)]] == [
        "A", "C", "sequentialModel", "Sized", "sequentialModel"]  # arguments before the calls using them


def test_a_module_without_models_costs_no_walk(check_context):
    source = "total = 0\nfor i in range(3) { total += abs(i) }\nprint(total)\n"
    ctx = check_context(source)
    checker = ModelChecker(ctx.module, calls=ctx.calls)
    assert checker.run() == [] and checker.model_calls == {}
    assert "globals" not in vars(checker)  # the module-wide names are read only for forward blocks
    assert check_models(ctx.module, ctx) == []


def test_inherited_fields_take_their_values_as_the_run_evaluates_them(tmp_path):
    """A base's field default that reads a field the model overrides sees the override, in the
    check as in the run (fields in the front end's resolved order, each seeing those before it):
    hidden = width * 2 = 16 here, so the stack's output fits and `m check` says nothing."""
    import subprocess
    import sys

    program = tmp_path / "inherit.m"
    program.write_text(textwrap.dedent("""\
        import python torch
        metamodel Base {
            input: Tensor[float32, B, 4]
            width: int = 4
            hidden: int = width * 2
            Dense(hidden)
        }
        model Sub extends Base {
            width = 8
            output: Tensor[float32, B, 16]
        }
        model Narrow extends Base {
            output: Tensor[float32, B, 16]
        }
        """))
    done = subprocess.run([sys.executable, "-m", "mlang", "check", str(program)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "inherit.m:13:5: error: shape mismatch: the layer stack of Narrow produces Tensor[float32, B, 8]" in done.stderr
    assert "Sub" not in done.stderr


def test_each_problem_is_reported_once_by_whoever_knows_it():
    """The front end reports an undefined name (a layer name mistyped in case finds its own);
    the models plugin reports a layer's arguments, inside model bodies and out, with the
    catalogue's message; a name the program binds to something else is not a layer."""
    from mlang.lang import check_source

    source = textwrap.dedent("""\
        model Net {
            input: Tensor[float32, B, 4]
            Dense(8, activaton="relu")
            Relu()
        }
        pipeline = sequentialModel(Net(), Dense(3, unitz=2))
        func Dropout(rate, extra) { return rate }
        fine = Dropout(5, 6)
        func build() {
            return Residual(Dense(-4))
        }
        """)
    found = [(d.span.line, d.span.column, d.message, d.hint) for d in check_source(source, "once.m")]
    assert found == [
        (3, 5, "Dense() has no argument 'activaton'", "did you mean 'activation'?"),
        (4, 5, "undefined name 'Relu'", "did you mean 'ReLU'?"),
        (6, 35, "Dense() has no argument 'unitz'", "did you mean 'units'?"),
        (10, 21, "Dense: units must be positive, got -4", None),
    ]


def test_binding_a_field_no_base_declares_is_an_error_at_check_and_at_run_time():
    from mlang.lang import MError, check_source
    from models_m import run_unchecked

    source = "model S extends TextClassifier {\n    num_label = 2\n}\n"
    checked = [(d.span.line, d.message, d.hint) for d in check_source(source, "bind.m")]
    expected = (2, "model S binds 'num_label', which TextClassifier does not declare", "did you mean 'num_labels'?")
    assert checked == [expected]
    try:
        run_unchecked(source, "bind.m")
    except MError as error:
        d = error.diagnostics[0]
        assert (d.span.line, d.message, d.hint) == expected
    else:
        raise AssertionError("the run declared S with a field its base does not have")
