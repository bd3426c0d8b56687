"""What differs between tasks, in one place: the training loss and how outputs become predictions.

A model's `task` ("classification", "regression", "forecast", "qa") decides; a plain module with
no `task` gets the one its training data implies.  Outputs may be a tensor, an object with
`.logits` (Hugging Face), or for QA a `[B, T, 2]` tensor / `(start, end)` pair / an object with
`start_logits` and `end_logits`.
"""
from __future__ import annotations

from mlang.data.errors import data_error

TASKS = ("classification", "regression", "forecast", "qa")
# The task each standard metamodel (src/mlang/models/stdlib) is built for.
STDLIB_TASKS = {"TextClassifier": "classification", "ImageClassifier": "classification",
                "Regressor": "regression", "SequenceForecaster": "forecast",
                "QuestionAnswerer": "qa"}
# The longest answer span (in tokens) QA decoding considers, as in SQuAD's reference code.
MAX_ANSWER_TOKENS = 30


def task_of(model, data) -> str:
    """The model's task when it is one M trains, else the one the data implies, else the one its
    standard metamodel is built for (a `TextClassifier` classifies)."""
    task = getattr(model, "task", None)
    if task not in TASKS:
        task = getattr(data, "task", None)
    if task not in TASKS:
        task = stdlib_task(model)
    if task not in TASKS:
        given = getattr(model, "task", None)
        raise data_error(f"cannot train or evaluate a model whose task is {given!r}", field="task",
                     hint="set it on the model (model.task = \"classification\"; one of "
                          + ", ".join(TASKS) + ") or give the data a label= / target= column")
    return task


def stdlib_task(model) -> str | None:
    """The task of the standard metamodel `model` extends, if it extends one."""
    spec = getattr(model, "spec", None)
    while spec is not None:
        if spec.name in STDLIB_TASKS and _declared_in_stdlib(spec):
            return STDLIB_TASKS[spec.name]
        spec = getattr(spec, "base", None)
    return None


def _declared_in_stdlib(spec) -> bool:
    from pathlib import Path

    from mlang.models.stdlib import STDLIB_DIR

    span = getattr(spec, "span", None)
    return span is not None and Path(span.file).resolve().parent == STDLIB_DIR


def call_model(model, inputs):
    """Run the model on preprocessed inputs (a dict of tensors is passed as keywords)."""
    if isinstance(inputs, dict):
        return model(**inputs)
    return model(inputs)


def logits(output):
    """The prediction tensor of a classification / regression output."""
    if hasattr(output, "logits"):
        return output.logits
    if isinstance(output, dict) and "logits" in output:
        return output["logits"]
    if isinstance(output, (tuple, list)):
        return output[0]
    return output


def span_logits(output):
    """`(start, end)` logits `[B, T]` of an extractive QA output."""
    if hasattr(output, "start_logits"):
        return output.start_logits, output.end_logits
    if isinstance(output, dict) and "start_logits" in output:
        return output["start_logits"], output["end_logits"]
    if isinstance(output, (tuple, list)) and len(output) == 2:
        return output[0], output[1]
    if hasattr(output, "shape") and output.dim() == 3 and output.shape[-1] == 2:
        return output[..., 0], output[..., 1]
    raise data_error("a QA model must return start and end logits ([B, T, 2] or a pair)",
                 field="output")


def regression_output(output):
    """`[B]` predictions from a `[B]` or `[B, 1]` output."""
    values = logits(output)
    if values.dim() == 2 and values.shape[-1] == 1:
        values = values.squeeze(-1)
    return values


def loss(task: str, output, targets):
    """The mean training loss of one batch (a 0-d tensor; no host sync)."""
    import torch.nn.functional as F

    if targets is None:
        raise data_error("the data has no targets to train or score against", field="target",
                     hint="load it with label=... (classification), target=... (regression) or "
                          "as SQuAD (QA); QA also needs a model whose preprocess returns offsets")
    if task == "classification":
        return F.cross_entropy(logits(output).float(), targets)
    if task in ("regression", "forecast"):
        values = regression_output(output)
        if values.shape != targets.shape:
            check_regression_shapes(values, targets)
        return F.mse_loss(values.float(), targets.float())
    start, end = span_logits(output)
    return (F.cross_entropy(start.float(), targets[:, 0]) + F.cross_entropy(end.float(), targets[:, 1])) / 2


def check_output(task: str, output, num_labels: int | None, targets=None) -> None:
    """An early, clear error when the model's outputs do not fit the data's targets: a classifier
    narrower than the data's classes, a regressor with more (or fewer) outputs than targets."""
    if task == "classification" and num_labels is not None:
        width = logits(output).shape[-1]
        if width < num_labels:
            raise data_error(f"the model outputs {width} classes but the data has {num_labels} labels",
                         field="num_labels", hint=f"declare the model with num_labels = {num_labels}")
    if task in ("regression", "forecast") and targets is not None and hasattr(targets, "shape"):
        check_regression_shapes(regression_output(output), targets)


def check_regression_shapes(values, targets) -> None:
    """Predictions and targets of a regression must have one shape (a `[B, 1]` output meets `[B]`)."""
    if tuple(values.shape) == tuple(targets.shape):
        return
    per_output = values.shape[-1] if values.dim() > 1 else 1
    per_target = targets.shape[-1] if targets.dim() > 1 else 1
    if values.shape[:1] == targets.shape[:1] and per_output != per_target:
        raise data_error(f"the model outputs {per_output} value{'s' if per_output != 1 else ''} per "
                     f"example but the data has {per_target} target{'s' if per_target != 1 else ''}",
                     field="num_outputs",
                     hint=f"declare the model with num_outputs = {per_target} (its last layer "
                          f"Dense({per_target}))")
    raise data_error(f"the model's outputs have shape {list(values.shape)} but the targets have "
                 f"shape {list(targets.shape)}", field="output",
                 hint="the model must output one prediction per target, in the targets' shape")


def decode_spans(output, batch) -> list[str]:
    """The answer text of each question: the best context span, or "" when the [CLS] score wins."""
    start, end = span_logits(output)
    start, end = start.float().cpu(), end.float().cpu()
    segment = batch.inputs.get("token_type_ids") if isinstance(batch.inputs, dict) else None
    if segment is None or batch.offsets is None:
        raise data_error("QA decoding needs token_type_ids and offset_mapping from the model's "
                     "preprocess", field="preprocess")
    segment = segment.cpu()
    offsets = batch.offsets.tolist()
    answers = []
    for row, example in enumerate(batch.examples):
        context_mask = (segment[row] == 1) & (batch.offsets[row, :, 1] > batch.offsets[row, :, 0]).cpu()
        null_score = float(start[row, 0] + end[row, 0])
        masked_start = start[row].masked_fill(~context_mask, float("-inf"))
        masked_end = end[row].masked_fill(~context_mask, float("-inf"))
        # score[i, j] = start_i + end_j for j >= i and j - i < MAX_ANSWER_TOKENS.
        scores = masked_start[:, None] + masked_end[None, :]
        length = scores.shape[0]
        band = _span_band(length)
        scores = scores.masked_fill(~band, float("-inf"))
        best = int(scores.argmax())
        i, j = divmod(best, length)
        best_score = float(scores[i, j])
        if best_score == float("-inf") or null_score > best_score:
            answers.append("")
        else:
            answers.append(example["context"][offsets[row][i][0]:offsets[row][j][1]])
    return answers


def _span_band(length: int):
    import torch

    index = torch.arange(length)
    distance = index[None, :] - index[:, None]
    return (distance >= 0) & (distance < MAX_ANSWER_TOKENS)
