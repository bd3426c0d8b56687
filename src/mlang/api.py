"""The public Python API: everything an M program can do, as Python names.

Each stage lists its public names in its own `__all__`; this module gathers them in pipeline order
and adds the one name two stages share, `Optimizer`.
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
from mlang.models.keras import TrainingOptimizer
from mlang.optimize import ModelOptimizer


def Optimizer(name: str | None = None, **options):
    """The paper's `m.Optimizer`, in its two roles.

    `Optimizer('adam', learning_rate=0.001)` names a training algorithm (for `model.compile`);
    `Optimizer()` names none and is the model optimizer that prunes, quantizes, fuses and distills.
    """
    if name is None:
        if options:
            raise TypeError("Optimizer() with no algorithm is the model optimizer and takes no "
                            f"options; got {', '.join(options)}")
        return ModelOptimizer()
    return TrainingOptimizer(name, **options)


__all__ = [name for stage in (lang, models, data, train, registry, optimize, engine, serve)
           for name in stage.__all__] + ["Optimizer"]
