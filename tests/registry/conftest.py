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


@pytest.fixture(scope="session")
def postgres_server_url():
    """One real PostgreSQL server for the session (tests/services.py)."""
    from services import postgres_server

    with postgres_server("m_admin", user="m") as url:
        yield url


@pytest.fixture
def postgres_registry_url(postgres_server_url):
    """A fresh, empty database on that server: an `M_REGISTRY` of its own."""
    from services import new_database

    return new_database(postgres_server_url, "registry")


@pytest.fixture(scope="session")
def s3_env():
    """A real SeaweedFS S3 gateway for the session: the boto3 environment that reaches it."""
    from services import seaweedfs_s3

    with seaweedfs_s3("models") as env:
        yield env
