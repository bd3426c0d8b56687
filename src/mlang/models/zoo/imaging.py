"""Image preprocessing shared by the vision sources: any image value → a 0–1 CHW tensor.

Accepted image values: a PIL image, a path to an image file, a numpy array (H×W grey, H×W×C or
C×H×W; uint8 0–255 or float 0–1), or a torch tensor (C×H×W or H×W).  Grey images are repeated to
three channels and an alpha channel is dropped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mlang.lang.diagnostics import MError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_rgb_array(image) -> np.ndarray:
    """An H×W×3 uint8 array for any accepted image value."""
    from PIL import Image

    if isinstance(image, (str, Path)):
        try:
            with Image.open(image) as opened:
                return np.asarray(opened.convert("RGB"))
        except OSError as error:
            raise MError(f"cannot read image {image}: {error}", field="image") from None
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
        if image.ndim == 3 and image.shape[0] in (1, 3, 4):
            image = np.moveaxis(image, 0, -1)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise MError(f"expected an image (H×W, H×W×C or C×H×W), got an array of shape {array.shape}",
                     field="image")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    array = array[:, :, :3]
    if array.dtype != np.uint8:
        scale = 255.0 if float(np.nanmax(array, initial=0)) <= 1.0 else 1.0
        array = np.clip(array.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    return array


def resize_center_crop(array: np.ndarray, size: int, resize: int) -> np.ndarray:
    """Resize the shorter side to `resize` (bicubic), then crop the central `size`×`size`."""
    from PIL import Image

    image = Image.fromarray(array)
    width, height = image.size
    scale = resize / min(width, height)
    image = image.resize((max(size, round(width * scale)), max(size, round(height * scale))),
                         Image.BICUBIC)
    width, height = image.size
    left, top = (width - size) // 2, (height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


def image_batch(images, size: int, resize: int) -> torch.Tensor:
    """A float32 [B, 3, size, size] batch with values in 0–1 (models normalize inside)."""
    arrays = [resize_center_crop(to_rgb_array(image), size, resize) for image in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)


class Normalize(torch.nn.Module):
    """Per-channel `(x - mean) / std` as the first step of a network, so its tensor inputs are
    plain 0–1 images (what any M image pipeline produces) and exports include the step."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def is_raw_images(x) -> bool:
    """Is `x` raw image input (one image or a list of them) rather than a preprocessed batch
    (a 4-d tensor, or the dict `preprocess` returned)?"""
    if x is None or isinstance(x, dict):
        return False
    if isinstance(x, torch.Tensor):
        return x.dim() in (2, 3)
    return True


def as_batch(images) -> list:
    return [images] if is_single_image(images) else list(images)


def unit_range(x: torch.Tensor) -> torch.Tensor:
    """A uint8 image batch as float 0–1; float batches are taken as already 0–1."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def is_single_image(value) -> bool:
    """Is `value` one image (rather than a list/batch of them)?"""
    from PIL import Image

    if isinstance(value, (str, Path, Image.Image)):
        return True
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.ndim in (2, 3)
    return False
