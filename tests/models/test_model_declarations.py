"""`metamodel` / `model` declarations run through the front end: extends, fields, forward, errors."""
import pytest
import torch

from mlang.lang.diagnostics import MError
from models_m import run_m

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BASE = """\
metamodel Classifier {
    input: Tensor[float32, B, 16]
    output: Tensor[float32, B, num_labels]
    num_labels: int = 2
    hidden: int = 32
    dropout: float = 0.1
    Dense(hidden)
    ReLU()
    Dropout(dropout)
    Dense(num_labels)
}
"""


def test_a_declared_model_is_a_torch_module_with_checked_types():
    g = run_m(BASE + "c = Classifier()\n")
    model = g["c"]
    assert isinstance(model, torch.nn.Module)
    assert str(model.input_type) == "Tensor[float32, B, 16]"
    assert str(model.output_type) == "Tensor[float32, B, 2]"
    assert model(torch.rand(5, 16)).shape == (5, 2)
    assert model.count_params() == 16 * 32 + 32 + 32 * 2 + 2
    assert [type(m).__name__ for m in model.layers] == ["Linear", "ReLU", "Dropout", "Linear"]


def test_keyword_arguments_override_fields_and_layers_follow_them():
    g = run_m(BASE + "c = Classifier(num_labels=5, hidden=8)\n")
    model = g["c"]
    assert model.num_labels == 5 and model.hidden == 8
    assert model(torch.rand(3, 16)).shape == (3, 5)
    assert str(model.output_type) == "Tensor[float32, B, 5]"


def test_extends_overrides_fields_and_appends_layers():
    g = run_m(BASE + """\
model Five extends Classifier {
    num_labels = 5
    Softmax()
}
f = Five()
""")
    model = g["f"]
    assert model.num_labels == 5
    assert [type(m).__name__ for m in model.layers][-2:] == ["Linear", "Softmax"]
    out = model(torch.rand(4, 16))
    assert torch.allclose(out.sum(-1), torch.ones(4))
    assert model.spec.lineage() == ["Five", "Classifier"]


def test_field_defaults_see_earlier_fields_and_overrides():
    g = run_m("""\
metamodel Sized {
    input: Tensor[float32, B, 8]
    width: int = 4
    out: int = width * 2
    Dense(out)
}
model Wide extends Sized {
    width = 10
}
a = Sized()
b = Wide()
c = Wide(out=3)
""")
    assert g["a"].out == 8 and g["b"].out == 20 and g["c"].out == 3
    assert g["b"](torch.rand(2, 8)).shape == (2, 20)


def test_abstract_field_binding_and_multi_level_inheritance():
    g = run_m("""\
model Encoder {
    input: Tensor[float32, B, 8]
    Dense(6)
    Tanh()
}
metamodel WithEncoder {
    input: Tensor[float32, B, 8]
    encoder: Model
    scale: float = 1.0
    forward(x) { return encoder(x) * scale }
}
metamodel Doubled extends WithEncoder {
    scale = 2.0
}
model Bound extends Doubled {
    encoder = Encoder()
}
b = Bound()
e = b.encoder
""")
    bound, encoder = g["b"], g["e"]
    x = torch.rand(3, 8)
    assert torch.allclose(bound(x), encoder(x) * 2.0)
    assert bound.spec.lineage() == ["Bound", "Doubled", "WithEncoder"]
    # the encoder is a submodule: its parameters train with the model
    assert {n for n, _ in bound.named_parameters()} == {"encoder.layers.0.weight", "encoder.layers.0.bias"}


def test_an_abstract_field_can_be_bound_at_instantiation():
    g = run_m("""\
model Encoder {
    input: Tensor[float32, B, 4]
    Dense(3)
}
metamodel Head {
    input: Tensor[float32, B, 4]
    encoder: Model
    forward(x) { return self.layers(encoder(x)) }
    Dense(2)
}
""")
    with pytest.raises(MError) as err:
        g["Head"]()
    assert "abstract field 'encoder' is unbound" in str(err.value)


def test_forward_block_with_layers_and_submodels():
    g = run_m("""\
model Encoder {
    input: Tensor[float32, B, 4]
    Dense(3)
}
model Head {
    input: Tensor[float32, B, 4]
    output: Tensor[float32, B, 2]
    encoder: Model = Encoder()
    forward(x) {
        h = encoder(x)
        return self.layers(h)
    }
    Dense(2)
}
h = Head()
""")
    head = g["h"]
    assert head(torch.rand(5, 4)).shape == (5, 2)
    assert head.count_params() == (4 * 3 + 3) + (3 * 2 + 2)


@pytest.mark.parametrize("call, message", [
    ("Classifier(num_label=3)", "Classifier has no field 'num_label'"),
    ('Classifier(num_labels="two")', "field 'num_labels' of Classifier is int but is given str 'two'"),
    ("Classifier(3)", "Classifier(...) takes fields by name, got 1 positional argument(s)"),
])
def test_instantiation_errors_at_run_time_name_the_m_line(call, message):
    source = BASE + f"x = 1\nc = {call}\n"
    with pytest.raises(MError) as err:
        from models_m import run_unchecked
        run_unchecked(source)
    diagnostic = err.value.diagnostics[0]
    assert diagnostic.message == message
    assert diagnostic.span.line == 13


def test_layer_errors_at_run_time_point_at_the_layer():
    from models_m import run_unchecked
    with pytest.raises(MError) as err:
        run_unchecked("n = -1\nmodel Net {\n    input: Tensor[float32, B, 4]\n    Dense(n)\n}\nx = Net()\n")
    d = err.value.diagnostics[0]
    assert (d.span.line, d.message) == (4, "Dense: units must be positive, got -1")


def test_cycle_and_unknown_base_at_run_time():
    from models_m import run_unchecked
    with pytest.raises(MError) as err:
        run_unchecked("metamodel A extends A {\n    x: int = 1\n}\n")
    assert err.value.diagnostics[0].message == "cycle in extends: A extends A"
    with pytest.raises(MError) as err:
        run_unchecked("n = 3\nmodel B extends n {\n}\n")
    assert err.value.diagnostics[0].message == "B extends 'n', which is not a model or metamodel"


def test_model_typed_fields_check_the_value_at_instantiation():
    from models_m import run_unchecked
    source = """\
model Vec8 {
    input: Tensor[float32, B, 8]
    Dense(2)
}
model Vec {
    input: Tensor[float32, B, 4]
    Dense(2)
}
metamodel Wrapper {
    input: Tensor[float32, B, 4]
    inner: Model[Tensor[float32, B, 4] -> Tensor[float32, B, 2]]
    named: Vec
    forward(x) { return inner(x) + named(x) }
}
ok = Wrapper(inner=Vec(), named=Vec())
"""
    g = run_unchecked(source)
    assert g["ok"](torch.rand(1, 4)).shape == (1, 2)
    with pytest.raises(MError, match="field 'named' of Wrapper is Vec but is given Wrapper"):
        run_unchecked(source + "bad = Wrapper(inner=Vec(), named=ok)\n")
    with pytest.raises(MError, match="field 'inner' of Wrapper is Model\\[Tensor"):
        run_unchecked(source + "bad = Wrapper(inner=Vec8(), named=Vec())\n")


def test_a_copied_model_runs_its_own_forward_block():
    import copy
    g = run_m("""\
model Enc {
    input: Tensor[float32, B, 4]
    Dense(3)
}
model Head {
    input: Tensor[float32, B, 4]
    enc: Model = Enc()
    forward(x) { return self.layers(enc(x)) }
    Dense(2)
}
h = Head()
""")
    head = g["h"]
    clone = copy.deepcopy(head)
    with torch.no_grad():
        for p in clone.parameters():
            p.add_(1.0)
    x = torch.rand(2, 4)
    expected = clone.layers[0](clone.enc(x))
    assert torch.allclose(clone(x), expected) and not torch.allclose(head(x), expected)


def test_field_names_that_would_shadow_module_attributes_are_rejected():
    from models_m import run_unchecked
    with pytest.raises(MError, match="'named_modules' cannot be a field name of model Net"):
        run_unchecked("model Net {\n    input: Tensor[float32, B, 4]\n    named_modules: int = 1\n    Dense(2)\n}\n"
                      "n = Net()\n")


def test_assigning_a_field_changes_what_the_forward_block_sees():
    g = run_m("""\
model Scaled {
    input: Tensor[float32, B, 2]
    scale: float = 2.0
    forward(x) { return x * scale }
}
s = Scaled()
""")
    model, x = g["s"], torch.ones(1, 2)
    assert torch.equal(model(x), x * 2.0)
    model.scale = 5.0
    assert torch.equal(model(x), x * 5.0)
