"""The example programs under examples/models run and print what they promise."""
from pathlib import Path

import pytest

from mlang.lang.api import check_file, run_file

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


@pytest.mark.parametrize("name, expected", [
    ("small_cnn.m", ["Total params: 19,716", "torch.Size([8, 4])"]),
    ("extends.m", ["Tensor[float32, B, 3]"]),
    ("composition.m", ["Tensor[float32, B, 2]", "torch.Size([3, 8])"]),
])
def test_example_checks_and_runs(name, expected, capsys):
    assert check_file(EXAMPLES / name) == []
    run_file(EXAMPLES / name)
    out = capsys.readouterr().out
    for text in expected:
        assert text in out
