// Case study 2 (the paper's LFW face recognition, here: face vs non-face) — scikit-image's
// `lfw_subset()`: 200 grey 25x25 crops, the first 100 faces from LFW, the last 100 not faces.
// Stratified 70/30 split, seed 7.  M: EfficientNet-Lite0 (ImageNet) fine-tuned with a fresh head;
// baselines: an SVM on raw pixels, and an SVM on dlib's 128-d face embeddings.
//
//     m run examples/case_studies/lfw_faces.m     (about 1 minute on 2 CPU cores)

import python skimage.data as skdata
import python sklearn.svm as svm
import python sklearn.metrics as skmetrics

setSeed(7)
crops = skdata.lfw_subset()
records = [{"image": crops[i], "label": 0 if i < 100 else 1} for i in range(len(crops))]
images = Dataset(records, input_column="image", target_column="label", labels=["face", "not face"])
train_set, test_set = split(images, 0.7, seed=7, stratify=true)
print(f"LFW subset: {len(train_set)} training and {len(test_set)} test crops")

model FaceOrNot extends ImageClassifier { num_labels = 2 }

classifier = fineTuneModel(FaceOrNot(), train_set, epochs=3, lr=3e-4, batch_size=16)
report = evaluate(classifier, test_set, metrics=["accuracy", "f1_macro"])
truth = test_set.column("label")

pixels = svm.SVC()
pixels.fit([x.ravel() for x in train_set.column("image")], train_set.column("label"))
by_pixels = pixels.predict([x.ravel() for x in test_set.column("image")])

embedder = loadModelFromUrl("dlib-face-resnet")
embedded = svm.SVC()
embedded.fit(embedder(train_set.column("image")).numpy(), train_set.column("label"))
by_embedding = embedded.predict(embedder(test_set.column("image")).numpy())

print(f"{'model':<36}{'accuracy':>10}{'macro F1':>10}")
print(f"{'fine-tuned EfficientNet-Lite0 (M)':<36}{report['accuracy']:>10.3f}{report['f1_macro']:>10.3f}")
print(f"{'SVM on pixels':<36}{skmetrics.accuracy_score(truth, by_pixels):>10.3f}{skmetrics.f1_score(truth, by_pixels, average='macro'):>10.3f}")
print(f"{'SVM on dlib face embeddings':<36}{skmetrics.accuracy_score(truth, by_embedding):>10.3f}{skmetrics.f1_score(truth, by_embedding, average='macro'):>10.3f}")
