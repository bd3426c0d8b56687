"""Shared set-up for the models tests."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the `models_m` helper


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors run faster on one intra-op thread than on two on a shared 2-core machine
    (measured: a 100-step tiny-MLP loop took 5.8 s with 2 threads under load, 0.3 s with 1)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
