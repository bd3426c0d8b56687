"""Distillation: train a smaller student model to match a teacher's soft targets.

For classification the loss is `alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T))` plus
`(1 − alpha) · cross-entropy` with the true labels when the data has them (Hinton et al., 2015);
for regression and forecasting models it is the mean squared error to the teacher's outputs.
`apply(teacher)` returns the trained student, which replaces the teacher in a pipeline.
With no `student`, the model being optimized is the student and the model the pipeline started
from is the teacher: after structured pruning, this recovers the accuracy the pruning cost.

Inputs reach both models as the data gives them: raw examples (texts, images) are preprocessed
by each model itself, so a student may use a different tokenizer or input size.
"""
from __future__ import annotations

import time

from mlang.lang.diagnostics import MError
from mlang.optimize.passes import OptimizationContext, Pass, torch_module


class Distillation(Pass):
    """`Distillation(student=SmallerModel, data=…, temperature=2.0, epochs=1)`."""

    name = "distill"

    def __init__(self, student=None, data=None, temperature: float = 2.0, epochs: int = 1,
                 alpha: float = 0.7, lr: float = 1e-3, batch_size: int = 16, seed: int = 0):
        super().__init__()
        if float(temperature) <= 0:
            raise MError(f"temperature must be positive, got {temperature!r}", field="temperature")
        if int(epochs) < 1:
            raise MError(f"epochs must be at least 1, got {epochs!r}", field="epochs")
        if not 0 <= float(alpha) <= 1:
            raise MError(f"alpha must be in [0, 1], got {alpha!r}", field="alpha")
        self.student, self.data = student, data
        self.temperature, self.epochs, self.alpha = float(temperature), int(epochs), float(alpha)
        self.lr, self.batch_size, self.seed = float(lr), int(batch_size), int(seed)
        self.history: list[float] = []

    def config(self) -> dict:
        return {"student": _name_of(self.student) if self.student is not None else "itself",
                "temperature": self.temperature,
                "epochs": self.epochs, "alpha": self.alpha, "lr": self.lr,
                "batch_size": self.batch_size}

    def apply(self, model, context: OptimizationContext | None = None):
        import torch

        context = context or OptimizationContext()
        if self.student is None:  # recovery: the original model teaches the optimized one
            if context.original is None:
                raise MError("distillation needs a student model", field="student",
                             hint="distill(student=SmallerModel, data=train_set); without a "
                                  "student it must run inside optimize(...) after pruning")
            teacher, student = torch_module(context.original), torch_module(model)
        else:
            teacher = torch_module(model)
            student = self.student() if isinstance(self.student, type) else self.student
            student = torch_module(student)
        data = self.data if self.data is not None else context.data
        if data is None:
            raise MError("distillation needs training data", field="data",
                         hint="distill(student=…, data=train_set), or optimize(…, data=train_set)")
        torch.manual_seed(self.seed)
        started = time.perf_counter()
        self.history = train_student(teacher, student, data, temperature=self.temperature,
                               epochs=self.epochs, alpha=self.alpha, lr=self.lr,
                               batch_size=self.batch_size, task=getattr(model, "task", None))
        teacher_params = sum(p.numel() for p in teacher.parameters())
        student_params = sum(p.numel() for p in student.parameters())
        self.changes = [f"trained {_name_of(student)} ({student_params:,} parameters, "
                        f"{student_params / max(teacher_params, 1):.0%} of the teacher) for "
                        f"{self.epochs} epoch{'s' if self.epochs != 1 else ''} at T={self.temperature:g} in "
                        f"{time.perf_counter() - started:.0f} s; final loss {self.history[-1]:.4f}"]
        return student


def train_student(teacher, student, data, *, temperature: float = 2.0, epochs: int = 1,
            alpha: float = 0.7, lr: float = 1e-3, batch_size: int = 16,
            task: str | None = None) -> list[float]:
    """Train `student` on `teacher`'s soft targets; returns the mean loss of each epoch."""
    import torch
    import torch.nn.functional as F

    from mlang.optimize.data import iterate_batches, run_model

    teacher_was_training = teacher.training
    teacher.eval()
    student.train()
    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=lr)
    regression = task in ("regression", "forecast")
    history = []
    try:
        for _epoch in range(epochs):
            total, batches = 0.0, 0
            for inputs, targets in iterate_batches(None, data, batch_size=batch_size):
                with torch.no_grad():
                    soft = run_model(teacher, inputs).float()
                predicted = run_model(student, inputs).float()
                if predicted.shape != soft.shape:
                    raise MError(f"the student's outputs {tuple(predicted.shape)} do not match "
                                 f"the teacher's {tuple(soft.shape)}", field="student",
                                 hint="the student must predict the same outputs as the teacher")
                if regression:
                    loss = F.mse_loss(predicted, soft)
                else:
                    loss = alpha * temperature ** 2 * F.kl_div(
                        F.log_softmax(predicted / temperature, dim=-1),
                        F.log_softmax(soft / temperature, dim=-1),
                        reduction="batchmean", log_target=True)
                    if targets is not None and alpha < 1:
                        labels = torch.as_tensor(targets).long().to(predicted.device)
                        loss = loss + (1 - alpha) * F.cross_entropy(predicted, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
                batches += 1
            if not batches:
                raise MError("the distillation data is empty", field="data")
            history.append(total / batches)
    finally:
        teacher.train(teacher_was_training)
        student.eval()
    return history


def _name_of(model) -> str:
    if isinstance(model, type):
        return model.__name__
    spec = getattr(model, "spec", None)
    return getattr(spec, "name", None) or type(model).__name__
