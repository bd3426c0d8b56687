"""Property: on any input text the front end succeeds or reports M diagnostics, nothing else."""
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlang.lang as lang
from mlang.lang import MError
from mlang.lang.api import compile_source

FRAGMENTS = ["model ", "metamodel ", "forward", "func ", "if ", "else ", "for ", " in ", "while ", "return ",
             "break", "continue", "import ", "python ", "from ", " as ", "extends ", "{", "}", "(", ")", "[", "]",
             ":", ",", ";", "\n", " = ", "+=", "->", "**", "//", "/*", "*/", "#", '"', "'", 'f"{', "x", "y",
             "Dense(3)", "print(1)", "true", "none", "Tensor[float32, B, 3]", "1e-5", "0x1F", ".", "not ",
             " and ", " or ", "<", "==", "-", "@", "_block", "args", "\\", "\t", "é", "\x00"]

texts = st.one_of(
    st.text(alphabet=string.printable, max_size=80),
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_front_end_either_succeeds_or_reports_m_diagnostics(text):
    diagnostics = lang.check_source(text, "prop.m")
    assert all(d.message for d in diagnostics)
    try:
        compile_source(text, "prop.m", check=False)
    except MError as err:
        assert err.diagnostics and all(d.message for d in err.diagnostics)
