"""A bounded fuzz run of the front end (see front_end_contract.py for what is checked).

Three sources of inputs, about 3,800 in all per default run (30-60 s on two shared cores):
mutations of every .m file in the repository, programs drawn from the grammar with untidy
layout (m_programs.py), and the arbitrary texts of tests/lang/test_property.py.  The `slow`
variants run 5,000 to 20,000 of each (about 11 min): `pytest -m slow tests/fuzz`.
`M_FUZZ_SEED` picks other mutations than the default ones.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from test_property import FRAGMENTS, texts

from front_end_contract import assert_front_end_contract, run_mutations
from m_programs import programs

SEED = int(os.environ.get("M_FUZZ_SEED", "17"))
_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_mutated_repository_programs():
    parsed = run_mutations(2500, SEED, FRAGMENTS)
    assert parsed > 500  # enough of them still parse to reach the checker, the compiler and fmt


@pytest.mark.slow
def test_mutated_repository_programs_long():
    run_mutations(20_000, SEED + 1, FRAGMENTS)


@settings(max_examples=300, **_SETTINGS)
@given(programs())
def test_generated_programs(text):
    assert_front_end_contract(text)


@pytest.mark.slow
@settings(max_examples=5000, **_SETTINGS)
@given(programs())
def test_generated_programs_long(text):
    assert_front_end_contract(text)


@settings(max_examples=1000, **_SETTINGS)
@given(texts)
def test_arbitrary_texts(text):
    assert_front_end_contract(text)


@pytest.mark.slow
@settings(max_examples=5000, **_SETTINGS)
@given(texts)
def test_arbitrary_texts_long(text):
    assert_front_end_contract(text)
