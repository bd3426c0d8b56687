// quickstart.m — a pretrained language model as a value: load MiniLM, fine-tune it into a
// sentiment classifier on 1,000 real Amazon fine-food reviews, evaluate it on 1,000 held-out
// reviews beside a TF-IDF + linear SVM baseline trained on the same slice, and save it.
//
//     m run examples/quickstart.m          (about 2 minutes on 2 CPU cores, fully offline)

setSeed(7)  // before the model is built: its new head is initialised when it is loaded

// Reviews: `review` text, `score` is "great" (65.8 %) or "other".
reviews = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
held_out = Dataset.rdataset("modeldata", "testing_data", text="review", label="score")
train_set, unused = split(reviews, 0.25, seed=7, stratify=true)  // 1,000 reviews, same label mix
print(f"train: {len(train_set)} reviews   test: {len(held_out)} held-out reviews")

// A complete classifier: MiniLM encoder + mean pooling + a fresh 2-way head, tokenizer included.
model Sentiment extends TextClassifier {
    pretrained_model = "minilm-l6"
    num_labels = 2
    max_length = 128  // 22 % of reviews are longer; batches pad only to their longest
}

classifier = fineTuneModel(Sentiment(), train_set, epochs=1, lr=1e-4, batch_size=16)
report = evaluate(classifier, held_out, metrics=["accuracy", "f1_macro"])

// The classic baseline, trained on exactly the same 1,000 reviews.  Imported here, where it is
// used: imported before the fine-tune, scikit-learn added 36 MB to the run's peak memory.
import python sklearn.feature_extraction.text as sktext
import python sklearn.svm as svm
import python sklearn.metrics as skmetrics
vectorizer = sktext.TfidfVectorizer(sublinear_tf=true)
baseline = svm.LinearSVC()
baseline.fit(vectorizer.fit_transform(train_set.column("text")), train_set.column("label"))
predicted = baseline.predict(vectorizer.transform(held_out.column("text")))
truth = held_out.column("label")

print("")
print(f"{'model':<32}{'accuracy':>10}{'macro F1':>10}")
print(f"{'fine-tuned MiniLM-L6 (M)':<32}{report['accuracy']:>10.3f}{report['f1_macro']:>10.3f}")
print(f"{'TF-IDF + LinearSVC':<32}{skmetrics.accuracy_score(truth, predicted):>10.3f}{skmetrics.f1_score(truth, predicted, average='macro'):>10.3f}")

ref = save(classifier, "sentiment", metrics=report, dataset=train_set)
print(f"saved as {ref}: load(\"{ref}\") or loadModelFromUrl(\"registry:{ref}\") gets it back")
print(
    predict(
        classifier,
        ["Absolutely delicious, my dog loves these treats!", "Stale and overpriced. Never again."],
    ),
)
