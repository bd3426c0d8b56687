"""The builder turns string literals into values exactly as Python reads them."""
import ast

from hypothesis import given
from hypothesis import strategies as st

from mlang.lang import parse_expression
from mlang.lang.diagnostics import MSyntaxError


@given(st.text(), st.sampled_from(['"', "'", '"""', "'''"]))
def test_string_values_are_what_python_reads(text, quote):
    literal = quote + text + quote
    try:
        expected = ast.literal_eval(literal)
    except (SyntaxError, ValueError):
        expected = MSyntaxError
    try:
        node = parse_expression(literal)
        got = node.value if hasattr(node, "value") else type(node)
    except MSyntaxError:
        got = MSyntaxError
    if expected is not MSyntaxError and got is not MSyntaxError:
        assert got == expected


# Surrogates are left out: the oracle, ast.literal_eval, cannot encode them (nor can an M file hold one).
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{}\\\r\x00")))
def test_f_string_literal_parts_keep_their_text(text):
    literal = 'f"""' + text.replace('"', "'") + ' """'
    node = parse_expression(literal)
    assert "".join(part.value for part in node.parts) == ast.literal_eval(literal[1:])
