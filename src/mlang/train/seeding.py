"""Fixed seeds for reproducible runs."""
from __future__ import annotations

import random


def seed_everything(seed: int) -> int:
    """Seed Python's, numpy's and torch's generators (all CUDA devices too); returns the seed.

    Call it before building a pretrained model as well: its new head is initialised at load time.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed
