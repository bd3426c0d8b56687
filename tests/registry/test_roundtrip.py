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


def test_fine_tuned_pretrained_encoder_classifier_round_trip(repo):
    """A MiniLM encoder + Dense head whose encoder weights changed after loading (as
    fine-tuning changes them): the restored model has the changed weights, not the zoo's."""
    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel

    classifier = LayerStackModel([create_layer("TextEncoder", ("minilm-l6",), {}),
                                  create_layer("Dense", (2,), {})], T.TEXT).eval()
    tuned = next(p for name, p in classifier.named_parameters() if "embeddings" in name)
    with torch.no_grad():
        tuned.mul_(1.01)
    ref = repo.save(classifier, "sentiment", metrics={"accuracy": 0.8})
    restored = repo.load(ref).eval()
    texts = ["the model is the unit of programming", "short"]
    with torch.no_grad():
        assert torch.equal(classifier(texts), restored(texts))
    assert repo.resolve(ref).parameter_count == sum(p.numel() for p in classifier.parameters())


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


def _head(width_in: int, width_out: int):
    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel

    return LayerStackModel([create_layer("Dense", (width_out,), {})],
                           T.TensorType("float32", (T.Sym("B"), width_in))).eval()


def test_composed_models_round_trip(repo):
    x = torch.rand(4, 5)
    sequential = m.sequentialModel(make_stack(seed=1), _head(3, 2))
    parallel = m.parallelModel(make_stack(seed=2), make_stack(seed=3), merge="concat")
    for name, model in (("sequential", sequential), ("parallel", parallel)):
        restored = repo.load(repo.save(model, name))
        assert type(restored) is type(model)
        assert torch.equal(outputs(model, x), outputs(restored, x))


def test_pruned_and_quantized_model_round_trips(repo):
    from mlang.optimize import ModelOptimizer, Pruning, Quantization

    original = make_stack(seed=4, width=64)
    optimizer = ModelOptimizer()
    optimizer.add(Pruning(strategy="magnitude", percentage=0.5, scope="global", target="weights"))
    optimizer.add(Quantization(bits=8, scope="global", method="linear"))
    small = optimizer.optimize(original, goal="speed", show=False, measure_figures=False)
    base = repo.save(original, "net")
    ref = repo.save(small, "net", parent=base, alias="prod")
    restored = repo.load("net@prod")
    x = torch.rand(4, 5)
    assert type(restored.layers[0]) is type(small.layers[0])   # the int8 layer, not Linear
    assert torch.equal(outputs(small, x), outputs(restored, x))
    diff = {row["key"]: row for row in repo.diff(base, ref)["model"]}
    assert diff["parameter_count"]["a"] == diff["parameter_count"]["b"]
    assert diff["size"]["b"] < diff["size"]["a"]



def test_loaded_models_are_in_inference_mode(repo, stack):
    stack.train()
    ref = repo.save(stack, "modes")
    assert repo.load(ref).training is False
