"""Model errors `m check` reports before anything runs: each at its exact line with its message."""
import pytest

from models_m import check_m, plugin_only

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSIFIER = """\
metamodel Classifier {
    input: Tensor[float32, B, 16]
    output: Tensor[float32, B, num_labels]
    encoder: Model
    num_labels: int = 2
    Dense(32)
    ReLU()
    Dense(num_labels)
}
"""


def only(diagnostics):
    assert len(diagnostics) == 1, [d.message for d in diagnostics]
    return diagnostics[0]


def test_a_valid_program_has_no_model_errors():
    source = CLASSIFIER + """\
model Bound extends Classifier {
    encoder = none
    num_labels = 3
}
metamodel Image2 {
    input: Image[3, 32, 32]
    Conv2D(8, kernel=3, padding="same")
    ReLU()
    MaxPool2D(2)
    Flatten()
    Dense(16)
}
a = Bound(num_labels=4)
s = sequentialModel(Image2(), Bound())
"""
    assert check_m(source) == []


def test_shape_mismatch_in_a_stack_names_the_layer_and_both_shapes():
    d = only(check_m("""\
model Net {
    input: Image[3, 8, 8]
    Conv2D(4, kernel=3)
    Flatten()
    Conv2D(4)
}
"""))
    assert (d.span.line, d.span.column) == (5, 5)
    assert d.message == ("shape mismatch at Conv2D: it expects a 4-d input [B, C, H, W], "
                         "but its input is Tensor[float32, B, 144]")


def test_stack_output_must_match_the_declared_output_type():
    d = only(check_m("""\
model Net {
    input: Tensor[float32, B, 16]
    output: Tensor[float32, B, num_labels]
    num_labels: int = 3
    Dense(4)
}
"""))
    assert d.span.line == 3
    assert d.message == ("shape mismatch: the layer stack of Net produces Tensor[float32, B, 4] "
                         "but its output type is Tensor[float32, B, 3]")


def test_shape_mismatch_between_composed_models():
    d = only(check_m("""\
model A {
    input: Tensor[float32, B, 16]
    Dense(8)
}
model C {
    input: Tensor[float32, B, 32]
    Dense(2)
}
a = A()
pipeline = sequentialModel(a, C())
"""))
    assert d.span.line == 10
    assert d.message == ("shape mismatch in sequentialModel: part 1 (A) outputs Tensor[float32, B, 8] "
                         "but part 2 (C) expects Tensor[float32, B, 32]")


def test_unknown_merge_and_incompatible_merge():
    source = """\
model A {
    input: Tensor[float32, B, 16]
    Dense(8)
}
model C {
    input: Tensor[float32, B, 16]
    Dense(4)
}
p = parallelModel(A(), C(), merge="concatenate")
q = parallelModel(A(), C(), merge="sum")
r = parallelModel(A(), C(), merge="concat")
"""
    first, second = check_m(source)
    assert (first.span.line, first.span.column) == (9, 35)
    assert first.message == "parallelModel: unknown merge 'concatenate'"
    assert first.hint == "did you mean 'concat'?"
    assert second.span.line == 10
    assert second.message == ('parallelModel(merge="sum") needs equal shapes, but A outputs '
                              'Tensor[float32, B, 8] and C outputs Tensor[float32, B, 4]')


def test_concrete_model_leaving_an_abstract_field_unbound():
    d = only(check_m(CLASSIFIER + "model Half extends Classifier {\n    num_labels = 4\n}\n"))
    assert d.span.line == 10
    assert d.message == "model Half leaves the abstract field 'encoder' unbound (declared in Classifier)"


def test_instantiating_with_an_unbound_abstract_field():
    d = only(check_m(CLASSIFIER + "c = Classifier(num_labels=3)\n"))
    assert d.span.line == 10
    assert d.message == "cannot instantiate Classifier: its abstract field 'encoder' is unbound"


def test_unknown_field_with_did_you_mean():
    d = only(check_m(CLASSIFIER + "c = Classifier(encoder=none, num_label=3)\n"))
    assert (d.span.line, d.span.column) == (10, 30)
    assert "Classifier" in d.message and "no field" in d.message and "'num_label'" in d.message
    assert d.hint == "did you mean 'num_labels'?"
    # the models plugin alone says the same (the front end reports it first in `m check`)
    ours = only(plugin_only(CLASSIFIER + "c = Classifier(encoder=none, num_label=3)\n"))
    assert (ours.span.line, ours.message) == (10, "Classifier has no field 'num_label'")


def test_wrong_field_type_in_a_binding_and_at_instantiation():
    source = CLASSIFIER + """\
model Bad extends Classifier {
    encoder = none
    num_labels = "two"
}
ok = Bad()
c = Classifier(encoder=none, num_labels=2.5)
"""
    first, second = check_m(source)
    assert (first.span.line, first.message) == (12, "field 'num_labels' of Bad is int but is given str 'two'")
    assert (second.span.line, second.message) == (
        15, "field 'num_labels' of Classifier is int but is given float 2.5")


def test_unknown_layer_with_did_you_mean():
    source = "model Net {\n    input: Tensor[float32, B, 4]\n    Dense(8)\n    Relu()\n}\n"
    d = only(check_m(source))
    assert (d.span.line, d.span.column) == (4, 5)
    assert "'Relu'" in d.message
    assert d.hint == "did you mean 'ReLU'?"
    ours = only(plugin_only(source))
    assert (ours.span.line, ours.message, ours.hint) == (4, "unknown layer 'Relu'", "did you mean 'ReLU'?")


def test_a_defined_name_that_is_no_layer_is_an_unknown_layer():
    d = only(check_m("func helper(x) { return x }\nmodel Net {\n    input: Tensor[float32, B, 4]\n    helper(3)\n}\n"))
    assert (d.span.line, d.message) == (4, "unknown layer 'helper'")


@pytest.mark.parametrize("layer, message", [
    ('Dense("eight")', "Dense() argument 'units' must be int, got str 'eight'"),
    ("Dense(-3)", "Dense: units must be positive, got -3"),
    ("Dropout(1.5)", "Dropout: rate must be in [0, 1), got 1.5"),
    ('Activation("rleu")', "Activation: unknown activation 'rleu'"),
    ("Conv2D(8, padding=\"full\")", "Conv2D: padding must be 'valid', 'same' or a number, got 'full'"),
])
def test_bad_layer_arguments(layer, message):
    d = only(check_m(f"model Net {{\n    input: Tensor[float32, B, 4]\n    {layer}\n}}\n"))
    assert d.span.line == 3
    assert d.message == message


@pytest.mark.parametrize("layer, message, word", [
    ('Dense(8, activaton="relu")', "Dense() has no argument 'activaton'", "activaton"),
    ("Dense()", "Dense() is missing argument 'units'", "units"),
    ("Dense(8, true, none, 4)", "Dense() takes at most 3 positional argument(s) (units, bias, activation), got 4",
     "3"),
])
def test_bad_layer_argument_names_and_counts(layer, message, word):
    source = f"model Net {{\n    input: Tensor[float32, B, 4]\n    {layer}\n}}\n"
    d = only(check_m(source))
    assert d.span.line == 3 and word in d.message and "Dense" in d.message
    ours = only(plugin_only(source))
    assert (ours.span.line, ours.message) == (3, message)


def test_cycle_in_extends():
    d = only(check_m("metamodel A extends C {\n    x: int = 1\n}\nmetamodel C extends A {\n    y: int = 2\n}\n"))
    assert d.span.line == 4
    assert d.message == "cycle in extends: A extends C extends A"


def test_forward_using_an_undeclared_submodel():
    source = """\
model Twice {
    input: Tensor[float32, B, 4]
    encoder: Model = none
    forward(x) {
        h = encoder(x)
        return decoder(h)
    }
}
"""
    d = only(check_m(source))
    assert (d.span.line, d.span.column) == (6, 16)
    # the front end's scope of a forward block holds the model's fields: one message, one place
    assert (d.message, d.hint) == ("undefined name 'decoder'", "did you mean 'encoder'?")


def test_reserved_field_name():
    d = only(check_m("model Net {\n    input: Tensor[float32, B, 4]\n    parameters: int = 3\n    Dense(2)\n}\n"))
    assert d.span.line == 3
    assert d.message == "'parameters' cannot be a field name of model Net: it is a model attribute"


def test_residual_must_keep_the_shape():
    d = only(check_m("model Net {\n    input: Tensor[float32, B, 8]\n    Residual(Dense(4), ReLU())\n}\n"))
    assert d.span.line == 3
    assert d.message == ("shape mismatch at Residual: it needs its layers to keep the input's shape, but they "
                         "map Tensor[float32, B, 8] to Tensor[float32, B, 4], but its input is Tensor[float32, B, 8]")


def test_field_names_as_dims_and_symbolic_dims_unify():
    source = """\
model Seq {
    input: Tensor[int64, B, T]
    output: Tensor[float32, B, num_labels]
    vocab: int = 100
    width: int = 16
    num_labels: int = 3
    Embedding(vocab, width)
    TransformerEncoder(2, num_heads=4)
    LSTM(width)
    Dense(num_labels)
}
"""
    assert check_m(source) == []


def test_unknown_values_never_give_a_false_error():
    source = """\
import python numpy as np
n = np.int64(3)
model Net {
    input: Tensor[float32, B, 4]
    width: int = n
    Dense(width)
    Dense(n * 2)
}
"""
    assert check_m(source) == []


def test_models_imported_from_another_file_are_checked_where_they_are_used(tmp_path):
    from mlang.lang.api import check_file

    (tmp_path / "lib.m").write_text("metamodel Base {\n    input: Tensor[float32, B, 8]\n"
                                    "    output: Tensor[float32, B, n]\n    n: int = 2\n    Dense(n)\n}\n")
    main = tmp_path / "main.m"
    main.write_text('from "lib.m" import Base\nmodel Mine extends Base {\n    n = "x"\n}\n'
                    "model Next {\n    input: Tensor[float32, B, 3]\n    Dense(1)\n}\n"
                    "s = sequentialModel(Base(), Next())\n")
    found = [(d.span.line, d.message) for d in check_file(main)]
    assert found == [(3, "field 'n' of Mine is int but is given str 'x'"),
                     (9, "shape mismatch in sequentialModel: part 1 (Base) outputs Tensor[float32, B, 2] "
                         "but part 2 (Next) expects Tensor[float32, B, 3]")]


def test_model_typed_fields_are_checked_statically():
    source = """\
model Vec {
    input: Tensor[float32, B, 4]
    Dense(2)
}
model Vec8 {
    input: Tensor[float32, B, 8]
    Dense(2)
}
metamodel Wrapper {
    input: Tensor[float32, B, 4]
    inner: Model[Tensor[float32, B, 4] -> Tensor[float32, B, 2]]
    named: Vec
    forward(x) { return inner(x) + named(x) }
}
ok = Wrapper(inner=Vec(), named=Vec())
bad = Wrapper(inner=Vec8(), named=Vec8())
"""
    first, second = check_m(source)
    assert (first.span.line, first.span.column) == (16, 21)
    assert first.message == ("field 'inner' of Wrapper is Model[Tensor[float32, B, 4] -> Tensor[float32, B, 2]] "
                             "but is given Vec8 (Tensor[float32, B, 8] -> Tensor[float32, B, 2])")
    assert second.message.startswith("field 'named' of Wrapper is Vec but is given Vec8")


def test_input_shape_belongs_to_the_python_api():
    d = only(check_m("model Net {\n    input: Image[3, 8, 8]\n    Conv2D(4, input_shape=(8, 8, 3))\n}\n"))
    assert (d.span.line, d.message) == (3, "Conv2D: input_shape is only for the Python m.Model() API (channels-last)")
    assert d.hint == "declare the model's input type instead, e.g. input: Image[3, 64, 64]"


def test_a_model_with_nothing_to_compute_is_a_check_error_naming_the_metamodel_it_meant():
    """The paper's demo without `extends`: an empty model that training would reject much later."""
    found = check_m("""\
model MBERTClassifier {
    pretrained_model = "bert-base-uncased"
    num_labels = 2
}
""")
    assert [(d.message, d.span.line, d.span.column) for d in found] == [
        ("model MBERTClassifier has no layers, no forward block and no base model, so it computes nothing", 1, 1)]
    assert "model MBERTClassifier extends TextClassifier" in found[0].hint
    assert "num_labels, pretrained_model" in found[0].hint


def test_metamodels_and_models_with_layers_forward_or_a_base_are_fine():
    assert check_m("""\
metamodel Settings {
    size: int = 3
}
model Sized extends Settings {
    size = 4
    Dense(size)
}
model Calls {
    inner: Model = Sized()
    forward(x) {
        return inner(x)
    }
}
""") == []


def test_every_attribute_of_a_declared_model_is_a_reserved_field_name():
    import transformers.modeling_utils  # noqa: F401 - transformers adds methods to every torch Module

    from mlang.models.check import RESERVED_FIELDS
    from mlang.models.instance import DeclaredModel

    public = {name for name in dir(DeclaredModel) if not name.startswith("_")}
    assert public <= RESERVED_FIELDS
    found = check_m("""\
model Net {
    input: Tensor[float32, B, 4]
    buffers: int = 3
    task = "regression"
    Dense(2)
}
""")
    assert [(d.span.line, d.message) for d in found] == [
        (3, "'buffers' cannot be a field name of model Net: it is a model attribute"),
        (4, "'task' cannot be a field name of model Net: it is a model attribute")]
    assert found[0].hint == "rename the field" and "net.task = ..." in found[1].hint
