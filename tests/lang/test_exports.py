"""Names a package exports lazily (`mlang.lang.exports.lazy_exports`) stay what they name: none is
also the name of one of the package's submodules, which importing would put in its place
(`from mlang.train import evaluate` gave the module once `mlang.train.evaluate` was imported)."""
import importlib
import pkgutil

import mlang


def lazily_exporting_packages():
    for info in pkgutil.walk_packages(mlang.__path__, "mlang."):
        if info.ispkg:
            package = importlib.import_module(info.name)
            if hasattr(package, "__getattr__") and hasattr(package, "__all__"):
                yield package


def test_no_lazy_export_is_shadowed_by_a_submodule():
    packages = list(lazily_exporting_packages())
    assert any(p.__name__ == "mlang.train" for p in packages)
    for package in packages:
        submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
        assert not set(package.__all__) & submodules, package.__name__


def test_evaluate_is_the_function_after_its_module_is_imported():
    importlib.import_module("mlang.train.evaluation")
    from mlang.train import evaluate

    assert callable(evaluate)
