"""M: a programming language in which a pretrained deep-learning model is the atomic unit.

`import mlang as m` gives the whole Python API (see `mlang.api`).
"""
__version__ = "0.1.0"

from mlang.api import *  # noqa: E402,F401,F403
from mlang.api import __all__  # noqa: E402,F401
