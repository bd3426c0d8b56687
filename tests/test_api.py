"""`import mlang as m` gives every M builtin under its Python name (README, src/mlang/api.py):
enumerated from the builtin registry, so a builtin a stage adds is covered without editing this."""
import importlib
import pkgutil
import subprocess
import sys

import pytest

import mlang
import mlang as m
from mlang import api
from mlang.lang import registry

registry.load_stages()
BUILTINS = registry.builtins()


@pytest.mark.parametrize("m_name", sorted(BUILTINS))
def test_every_builtin_is_the_same_callable_under_its_python_name(m_name):
    python_name = api.python_name(m_name)
    assert python_name in api.__all__
    assert getattr(m, python_name) is BUILTINS[m_name].resolve()
    namespace = {}
    exec(f"from mlang import {python_name} as value", namespace)
    assert namespace["value"] is BUILTINS[m_name].resolve()


def test_python_names_follow_one_rule():
    assert {name: api.python_name(name) for name in [
        "fineTuneModel", "loadModelFromUrl", "defineHyperparamSpace", "setSeed", "pretrainedModels",
        "saveModelFile", "intRange", "optimize", "parseJSONFile",
        "Dense", "TextClassifier", "BCEWithLogitsLoss", "Conv2D", "SGD",
    ]} == {
        "fineTuneModel": "fine_tune_model", "loadModelFromUrl": "load_model_from_url",
        "defineHyperparamSpace": "define_hyperparam_space", "setSeed": "set_seed",
        "pretrainedModels": "pretrained_models", "saveModelFile": "save_model_file",
        "intRange": "int_range", "optimize": "optimize", "parseJSONFile": "parse_json_file",
        "Dense": "Dense", "TextClassifier": "TextClassifier", "BCEWithLogitsLoss": "BCEWithLogitsLoss",
        "Conv2D": "Conv2D", "SGD": "SGD",
    }
    assert api.builtin_names() == {name: api.python_name(name) for name in BUILTINS}


def test_no_two_builtins_share_a_python_name_unless_they_are_one_callable():
    by_python_name = {}
    for m_name, builtin in BUILTINS.items():
        by_python_name.setdefault(api.python_name(m_name), set()).add(id(builtin.resolve()))
    assert {name: len(ids) for name, ids in by_python_name.items() if len(ids) > 1} == {}


def test_a_stage_name_that_a_builtin_shares_is_the_builtin():
    """`m.evaluate`, `m.serve`, … from a stage's `__all__` are the builtin's callable, never another."""
    for m_name, python_name in api.builtin_names().items():
        for stage in api.STAGES:
            module = importlib.import_module(f"mlang.{stage}")
            if python_name in module.__all__:
                assert getattr(module, python_name) is BUILTINS[m_name].resolve(), (stage, m_name)


def test_optimize_and_serve_are_the_functions_and_their_packages_still_import():
    import mlang.optimize.pruning  # noqa: F401  (binds nothing over m.optimize)
    from mlang.optimize import Pruning

    assert m.optimize is BUILTINS["optimize"].resolve()
    assert callable(m.optimize) and m.optimize.__module__ == "mlang.optimize.language"
    assert m.serve is BUILTINS["serve"].resolve()
    assert importlib.import_module("mlang.optimize").Pruning is Pruning is m.Pruning
    assert sys.modules["mlang.serve"].Server is m.Server


def test_the_shadowed_packages_are_exactly_the_builtins_named_like_a_stage_package():
    packages = {info.name for info in pkgutil.iter_modules(mlang.__path__) if info.ispkg}
    assert mlang.SHADOWED_PACKAGES == set(api.builtin_names().values()) & packages


def test_every_public_name_resolves():
    missing = [name for name in m.__all__ if not hasattr(m, name)]
    assert missing == []
    assert set(dir(m)) >= set(m.__all__)


def test_the_paper_names_are_still_there():
    assert m.Optimizer() is not None and type(m.Optimizer("adam")).__name__ == "TrainingOptimizer"
    assert m.Model and m.Conv2D and m.Engine and m.Pruning and m.Quantization


def test_import_mlang_stays_cheap_and_m_check_never_imports_torch(tmp_path):
    program = tmp_path / "p.m"
    program.write_text("x = optimize\n")
    probe = ("import sys, mlang\n"
             "from mlang.lang import registry\n"
             "registry.load_stages()\n"
             "import mlang.optimize, mlang.serve\n"
             "from mlang.cli import main\n"
             f"code = main(['check', {str(program)!r}])\n"
             "print(code, 'torch' in sys.modules, 'mlang.api' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False", "False"]
