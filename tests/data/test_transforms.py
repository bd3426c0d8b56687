"""Image transforms (issue 14): preprocessing on every read, augmentation in training batches only,
fresh every epoch; from Python and from M."""
import random
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

import mlang as m
from mlang.data.transforms import (CenterCrop, ColorJitter, Grayscale, Normalize, RandomCrop,
                                   RandomHorizontalFlip, Resize, Transform)
from mlang.lang.api import check_source, run_source
from mlang.lang.diagnostics import MError


def ramp(height=12, width=16) -> np.ndarray:
    """A grey 0–1 image that is dark on the left, bright on the right (a flip shows)."""
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


def images(count=4) -> "m.Dataset":
    return m.Dataset([{"image": ramp(), "label": i % 2} for i in range(count)], labels=["a", "b"])


def test_preprocessing_gives_grey_resized_normalized_tensors():
    data = images().transform(Grayscale(channels=1), Resize((8, 10)), Normalize(0.5, 0.5))
    first = data[0].image
    assert isinstance(first, torch.Tensor) and first.shape == (1, 8, 10)
    assert -1.0 <= float(first.min()) < -0.8 and 0.8 < float(first.max()) <= 1.0
    rgb = images().transform(Grayscale(), Resize(6))[0].image
    assert rgb.mode == "RGB" and rgb.size == (6, 6)
    channels = np.asarray(rgb, dtype=np.int16)
    assert (channels[..., 0] == channels[..., 1]).all() and (channels[..., 1] == channels[..., 2]).all()
    assert CenterCrop(4)(rgb).size == (4, 4)


def test_augmentation_runs_in_training_batches_only_and_differs_each_time():
    flip = images(8).transform(Grayscale(channels=1), RandomHorizontalFlip(p=0.5), Normalize(0.5, 0.5))
    plain = next(iter(flip.batches(8))).inputs
    assert (plain[:, 0, :, 0] < plain[:, 0, :, -1]).all()          # evaluation: never flipped
    assert torch.equal(torch.stack(flip.column("image")), plain)
    draws = [next(iter(flip.batches(8, augment=True))).inputs for _ in range(4)]
    flipped = torch.stack([d[:, 0, 0, 0] > d[:, 0, 0, -1] for d in draws])
    assert flipped.any() and not flipped.all()                     # some flipped, some not
    assert len({tuple(row.tolist()) for row in flipped}) > 1        # a fresh draw each time


def test_random_crop_and_jitter_keep_the_size_and_change_the_pixels():
    image = Image.fromarray((ramp(20, 20) * 255).astype(np.uint8)).convert("RGB")
    random.seed(3)  # a draw can be the whole image (sides near 1) or factors near 1: look at several
    crops = [RandomCrop(0.5)(image) for _ in range(5)]
    jitters = [ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5)(image) for _ in range(5)]
    assert all(out.size == image.size for out in crops + jitters)
    assert any(not np.array_equal(np.asarray(out), np.asarray(image)) for out in crops)
    assert any(not np.array_equal(np.asarray(out), np.asarray(image)) for out in jitters)


class Counting(Transform):
    """Records each image it sees in training (a random transform that changes nothing)."""

    random = True

    def __init__(self):
        self.calls = 0

    def apply(self, image):
        self.calls += 1
        return image


def test_fine_tuning_augments_every_epoch_and_evaluation_does_not():
    counter = Counting()
    data = images(6).transform(Grayscale(channels=1), counter, Normalize(0.5, 0.5))
    model = m.Model()
    model.add(m.Flatten(input_shape=(12, 16, 1)))
    model.add(m.Dense(2))
    trained = m.fine_tune_model(model, data, epochs=3, lr=1e-2, batch_size=3, progress=False)
    assert counter.calls == 3 * 6
    m.evaluate(trained, data, metrics=["accuracy"])
    m.predict(trained, data)
    assert counter.calls == 3 * 6


def test_map_and_split_keep_the_augmentation():
    flip = images(6).transform(RandomHorizontalFlip(p=1.0))
    first, _ = m.split(flip, 0.5, seed=0)
    mapped = flip.map(lambda ex: {"image": ex.image, "label": ex.label})
    for data in (first, mapped):
        batch = next(iter(data.batches(2, augment=True)))
        assert batch.inputs[:, 0, 0, 0].gt(batch.inputs[:, 0, 0, -1]).all()


def test_bad_transforms_are_clear_errors():
    with pytest.raises(MError, match="Normalize must be the last transform"):
        images().transform(Normalize(), Resize(4))
    with pytest.raises(MError, match="is not an image transform"):
        images().transform("resize")
    with pytest.raises(MError, match="size must be a positive int"):
        Resize(0)
    with pytest.raises(MError, match="p must be between 0 and 1"):
        RandomHorizontalFlip(p=2)
    with pytest.raises(MError, match="brightness must be a number >= 0"):
        ColorJitter(brightness=-1)


def test_m_programs_use_transforms_on_a_folder_of_images(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray((ramp(30, 40) * 255).astype(np.uint8)).convert("RGB").save(
                tmp_path / "photos" / name / f"{i}.png")
    source = textwrap.dedent(f"""
        photos = Dataset.images("{tmp_path / 'photos'}", transform=[Grayscale(), Resize(224),
                                RandomHorizontalFlip(), RandomCrop(0.8), ColorJitter(brightness=0.2)])
        first = photos[0].image
        batch = photos.batches(4, augment=true)
    """)
    scope = run_source(source, "transforms.m")
    assert scope["first"].size == (224, 224) and scope["first"].mode == "RGB"
    problems = check_source('data = Dataset.images("x", transform=[Resize(sise=3)])\n', "bad.m")
    assert problems and all(p.span.line == 1 for p in problems)
    assert any("sise" in p.message and p.hint == "did you mean 'size'?" for p in problems)


def test_a_distributed_shard_keeps_the_transforms():
    from mlang.train.distributed import _shard_class

    flip = images(4).transform(Grayscale(), RandomHorizontalFlip(p=1.0))
    shard = _shard_class()(flip, 0, 2, shuffle=False, seed=0)
    assert shard.transforms == flip.transforms
    batch = next(iter(shard.batches(2, augment=True)))
    assert batch.inputs[:, 0, 0, 0].gt(batch.inputs[:, 0, 0, -1]).all()


# ----- a model's input pipeline (the deterministic transforms, as data) --------------------------
def test_records_round_trip_only_the_deterministic_transforms():
    from mlang.data.transforms import from_records, to_records

    steps = (Grayscale(channels=1), Resize((8, 10)), RandomCrop(0.9), CenterCrop(6), ColorJitter(0.2),
             Normalize(0.5, 0.5))
    records = to_records(steps)
    assert [r["name"] for r in records] == ["Grayscale", "Resize", "CenterCrop", "Normalize"]
    assert records[1] == {"name": "Resize", "size": [8, 10]}
    rebuilt = from_records(records)
    image = ramp(12, 16)
    for got, want in zip(rebuilt, (s for s in steps if not s.random)):
        assert type(got) is type(want) and vars(got) == vars(want)
    assert torch.equal(m.data.transforms.apply_transforms(rebuilt, image, augment=False),
                       m.data.transforms.apply_transforms(steps, image, augment=False))


def test_a_dataset_without_transforms_is_read_through_the_model_pipeline():
    from mlang.data.transforms import to_records, with_model_transforms

    model = torch.nn.Linear(1, 1)
    model.input_transforms = to_records([Grayscale(channels=1), Resize(4), Normalize(0.5, 0.5)])
    raw = images().transform(RandomHorizontalFlip(p=1.0))  # augmentation only: not a pipeline
    read = with_model_transforms(raw, model)
    # the model's steps, the data's augmentation before the final Normalize
    assert [type(s).__name__ for s in read.transforms] == ["Grayscale", "Resize", "RandomHorizontalFlip",
                                                           "Normalize"]
    assert read[0].image.shape == (1, 4, 4)
    own = images().transform(Resize(6))
    assert with_model_transforms(own, model) is own                 # its own transforms win
    assert model.input_transforms[1] == {"name": "Resize", "size": [4, 4]}
    with_model_transforms(own, model, record="always")               # what training does
    assert model.input_transforms == [{"name": "Resize", "size": [6, 6]}]
