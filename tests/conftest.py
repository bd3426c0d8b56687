"""Shared test set-up: an isolated model repository and no network for every test session."""
import os

import pytest

# Set before anything imports transformers: the hub is never reachable here.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def m_home(tmp_path, monkeypatch):
    """Each test gets its own model repository (`M_HOME`), so tests never touch ~/.mlang."""
    home = tmp_path / "m_home"
    monkeypatch.setenv("M_HOME", str(home))
    return home
