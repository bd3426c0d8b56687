"""Distillation: a smaller student learns the teacher's soft targets."""
import pytest
import torch
from torch import nn

from mlang.lang.diagnostics import MError
from mlang.optimize import Distillation, ModelOptimizer, Pruning, distill


def teacher_and_data():
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 3)).eval()
    x = torch.randn(512, 8)
    with torch.no_grad():
        labels = teacher(x).argmax(-1)
    return teacher, x, labels


def agreement(a, b, x):
    with torch.no_grad():
        return float((a(x).argmax(-1) == b(x).argmax(-1)).float().mean())


def test_the_student_learns_to_agree_with_the_teacher():
    teacher, x, labels = teacher_and_data()
    student = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    before = agreement(teacher, student, x)
    step = Distillation(student=student, data=(x, labels), temperature=2.0, epochs=15, lr=1e-2,
                        batch_size=64)
    trained = step.apply(teacher)
    assert trained is student
    assert agreement(teacher, student, x) > max(0.85, before + 0.2)
    assert step.history[-1] < step.history[0]
    assert "of the teacher" in step.describe()


def test_distill_called_with_a_teacher_returns_the_trained_student():
    teacher, x, _ = teacher_and_data()
    student = distill(teacher, student=nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)),
                      data=x, temperature=3.0, epochs=10, alpha=1.0, lr=1e-2, batch_size=64)
    assert agreement(teacher, student, x) > 0.8


def test_without_a_student_distillation_recovers_a_pruned_model():
    teacher, x, labels = teacher_and_data()
    pruned_only = ModelOptimizer([Pruning(percentage=0.8, scope="local", target="neurons")]
                                 ).optimize(teacher, measure_figures=False, show=False)
    recovered = ModelOptimizer([
        Pruning(percentage=0.8, scope="local", target="neurons"),
        Distillation(data=(x, labels), epochs=15, lr=1e-2, batch_size=64)]).optimize(
        teacher, measure_figures=False, show=False)
    assert recovered[0].out_features == 13
    assert agreement(teacher, recovered, x) > agreement(teacher, pruned_only, x)


def test_distillation_needs_data_and_a_sensible_temperature():
    teacher, _, _ = teacher_and_data()
    with pytest.raises(MError) as error:
        Distillation(student=nn.Linear(8, 3)).apply(teacher)
    assert error.value.field == "data"
    with pytest.raises(MError) as error:
        Distillation(student=nn.Linear(8, 3), temperature=0)
    assert error.value.field == "temperature"
