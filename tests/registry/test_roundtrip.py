"""save → load gives a model with identical outputs, whatever kind of model it is."""
import torch

import mlang as m
from mlang.registry import Repository

from registry_models import make_stack, outputs


def test_layer_stack_round_trip_gives_identical_outputs(stack):
    ref = m.save(stack, "stack")
    restored = m.load(ref)
    x = torch.rand(4, 5)
    assert ref == "stack:1"
    assert type(restored) is type(stack)
    assert torch.equal(outputs(stack, x), outputs(restored, x))


def test_load_by_name_version_and_alias(repo):
    first, second = make_stack(seed=1), make_stack(seed=2)
    repo.save(first, "clf", alias="prod")
    repo.save(second, "clf")
    x = torch.rand(2, 5)
    assert torch.equal(outputs(repo.load("clf"), x), outputs(second, x))        # latest
    assert torch.equal(outputs(repo.load("clf@latest"), x), outputs(second, x))
    assert torch.equal(outputs(repo.load("clf:1"), x), outputs(first, x))
    assert torch.equal(outputs(repo.load("clf@prod"), x), outputs(first, x))
    assert torch.equal(outputs(repo.load("registry:clf:2"), x), outputs(second, x))


def test_pretrained_encoder_round_trip_keeps_tokenizer_and_weights(repo):
    from mlang.models.zoo import load_pretrained

    encoder = load_pretrained("minilm-l6").eval()
    ref = repo.save(encoder, "encoder")
    restored = repo.load(ref).eval()
    texts = ["the model is the unit of programming", "short"]
    with torch.no_grad():
        assert torch.equal(encoder(texts), restored(texts))
    paths = {f["path"] for f in repo.describe(ref)["files"]}
    assert any(p.startswith("files/tokenizer/") for p in paths)


def test_identical_weights_are_stored_once(repo, stack):
    repo.save(stack, "a")
    repo.save(stack, "b", metrics={"accuracy": 0.5})
    weights = {repo.resolve(ref).file("weights.safetensors").sha256 for ref in ("a", "b")}
    assert len(weights) == 1
    assert sum(1 for _ in repo.blobs.blobs()) == len({f.sha256 for ref in ("a", "b")
                                                     for f in repo.resolve(ref).files})


def test_tied_and_view_tensors_are_saved(repo):
    model = make_stack()
    model.layers[0].weight = torch.nn.Parameter(torch.rand(8, 5))
    shared = model.layers[0].weight
    model.register_buffer("tied_copy", shared.detach())  # same storage as the weight
    model.register_buffer("first_row", shared.detach()[0])  # a view of part of that storage
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ref = repo.save(model, "tied")
    artifact = repo.load_artifact(ref)
    for key, value in before.items():
        assert torch.equal(artifact.tensors[key], value)


def test_repository_is_rooted_at_m_home(m_home, stack):
    m.save(stack, "where")
    assert (m_home / "registry.db").is_file()
    assert Repository().home == m_home
