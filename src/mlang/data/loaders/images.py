"""Folders of images, one sub-folder per class: `Dataset.images("photos/")`.

Examples hold the image path and are decoded to RGB PIL images when read, so a large folder
costs nothing until it is used.  A file that is not a readable image is an error naming it.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

from mlang.data.dataset import Dataset
from mlang.data.loaders.files import existing_dir
from mlang.data.errors import data_error

EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def load(root: str, *, size: Sequence[int] | int | None = None, labels: Sequence | None = None,
         extensions: Sequence[str] = EXTENSIONS, transform: Sequence = ()) -> Dataset:
    """Every image under `root/<class>/`; the class is the folder name (labels sorted by name).

    `size=(height, width)` (or one int for squares) resizes each image as it is read;
    `transform=[Grayscale(), Resize(224), RandomHorizontalFlip()]` preprocesses and augments
    (data/transforms.py: the random steps run in training batches only).
    """
    folder = existing_dir(root)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise data_error(f"{folder}: no class folders (expected {folder}/<class>/<image files>)",
                     field=str(root))
    if labels is not None:
        unknown = sorted(set(classes) - set(labels))
        if unknown:
            raise data_error(f"{folder}: class folders {unknown} are not among labels {list(labels)}",
                         field="labels")
        classes = list(labels)
    suffixes = {s.lower() for s in extensions}
    examples = []
    for label_id, name in enumerate(classes):
        class_dir = folder / name
        files = sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes) \
            if class_dir.is_dir() else []
        if not files and labels is None:
            raise data_error(f"{class_dir}: no image files (looked for {', '.join(sorted(suffixes))})",
                         field=str(class_dir))
        examples.extend({"image": str(path), "label": label_id} for path in files)
    if isinstance(size, int):
        size = (size, size)
    return Dataset(examples, labels=classes, source=str(folder),
                   decoders={"image": partial(open_image, size=tuple(size) if size else None)},
                   transform=transform)


def open_image(path: str, size: tuple[int, int] | None = None):
    """The image at `path` as an RGB PIL image, resized to `size` (height, width) when given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise data_error(f"{path}: not a readable image ({error.__class__.__name__})",
                     field=path) from None
    if size is not None:
        image = image.resize((size[1], size[0]))
    return image
