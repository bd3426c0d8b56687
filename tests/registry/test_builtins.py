"""The registry from M: builtins `save`, `load`, `listModels` and `registry:` locations."""
import torch

from mlang.lang.registry import builtins
from mlang.models.url import load_model_from_url

from registry_models import make_stack, outputs


def test_m_builtins_are_registered_lazily():
    table = builtins()
    for name in ("save", "load", "listModels"):
        assert name in table
    assert table["save"].resolve().__module__ == "mlang.registry.repository"


def test_builtins_save_list_and_load(stack):
    table = builtins()
    ref = table["save"].resolve()(stack, "from_m", alias="prod", metrics={"accuracy": 1.0})
    listed = table["listModels"].resolve()()
    assert listed[0]["name"] == "from_m" and listed[0]["aliases"] == {"prod": 1}
    assert table["listModels"].resolve()("from_m")[0]["metrics"] == {"accuracy": 1.0}
    x = torch.rand(2, 5)
    assert torch.equal(outputs(table["load"].resolve()(ref), x), outputs(stack, x))


def test_load_model_from_url_with_the_registry_scheme(repo):
    model = make_stack(seed=5)
    repo.save(model, "remote", alias="prod")
    x = torch.rand(2, 5)
    for location in ("registry:remote:1", "registry:remote@prod", "registry:remote"):
        assert torch.equal(outputs(load_model_from_url(location), x), outputs(model, x))
