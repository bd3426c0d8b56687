"""Servers on loopback ports for the serving tests (models from tests/engine/model_fixtures.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from model_fixtures import make_minilm_classifier, make_tiny_classifier  # noqa: E402

from mlang.serve import Server  # noqa: E402

@pytest.fixture(scope="module")
def tiny_model():
    return make_tiny_classifier()


@pytest.fixture(scope="module")
def tiny_server(tiny_model):
    """The tiny 8-feature classifier on a free port, with a bearer token and small limits; batches of
    up to 16 examples run as model calls of 4."""
    with Server(tiny_model, name="tiny", port=0, max_batch_size=16, model_batch_size=4, max_latency_ms=20,
                token="test-token", max_body_bytes=20_000) as server:
        yield server


@pytest.fixture(scope="module")
def impatient_server(tiny_model):
    """The tiny classifier, giving clients half a second to send a request's headers and its body."""
    with Server(tiny_model, name="tiny", port=0, read_timeout_s=0.5) as server:
        yield server


@pytest.fixture(scope="module")
def minilm_model():
    return make_minilm_classifier()
