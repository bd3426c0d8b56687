"""`"dlib-face-resnet"`: dlib's ResNet face embedder (PyPI `dlib-bin` + `face-recognition-models`).

A face crop (ideally aligned, 150×150) → a 128-d embedding; two faces whose embeddings are less
than 0.6 apart are the same person in dlib's LFW evaluation.  The network runs in dlib (C++), so
this model has no trainable parameters: use it as a frozen feature extractor.  Its weights stay in
the `face_recognition_models` package (located with `find_spec`, because that package's
`__init__` needs `pkg_resources`); a saved model records only the source name.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.module import MModel
from mlang.models.spec import ModelSpec
from mlang.models.zoo import zoo_entry
from mlang.models.zoo.imaging import as_batch, is_raw_images, resize_center_crop, to_rgb_array, unit_range

ENTRY = zoo_entry("dlib-face-resnet")
WEIGHTS_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
SAME_PERSON_DISTANCE = 0.6


def weights_path() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    return Path(spec.origin).parent / "models" / WEIGHTS_FILE


class DlibFaceEmbedder(MModel):
    """Face images → 128-d embeddings computed by dlib."""

    kind = "dlib_face_resnet"

    def __init__(self):
        import dlib

        spec = ModelSpec(ENTRY.name, input_type=ENTRY.input_type, output_type=ENTRY.output_type())
        super().__init__(spec, task="embedding")
        self._dlib_model = dlib.face_recognition_model_v1(str(weights_path()))

    def forward(self, x=None, **features):
        """Raw images (one or a list: arrays, PIL images, paths) are preprocessed first."""
        if is_raw_images(x):
            return self.compute(**self.preprocess(as_batch(x)), **features)
        return super().forward(x, **features)

    def preprocess(self, inputs: list) -> dict:
        """Images → float [B, 3, 150, 150] in 0–1 (the whole image resized: pass face crops)."""
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise MError("dlib-face-resnet expects a non-empty list of face images", field="inputs")
        chips = [resize_center_crop(to_rgb_array(image), CHIP_SIZE, CHIP_SIZE) for image in inputs]
        return {"x": torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float().div_(255.0)}

    def example_inputs(self, batch_size: int = 2) -> dict:
        return {"x": torch.rand(batch_size, 3, CHIP_SIZE, CHIP_SIZE)}

    def compute(self, x: torch.Tensor, **_unused) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise MError(f"dlib-face-resnet expects images [B, 3, H, W], got {tuple(x.shape)}",
                         field="inputs")
        chips = (unit_range(x).detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        descriptors = self._dlib_model.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return torch.tensor(np.array([list(d) for d in descriptors]), dtype=torch.float32)

    def config(self, files: dict, prefix: str = "") -> dict:
        return {"source": ENTRY.name}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = "") -> "DlibFaceEmbedder":
        from mlang.models.zoo import require_installed

        require_installed(ENTRY)
        return cls()


def load() -> DlibFaceEmbedder:
    return DlibFaceEmbedder()
