"""Dict keys: a bare name is its text (`{lr: 1e-3}` as in a hyperparameter space), a name in
parentheses is its value, as docs/language.md says; `m fmt` keeps the difference."""
from mlang.lang.api import run_source
from mlang.lang.formatter import format_source


SOURCE = 'key = "a"\nd = {(key): 1, key: 2, (key + "b"): 3}\n'


def test_a_parenthesized_name_is_its_value_and_a_bare_name_its_text():
    assert run_source(SOURCE, "keys.m")["d"] == {"a": 1, "key": 2, "ab": 3}


def test_fmt_keeps_the_parentheses_that_make_a_key_a_value():
    formatted = format_source(SOURCE, "keys.m")
    assert "(key): 1" in formatted and "key: 2" in formatted
    assert run_source(formatted, "keys.m")["d"] == {"a": 1, "key": 2, "ab": 3}
