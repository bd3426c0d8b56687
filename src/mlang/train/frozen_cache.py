"""`fineTuneModel(cache_frozen=true)`: a layer stack's frozen leading layers run once per example.

Training a head on a frozen pretrained encoder (feature extraction, the first recipe of Keras's
transfer-learning guide) spends nearly all its time running the encoder forward, every epoch, to
the same result.  With `cache_frozen=true` the leading layers whose every parameter is frozen run
once over the training (and validation) data, in eval mode, so their dropout is off; the epochs
then train the layers after them on those outputs.  The layers trained are the model's own: it
comes back whole, reading raw inputs as before.
"""
from __future__ import annotations

from mlang.data.errors import data_error
from mlang.lang import types as T
from mlang.models.module import MModel
from mlang.models.spec import ModelSpec
from mlang.models.stack import LayerList, LayerStackModel, run_layers

CACHED_TASKS = ("classification", "regression")


class CachedTail(MModel):
    """The layers of `model` from `start` on, fed the cached outputs of the layers before."""

    def __init__(self, model: LayerStackModel, start: int, feature_shape: tuple):
        super().__init__(ModelSpec(model.spec.name),
                         input_type=T.TensorType("float32", (T.Sym("B"), *feature_shape)),
                         output_type=model.output_type, task=model.task, labels=model.labels)
        self.tail = LayerList(list(model.layers)[start:])

    def compute(self, x=None, **_unused):
        return self.tail(x)


def check_cacheable(model, task: str, train) -> None:
    """Refuse, naming the field, what caching cannot apply to (before anything is changed)."""
    name = getattr(getattr(model, "spec", None), "name", type(model).__name__)
    if not isinstance(model, LayerStackModel) or model.spec.forward is not None or not len(model.layers):
        what = ("has a forward block" if isinstance(model, LayerStackModel) and model.spec.forward
                else f"is not a layer stack (a {type(model).__name__})")
        raise data_error(f"cache_frozen=true needs a model whose layers run in order; {name} {what}",
                         field="cache_frozen", hint="declare the model as a list of layers (no forward block)")
    if task not in CACHED_TASKS:
        raise data_error(f"cache_frozen=true trains {' and '.join(CACHED_TASKS)} models, not {task}",
                         field="cache_frozen")
    if hasattr(train, "seek_epoch"):
        raise data_error("cache_frozen=true does not combine with devices > 1", field="cache_frozen")
    random = [type(step).__name__ for step in getattr(train, "transforms", ()) if step.random]
    if random:
        raise data_error(f"cache_frozen=true would keep one draw of the training data's random "
                         f"transforms ({', '.join(random)})", field="cache_frozen",
                         hint="drop the random transforms, or train without cache_frozen")


def frozen_prefix(model) -> int:
    """How many leading layers are wholly frozen (once freezing is applied); at least one."""
    start = 0
    for module in model.layers:
        parameters = list(module.parameters())
        if not parameters or any(p.requires_grad for p in parameters):
            break
        start += 1
    if start == 0:
        first = type(model.layers[0]).__name__
        problem = ("has no parameters, so nothing frozen comes before the layers trained"
                   if not list(model.layers[0].parameters()) else "has parameters left to train")
        raise data_error(f"cache_frozen=true, but the first layer of {model.spec.name} ({first}) {problem}",
                         field="cache_frozen", hint='freeze the leading layers whole: freeze_encoder=true (a pretrained encoder), '
                              'or freeze="layers.0.*"')
    return start


def cached(model, start: int, data, task: str, batch_size: int, device, precision):
    """`data` as a Dataset of the first `start` layers' outputs (one per example, on the CPU),
    with the same targets and labels."""
    import torch

    from mlang.data.loaders.arrays import load
    from mlang.train.precision import autocast

    was_training = model.training
    model.eval()
    outputs, targets = [], []
    try:
        # no_grad, not inference_mode: the outputs are inputs of the layers trained next.
        with torch.no_grad(), autocast(device, precision):
            for batch in data.batches(batch_size, model=model, shuffle=False):
                batch.to(device)
                inputs = batch.inputs
                out = (run_layers(model.layers[:start], **inputs) if isinstance(inputs, dict)
                       else run_layers(model.layers[:start], inputs))
                outputs.append(out.float().cpu())
                targets.append(batch.targets.cpu())
    finally:
        model.train(was_training)
    shapes = sorted({tuple(out.shape[1:]) for out in outputs})
    if len(shapes) > 1:
        raise data_error(f"cache_frozen=true needs one output shape per example from the frozen layers of "
                         f"{model.spec.name}; batches gave {', '.join(map(str, shapes))}", field="cache_frozen",
                         hint='pool what they give (pooling="mean"), or train without cache_frozen')
    return load(torch.cat(outputs), torch.cat(targets), labels=data.labels, task=task,
                name=f"{data.source or 'data'}, cached")
