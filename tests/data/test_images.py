"""Folders of images, one folder per class."""
import numpy as np
import pytest
from PIL import Image

from mlang.data import Dataset
from mlang.lang.diagnostics import MError


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "shapes"
    for name, value in (("dark", 20), ("light", 230)):
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((10, 12, 3), value + i, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_images_are_labelled_by_folder_and_decoded_when_read(image_folder):
    data = Dataset.images(image_folder)
    assert len(data) == 6 and data.labels == ["dark", "light"]
    assert data.examples[0]["image"].endswith("0.png")  # stored as a path
    first = data[0]
    assert first.image.mode == "RGB" and first.image.size == (12, 10)
    assert [ex.label for ex in data.rows()] == [0, 0, 0, 1, 1, 1]


def test_image_batches_are_channels_first_tensors(image_folder):
    data = Dataset.images(image_folder, size=(8, 8))
    batch = next(iter(data.batches(4)))
    assert tuple(batch.inputs.shape) == (4, 3, 8, 8)
    assert float(batch.inputs.max()) <= 1.0
    assert batch.labels.dtype.is_floating_point is False


def test_grey_images_batch_with_one_channel(image_folder):
    from mlang.data.transforms import Grayscale

    data = Dataset.images(image_folder, size=(8, 8)).transform(Grayscale(channels=1))
    batch = next(iter(data.batches(4)))
    assert tuple(batch.inputs.shape) == (4, 1, 8, 8)


def test_an_unreadable_image_names_the_file(image_folder):
    bad = image_folder / "dark" / "9.png"
    bad.write_bytes(b"not an image at all")
    data = Dataset.images(image_folder)
    with pytest.raises(MError) as error:
        [ex.image for ex in data.rows()]
    assert "9.png" in str(error.value)


def test_a_folder_without_class_folders_is_an_error(tmp_path):
    (tmp_path / "flat").mkdir()
    with pytest.raises(MError, match="no class folders"):
        Dataset.images(tmp_path / "flat")
