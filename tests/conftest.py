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


@pytest.fixture
def check_context():
    """`check_context(source)`: the `CheckContext` the checker plugins are given for `source`."""
    import mlang.lang as lang
    from mlang.lang import registry

    def capture(source, filename="context.m"):
        seen = []
        plugin = lambda module, ctx: seen.append(ctx)  # noqa: E731
        registry.register_check(plugin)
        try:
            lang.check_source(source, filename)
        finally:
            registry._checks.remove(plugin)
        return seen[0]
    return capture


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors run faster on one intra-op thread than on two on a shared 2-core machine
    (measured: a 100-step tiny-MLP loop took 5.8 s with 2 threads under load, 0.3 s with 1)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
