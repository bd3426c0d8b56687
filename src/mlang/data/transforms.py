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

The deterministic ones (`Grayscale`, `Resize`, `CenterCrop`, `Normalize`) are also the model's
input pipeline: `fineTuneModel` (and `evaluate`, for a model that has none yet) records those of
its data on the model as `model.input_transforms` — plain records `{"name": "Resize", "size":
[25, 25]}`, saved in the model file and checked against `INPUT_TRANSFORMS` when it is read
(`from_records`) — and `predict`, `evaluate`, `Engine` and `m serve` put raw inputs, and datasets
without transforms of their own, through them.  Augmentation is never recorded.
"""
from __future__ import annotations

import functools
import inspect
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

    def record(self) -> dict:
        """The transform as data: its name and constructor arguments (every attribute is one)."""
        return {"name": type(self).__name__,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}}


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
        mean, std = _per_channel_arrays(self.mean, self.std, array.shape[-1])
        return torch.from_numpy(((array - mean) / std).transpose(2, 0, 1).copy())


TRANSFORMS = (Grayscale, Resize, CenterCrop, RandomHorizontalFlip, RandomCrop, ColorJitter, Normalize)
# What a model's input pipeline may hold (and a model file name): the deterministic transforms.
INPUT_TRANSFORMS = {t.__name__: t for t in TRANSFORMS if not t.random}


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


def deterministic_steps(dataset) -> tuple:
    """The evaluation-time transforms `dataset`'s inputs go through: those `map` already applied
    to its examples, then its own non-random ones."""
    own = getattr(dataset, "transforms", ())
    return tuple(getattr(dataset, "applied_transforms", ())) + tuple(t for t in own if not t.random)


def to_records(steps) -> list[dict]:
    """The deterministic `steps` as the records `model.input_transforms` holds."""
    return [step.record() for step in steps if not step.random]


def from_records(records, where: str = "input_transforms") -> tuple:
    """The transforms that `records` (a model's `input_transforms`, or a model file's) name,
    each name checked against `INPUT_TRANSFORMS` and its parameters by the transform itself;
    never anything but these classes.  Errors name the record: `input_transforms[1].size`."""
    from mlang.lang.diagnostics import MError

    if not isinstance(records, (list, tuple)):
        raise data_error(f"{where} must be a list of transform records, got {type(records).__name__}",
                         field=where)
    known = ", ".join(INPUT_TRANSFORMS)
    steps = []
    for index, record in enumerate(records):
        at = f"{where}[{index}]"
        name = record.get("name") if isinstance(record, dict) else None
        if not isinstance(name, str):
            raise data_error(f"{at}: expected a record {{\"name\": ..., parameters}}, got {record!r}",
                             field=at, hint=f"names: {known}")
        cls = INPUT_TRANSFORMS.get(name)
        if cls is None:
            random_ones = {t.__name__ for t in TRANSFORMS if t.random}
            why = ("is augmentation (training only), never part of a model's input pipeline"
                   if name in random_ones else "is not an input transform")
            raise data_error(f"{at}: {name!r} {why}", field=f"{at}.name", hint=f"use {known}")
        params = {k: v for k, v in record.items() if k != "name"}
        accepted = inspect.signature(cls).parameters
        for key in params:
            if key not in accepted:
                raise data_error(f"{at}: {name} has no parameter {key!r}", field=f"{at}.{key}",
                                 hint=f"{name} takes {', '.join(accepted) or 'no parameters'}")
        try:
            steps.append(cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}))
        except MError as error:
            raise data_error(f"{at}: {error.args[0]}", field=f"{at}.{error.field}") from None
    return check_transforms(steps, field=where)


def model_steps(model) -> tuple:
    """The input pipeline a model was trained with (none for a model without one)."""
    return from_records(getattr(model, "input_transforms", None) or [])


def with_model_transforms(dataset, model, *, record: str = "never"):
    """`dataset` as `model` reads it.  A dataset with deterministic transforms of its own keeps
    them, and they become the model's input pipeline when `record` is "always" (training), or
    "missing" and the model has none (evaluation); a dataset without is read through the model's
    pipeline, its own augmentation inserted before a final `Normalize`."""
    own = deterministic_steps(dataset)
    recorded = getattr(model, "input_transforms", None)
    if own:
        if record == "always" or (record == "missing" and not recorded):
            try:
                model.input_transforms = to_records(own)
            except (AttributeError, TypeError):
                pass  # a module that does not take attributes keeps no pipeline
        return dataset
    steps = model_steps(model)
    if not steps or not hasattr(dataset, "_derive"):
        return dataset
    tail = steps[-1:] if isinstance(steps[-1], Normalize) else ()
    head = steps[:len(steps) - len(tail)]
    return dataset._derive(dataset.examples, transform=head + dataset.transforms + tail)


def apply_model_transforms(steps: tuple, inputs: list) -> list:
    """Raw inputs through a model's input pipeline (`model_steps`), as `Engine` and `m serve` do."""
    if not steps:
        return inputs
    return [apply_transforms(steps, item, augment=False) for item in inputs]


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


@functools.lru_cache(maxsize=64)
def _per_channel_arrays(mean: tuple, std: tuple, channels: int):
    """`mean` and `std` as float32 arrays of `channels` values (one value repeats), made once."""
    import numpy as np

    return tuple(np.resize(np.asarray(v, dtype=np.float32), channels) for v in (mean, std))


def _per_channel(field: str, value) -> tuple:
    values = (value,) if isinstance(value, (int, float)) else tuple(value)
    if not values or len(values) not in (1, 3) or not all(isinstance(v, (int, float)) for v in values):
        raise data_error(f"Normalize: {field} must be a number or one per channel, got {value!r}",
                         field=field)
    return tuple(float(v) for v in values)
