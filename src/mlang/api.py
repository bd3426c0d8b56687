"""The public Python API: everything an M program can do, as Python names.

Each stage lists its public names in its own `__all__`; this module gathers them in pipeline order.
"""
from mlang.lang import *  # noqa: F401,F403
from mlang.models import *  # noqa: F401,F403
from mlang.data import *  # noqa: F401,F403
from mlang.train import *  # noqa: F401,F403
from mlang.registry import *  # noqa: F401,F403
from mlang.optimize import *  # noqa: F401,F403
from mlang.engine import *  # noqa: F401,F403
from mlang.serve import *  # noqa: F401,F403
from mlang import lang, models, data, train, registry, optimize, engine, serve

__all__ = [name for stage in (lang, models, data, train, registry, optimize, engine, serve)
           for name in stage.__all__]
