"""Issue 12, item 9 (part): outputs that do not fit the targets and inputs that do not fit the
model are M errors naming the model, its types and the fix — not torch's broadcasting warning
from mlang/train/tasks.py or "mat1 and mat2 shapes cannot be multiplied"."""
import textwrap
import warnings

import pytest
import torch

from mlang.lang.api import run_source
from mlang.lang.diagnostics import MError
from mlang.train import evaluate, fine_tune_model
from mlang.train.losses import MSELoss


def run_m(source: str, filename: str):
    return run_source(textwrap.dedent(source), filename)


def no_leak(message: str) -> None:
    assert "tasks.py" not in message and "size of tensor" not in message and "mat1" not in message


def test_three_outputs_on_one_target_from_m():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "Using a target size ... broadcasting" warning
        with pytest.raises(MError) as error:
            run_m("""
                d = Dataset.sklearn("diabetes").take(32)
                model R extends Regressor { num_features = 10; num_outputs = 3 }
                r = fineTuneModel(R(), d, epochs=1, progress=false)
            """, "three.m")
    message = str(error.value)
    assert "three.m:4:" in message
    assert "the model outputs 3 values per example but the data has 1 target" in message
    assert error.value.field == "num_outputs"
    assert "num_outputs = 1" in error.value.diagnostics[0].hint
    no_leak(message)


def test_three_outputs_on_one_target_from_python_and_in_a_hand_written_loss():
    from conftest import LinearRegressor
    from mlang.data import Dataset

    class Wide(LinearRegressor):
        def __init__(self):
            super().__init__(2)
            self.head = torch.nn.Linear(16, 3)

    data = Dataset.records([{"a": [1.0, 2.0], "b": 3.0}] * 8, features="a", target="b")
    with pytest.raises(MError, match="outputs 3 values per example but the data has 1 target"):
        fine_tune_model(Wide(), data, epochs=1, progress=False)
    with pytest.raises(MError, match="outputs 3 values per example"):
        evaluate(Wide(), data, metrics=["loss"])
    with pytest.raises(MError, match="outputs 3 values per example but the data has 1 target"):
        MSELoss()(torch.zeros(8, 3), torch.zeros(8))
    with pytest.raises(MError, match=r"outputs have shape \[8, 2\] but the targets have shape \[4, 2\]"):
        MSELoss()(torch.zeros(8, 2), torch.zeros(4, 2))
    assert float(MSELoss()(torch.zeros(8, 1), torch.zeros(8))) == 0.0  # [B, 1] meets [B]


def test_a_wrong_input_shape_names_the_input_type_and_the_given_shape_from_m():
    with pytest.raises(MError) as error:
        run_m("""
            iris = Dataset.sklearn("iris")
            model R extends Regressor { num_features = 3 }
            r = fineTuneModel(R(), iris.take(32), epochs=1, progress=false)
        """, "shape.m")
    message = str(error.value)
    assert "shape.m:4:" in message
    assert "R expects input Tensor[float32, B, 3] but was given a tensor of shape [16, 4]" in message
    assert "(num_features = 3)" in message
    assert "num_features=4" in error.value.diagnostics[0].hint
    assert error.value.field == "input"
    no_leak(message)
    with pytest.raises(MError) as error:
        run_m("""
            import python torch
            model Cnn { input: Image[3, 8, 8]; Conv2D(4, kernel=3); Flatten(); Dense(2) }
            out = Cnn()(torch.zeros(2, 8, 8, 3))
        """, "cnn.m")
    assert "cnn.m:4:" in str(error.value)
    assert "Cnn expects input Image[3, 8, 8] but was given a tensor of shape [2, 8, 8, 3]: dim 1 is 8, not 3" \
        in str(error.value)


def test_a_wrong_input_shape_from_python():
    from mlang.models.stdlib import Regressor

    net = Regressor(num_features=3)
    with pytest.raises(MError) as error:
        net(torch.zeros(2, 4))
    assert "Regressor expects input Tensor[float32, B, 3] but was given a tensor of shape [2, 4]" \
        in str(error.value)
    with pytest.raises(MError, match=r"\(2 dims, the first the batch\) but was given a tensor of shape \[2, 5, 4\]"):
        net(torch.zeros(2, 5, 4))
    assert net(torch.zeros(2, 3)).shape == (2, 1)  # a fitting input still runs
