"""Optimized models save to the model repository and load back with the same outputs."""
import pytest
import torch

import mlang as m
from mlang.models.serialize import dump, restore
from mlang.optimize import Fusion, ModelOptimizer, Pruning, Quantization, optimization_report
from mlang.optimize.layers import Int8Linear


def stack_model():
    torch.manual_seed(0)
    model = m.Model()
    model.add(m.Dense(32, input_shape=(12,)))
    model.add(m.Activation("relu"))
    model.add(m.Dense(24, activation="relu"))
    model.add(m.Dense(3))
    return model.eval()


def reloaded(model):
    ref = m.save(model, "optimized")
    return m.load(ref)


@pytest.mark.parametrize("passes", [
    [Pruning(strategy="l1", percentage=0.5, scope="local", target="neurons")],
    [Pruning(percentage=0.3, target="weights"), Quantization(bits=8)],
    [Pruning(percentage=0.25, target="neurons"), Fusion(), Quantization(bits=8)],
    [Quantization(bits=16)],
], ids=["neurons", "weights+int8", "neurons+fuse+int8", "float16"])
def test_optimized_layer_stacks_round_trip_through_the_repository(passes):
    model = stack_model()
    optimized = ModelOptimizer(passes).optimize(model, measure_figures=False, show=False)
    back = reloaded(optimized)
    x = torch.randn(5, 12)
    torch.testing.assert_close(back(x), optimized(x))
    assert {k: v.shape for k, v in back.state_dict().items()} == \
        {k: v.shape for k, v in optimized.state_dict().items()}


def test_structured_pruning_is_rebuilt_with_the_smaller_shapes():
    model = stack_model()
    optimized = ModelOptimizer([Pruning(percentage=0.5, scope="local", target="neurons")]
                               ).optimize(model, measure_figures=False, show=False)
    back = restore(dump(optimized))
    assert back.layers[0].weight.shape == (16, 12)
    assert back.layers[2][0].weight.shape == (12, 16)


def test_a_quantized_bert_classifier_round_trips(tiny_bert, token_batch):
    Pruning(percentage=0.5, target="heads").apply(tiny_bert)
    Quantization(bits=8).apply(tiny_bert)
    from mlang.optimize.transforms import replay_prune, replay_quantize
    from transformers import BertForSequenceClassification

    fresh = BertForSequenceClassification(tiny_bert.config).eval()
    for record in tiny_bert.transforms:
        fresh = {"prune_structured": replay_prune, "quantize": replay_quantize}[
            record["transform"]](fresh, record)
    fresh.load_state_dict(tiny_bert.state_dict())
    assert isinstance(fresh.bert.encoder.layer[0].attention.self.query, Int8Linear)
    torch.testing.assert_close(fresh(**token_batch).logits, tiny_bert(**token_batch).logits)


def test_the_report_is_saved_with_the_model():
    model = stack_model()
    optimized = ModelOptimizer([Quantization(bits=8)]).optimize(
        model, show=False, repeats=1)
    back = reloaded(optimized)
    report = optimization_report(back)
    assert report is not None and report.to_dict() == optimized.optimization_report.to_dict()
    assert report.after["size_bytes"] < report.before["size_bytes"]


def test_the_stdlib_text_classifier_is_pruned_quantized_saved_and_loaded():
    classifier = m.stdlib_metamodel("TextClassifier")(num_labels=2).eval()
    texts = ["great coffee, will buy again", "stale and bland"]
    optimizer = ModelOptimizer([Pruning(percentage=0.25, target="heads"),
                                Pruning(percentage=0.2, target="neurons"), Quantization(bits=8)])
    small = optimizer.optimize(classifier, measure_figures=False, show=False)
    assert "18/72 heads" in optimizer.report.passes[0]
    assert small(texts).shape == (2, 2)
    back = reloaded(small).eval()
    torch.testing.assert_close(back(texts), small(texts))
