"""What differs between tasks, in one place: the training loss and how outputs become predictions.

A model's `task` ("classification", "regression", "forecast", "qa") decides; a plain module with
no `task` gets the one its training data implies.  Outputs may be a tensor, an object with
`.logits` (Hugging Face), or for QA a `[B, T, 2]` tensor / `(start, end)` pair / an object with
`start_logits` and `end_logits`.
"""
from __future__ import annotations

from mlang.data.errors import data_error

TASKS = ("classification", "regression", "forecast", "qa")
# The longest answer span (in tokens) QA decoding considers, as in SQuAD's reference code.
MAX_ANSWER_TOKENS = 30


def task_of(model, data) -> str:
    """The model's task when it is one M trains, else the one the data implies."""
    task = getattr(model, "task", None)
    if task not in TASKS:
        task = getattr(data, "task", None)
    if task not in TASKS:
        raise data_error(f"cannot train or evaluate a model whose task is {task!r}", field="task",
                     hint="give the model a task (" + ", ".join(TASKS) + ") or the data a "
                          "label=/target= column")
    return task


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
        return F.mse_loss(regression_output(output).float(), targets.float())
    start, end = span_logits(output)
    return (F.cross_entropy(start.float(), targets[:, 0]) + F.cross_entropy(end.float(), targets[:, 1])) / 2


def check_output(task: str, output, num_labels: int | None) -> None:
    """An early, clear error when a classifier's width does not fit the data's classes."""
    if task == "classification" and num_labels is not None:
        width = logits(output).shape[-1]
        if width < num_labels:
            raise data_error(f"the model outputs {width} classes but the data has {num_labels} labels",
                         field="num_labels", hint=f"declare the model with num_labels = {num_labels}")


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
