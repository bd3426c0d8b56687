"""Fixtures for the repository tests (each test already has its own `M_HOME`)."""
import pytest

from mlang.registry import Repository
from registry_models import make_stack


@pytest.fixture
def repo(m_home) -> Repository:
    return Repository(m_home)


@pytest.fixture
def stack():
    return make_stack()
