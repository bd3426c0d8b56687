"""The public Python API: everything an M program can do, as Python names.

Each stage lists its public names in its own `__all__`; this module gathers them in pipeline order,
adds the one name two stages share, `Optimizer`, and then makes **every M builtin** (each name a
stage registers through `mlang.lang.registry`) available under its Python name, derived from the
registry rather than listed a second time:

- a name that starts with a capital (a model, layer, loss, optimizer or type: `Dense`,
  `TextClassifier`, `CrossEntropyLoss`, `Dataset`) keeps its M name;
- any other name is written in snake_case: `fineTuneModel` → `fine_tune_model`,
  `loadModelFromUrl` → `load_model_from_url`, `setSeed` → `set_seed`, `optimize` → `optimize`.

`m.<python name>` is the very callable M calls (`python_name`, `builtin_names`).  Two builtins share
their name with a stage package, `optimize` and `serve`: `m.optimize` and `m.serve` are the
functions, and the packages are reached by module path (`from mlang.optimize import Pruning`,
`import mlang.optimize.pruning`, `importlib.import_module("mlang.optimize")`); only
`import mlang.optimize as name`, which Python answers with `getattr(mlang, "optimize")`, gives the
function (see `mlang/__init__.py`).
"""
import importlib
import re

from mlang.lang import *  # noqa: F401,F403
from mlang.models import *  # noqa: F401,F403
from mlang.data import *  # noqa: F401,F403
from mlang.train import *  # noqa: F401,F403
from mlang.registry import *  # noqa: F401,F403
from mlang.optimize import *  # noqa: F401,F403
from mlang.engine import *  # noqa: F401,F403
from mlang.serve import *  # noqa: F401,F403
from mlang.lang import registry as _registry
from mlang.models.keras import TrainingOptimizer
from mlang.optimize import ModelOptimizer

STAGES = ("lang", "models", "data", "train", "registry", "optimize", "engine", "serve")


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


_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def python_name(m_name: str) -> str:
    """The Python name of the M builtin `m_name`: CapWords names unchanged, others in snake_case."""
    if m_name[:1].isupper():
        return m_name
    return _WORD_START.sub("_", m_name).lower()


def builtin_names() -> dict[str, str]:
    """Every registered M builtin's name → its Python name in this module."""
    return {name: python_name(name) for name in _registry.builtins()}


_stage_names = [name for stage in STAGES
                for name in importlib.import_module(f"mlang.{stage}").__all__]
_builtin_names = []
for _m_name, _builtin in _registry.builtins().items():
    _name = python_name(_m_name)
    if _name not in _builtin_names:  # two M names with one Python name: tests/test_api.py reports it
        globals()[_name] = _builtin.resolve()
        _builtin_names.append(_name)

__all__ = list(dict.fromkeys(_stage_names + ["Optimizer", "python_name", "builtin_names"]
                             + _builtin_names))
del _m_name, _builtin, _name
