// The image-transform journey (tests/journeys/test_image_transforms.py): a small CNN trained on
// 40x30 colour pictures through grey, resize and normalize transforms plus augmentation, saved
// to the registry; the tests then serve it and post pictures of the original size and mode.
import python numpy as np

func picture(seed: int, bright_top: bool) {
    // noise, with the top or the bottom half brighter
    pixels = np.random.default_rng(seed).integers(0, 120, [30, 40, 3])
    half = pixels[0:15] if bright_top else pixels[15:30]
    half += 120
    return pixels.astype("uint8")
}

pictures = Dataset(
    [{"image": picture(i, i % 2 == 0), "label": i % 2} for i in range(48)],
    labels=["top", "bottom"],
)
augmentation = [RandomCrop(0.9), ColorJitter(brightness=0.2)]
data = pictures.transform(
    [Grayscale(channels=1), Resize(12)] + augmentation + [Normalize(0.5, 0.5)],
)
train_set, test_set = split(data, 0.75, seed=3, stratify=true)

model Brightness {
    input: Image[1, 12, 12]
    Conv2D(4, kernel=3)
    ReLU()
    Flatten()
    Dense(2)
}

setSeed(0)
classifier = fineTuneModel(Brightness(), train_set, epochs=8, lr=0.01, batch_size=8)
print(evaluate(classifier, test_set, metrics=["accuracy"]))
print(classifier.input_transforms)
save(classifier, "brightness")
// the original pictures, as a user has them: the model's own transforms prepare them
print(predict(classifier, [picture(100, true), picture(101, false)]))
