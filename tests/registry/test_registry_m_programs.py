"""The repository from M programs: save, load, listModels, `registry:` locations."""
import hashlib

import pytest
import torch

from mlang.lang.api import run_file
from mlang.lang.diagnostics import MError
from mlang.registry import Repository

PROGRAM = """\
model Tiny {
    input: Tensor[float32, B, 5]
    Dense(8)
    ReLU()
    Dense(3)
}
tiny = Tiny()
ref = save(tiny, "tiny", alias="prod", metrics={"accuracy": 0.5}, params={"lr": 0.001})
back = load("tiny@prod")
again = loadModelFromUrl("registry:tiny:1")
models = listModels()
"""


def test_an_m_program_saves_and_loads(tmp_path, m_home):
    source = tmp_path / "tiny.m"
    source.write_text(PROGRAM)
    scope = run_file(source)
    assert scope["ref"] == "tiny:1"
    assert scope["models"][0]["aliases"] == {"prod": 1}
    x = torch.rand(2, 5)
    with torch.no_grad():
        expected = scope["tiny"].eval()(x)
        assert torch.equal(scope["back"].eval()(x), expected)
        assert torch.equal(scope["again"].eval()(x), expected)
    record = Repository(m_home).resolve("tiny")
    assert record.source_sha256 == hashlib.sha256(PROGRAM.encode()).hexdigest()
    assert Repository(m_home).read_file("tiny", "source.m").decode() == PROGRAM
    assert record.params == {"lr": 0.001}


def test_a_bad_reference_in_m_names_the_line(tmp_path):
    source = tmp_path / "bad.m"
    source.write_text('x = 1\nmodel_ = load("nothing:2")\n')
    with pytest.raises(MError) as caught:
        run_file(source)
    text = str(caught.value)
    assert "no model named 'nothing'" in text
    assert "bad.m:2" in text
