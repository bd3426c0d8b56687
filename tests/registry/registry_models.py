"""Small real models for the repository tests."""
import torch

from mlang.lang import types as T
from mlang.models.layers import create_layer
from mlang.models.stack import LayerStackModel


def make_stack(seed: int = 0, width: int = 8) -> LayerStackModel:
    """A 5 → width → 3 layer stack with seeded weights."""
    torch.manual_seed(seed)
    layers = [create_layer("Dense", (width,), {}), create_layer("ReLU", (), {}),
              create_layer("Dense", (3,), {})]
    return LayerStackModel(layers, T.TensorType("float32", (T.Sym("B"), 5))).eval()


def outputs(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)
