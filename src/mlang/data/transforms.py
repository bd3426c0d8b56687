"""Image transforms for datasets: preprocessing and on-the-fly augmentation.

    faces = Dataset.images("faces/", transform=[Grayscale(), Resize(224),
                                                RandomHorizontalFlip(), ColorJitter(0.2, 0.2)])
    digits = data.transform(Resize(64), RandomCrop(0.8))

A dataset applies its transforms, in order, to its input column whenever an example is read.
The random ones (`RandomHorizontalFlip`, `RandomCrop`, `ColorJitter`) are augmentation: they run
only in training batches (`fineTuneModel`, or `data.batches(..., augment=true)`), drawing afresh
each time — so every epoch sees new variants — and are skipped at evaluation and prediction.
The random ones keep an image's size, so training and evaluation batches match.

Images are PIL images between transforms (any image value is accepted: a PIL image, a path, a
numpy array — H×W grey, H×W×C or C×H×W, uint8 or 0–1 floats — or a tensor).  `Normalize` ends a
pipeline: it gives a float tensor [C, H, W] for models that take tensors (a CNN trained from
scratch); pretrained encoders such as EfficientNet normalize inside, so leave it out for them.
Randomness comes from Python's `random`, which `setSeed` and `fineTuneModel(seed=...)` seed.
"""
from __future__ import annotations

import random
from typing import Sequence

from mlang.data.errors import data_error


class Transform:
    """One step of an image pipeline: `transform(image) -> image`."""

    # Augmentation: applied to training batches only, drawn afresh each time.
    random = False

    def __call__(self, image):
        return self.apply(as_pil(image))

    def apply(self, image):
        raise NotImplementedError

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({options})"


class Grayscale(Transform):
    """Grey levels; `channels=3` (default) repeats them so RGB models still take the image."""

    def __init__(self, channels: int = 3):
        if channels not in (1, 3):
            raise data_error(f"Grayscale: channels must be 1 or 3, got {channels!r}", field="channels")
        self.channels = channels

    def apply(self, image):
        grey = image.convert("L")
        return grey.convert("RGB") if self.channels == 3 else grey


class Resize(Transform):
    """Resize to `size`: one int for a square (`Resize(224)`), or `(height, width)`."""

    def __init__(self, size):
        self.size = _size("Resize", size)

    def apply(self, image):
        from PIL import Image

        return image.resize((self.size[1], self.size[0]), Image.BILINEAR)


class CenterCrop(Transform):
    """The central `size` (an int for a square, or `(height, width)`)."""

    def __init__(self, size):
        self.size = _size("CenterCrop", size)

    def apply(self, image):
        height, width = self.size
        if height > image.height or width > image.width:
            raise data_error(f"CenterCrop: {height}x{width} is larger than the image "
                             f"({image.height}x{image.width})", field="size")
        left, top = (image.width - width) // 2, (image.height - height) // 2
        return image.crop((left, top, left + width, top + height))


class RandomHorizontalFlip(Transform):
    """Mirror left–right with probability `p`."""

    random = True

    def __init__(self, p: float = 0.5):
        self.p = _fraction("RandomHorizontalFlip", "p", p)

    def apply(self, image):
        from PIL import Image

        return image.transpose(Image.FLIP_LEFT_RIGHT) if random.random() < self.p else image


class RandomCrop(Transform):
    """A random crop whose sides are between `scale` and 1 of the image's, resized back to the
    image's size (so the model sees a random zoom and shift)."""

    random = True

    def __init__(self, scale: float = 0.8):
        self.scale = _fraction("RandomCrop", "scale", scale)
        if self.scale == 0:
            raise data_error("RandomCrop: scale must be above 0", field="scale")

    def apply(self, image):
        from PIL import Image

        side = random.uniform(self.scale, 1.0)
        width, height = max(1, round(image.width * side)), max(1, round(image.height * side))
        left = random.randint(0, image.width - width)
        top = random.randint(0, image.height - height)
        return image.crop((left, top, left + width, top + height)).resize(image.size, Image.BILINEAR)


class ColorJitter(Transform):
    """Random brightness, contrast and saturation: each factor drawn from [1 - x, 1 + x]."""

    random = True

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0):
        for name, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if not isinstance(value, (int, float)) or value < 0:
                raise data_error(f"ColorJitter: {name} must be a number >= 0, got {value!r}", field=name)
        self.brightness, self.contrast, self.saturation = float(brightness), float(contrast), float(saturation)

    def apply(self, image):
        from PIL import ImageEnhance

        for amount, enhancer in ((self.brightness, ImageEnhance.Brightness),
                                 (self.contrast, ImageEnhance.Contrast),
                                 (self.saturation, ImageEnhance.Color)):
            if amount:
                image = enhancer(image).enhance(random.uniform(max(0.0, 1 - amount), 1 + amount))
        return image


class Normalize(Transform):
    """The image as a float tensor [C, H, W]: `(pixel / 255 - mean) / std` per channel.

    The defaults are ImageNet's statistics; `Normalize(0.5, 0.5)` maps grey levels to [-1, 1].
    """

    def __init__(self, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
        self.mean, self.std = _per_channel("mean", mean), _per_channel("std", std)
        if any(s <= 0 for s in self.std):
            raise data_error(f"Normalize: std must be above 0, got {std!r}", field="std")

    def apply(self, image):
        import numpy as np
        import torch

        array = np.asarray(image, dtype=np.float32) / 255.0
        if array.ndim == 2:
            array = array[:, :, None]
        channels = array.shape[-1]
        mean, std = (np.resize(np.asarray(v, dtype=np.float32), channels) for v in (self.mean, self.std))
        return torch.from_numpy(((array - mean) / std).transpose(2, 0, 1).copy())


TRANSFORMS = (Grayscale, Resize, CenterCrop, RandomHorizontalFlip, RandomCrop, ColorJitter, Normalize)


def as_pil(image):
    """Any accepted image value as a PIL image (grey stays grey; everything else RGB)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    from mlang.models.zoo.imaging import to_rgb_array

    return Image.fromarray(to_rgb_array(image))


def check_transforms(steps: Sequence, field: str = "transform") -> tuple:
    """`steps` as a tuple of transforms, or a clear error naming the one that is not."""
    if isinstance(steps, Transform):
        steps = (steps,)
    steps = tuple(steps or ())
    for step in steps:
        if not isinstance(step, Transform):
            names = ", ".join(t.__name__ for t in TRANSFORMS)
            raise data_error(f"{field}: {step!r} is not an image transform", field=field,
                             hint=f"use {names}")
    for step in steps[:-1]:
        if isinstance(step, Normalize):
            raise data_error("Normalize must be the last transform (it turns the image into a tensor)",
                             field=field)
    return steps


def apply_transforms(steps: tuple, image, augment: bool):
    """`image` through `steps`; the random ones only when `augment`."""
    for step in steps:
        if augment or not step.random:
            image = step(image)
    return image


def _size(name: str, size) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
        raise data_error(f"{name}: size must be a positive int or (height, width), got {size!r}",
                         field="size")
    return tuple(size)


def _fraction(name: str, field: str, value) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise data_error(f"{name}: {field} must be between 0 and 1, got {value!r}", field=field)
    return float(value)


def _per_channel(field: str, value) -> tuple:
    values = (value,) if isinstance(value, (int, float)) else tuple(value)
    if not values or len(values) not in (1, 3) or not all(isinstance(v, (int, float)) for v in values):
        raise data_error(f"Normalize: {field} must be a number or one per channel, got {value!r}",
                         field=field)
    return tuple(float(v) for v in values)
