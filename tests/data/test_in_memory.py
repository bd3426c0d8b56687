"""In-memory data (issue 12, item 8): Dataset.tensors / Dataset.arrays, list-valued features,
and iterating a Dataset (item 7), from Python and from M."""
import textwrap

import numpy as np
import pytest
import torch

import mlang as m
from mlang.lang.api import run_source
from mlang.lang.diagnostics import MError


def run_m(source: str, filename: str = "in_memory.m") -> dict:
    return run_source(textwrap.dedent(source), filename)


# ----- Dataset.tensors / Dataset.arrays ----------------------------------------------------------

def test_tensors_give_one_example_per_row_any_shape():
    x = torch.arange(24, dtype=torch.float64).reshape(6, 2, 2)
    data = m.Dataset.tensors(x, torch.tensor([0.5, 1, 2, 3, 4, 5]))
    assert len(data) == 6 and data.input_column == "x" and data.target_column == "y"
    assert data.task == "regression" and data.labels is None
    first = data[1]
    assert first.x.dtype == torch.float32 and torch.equal(first.x, x[1].float())
    assert first.y == 1.0
    batch = next(iter(data.batches(4)))
    assert batch.inputs.shape == (4, 2, 2) and batch.targets.dtype == torch.float32
    assert batch.targets.tolist() == [0.5, 1.0, 2.0, 3.0]


def test_arrays_with_integer_targets_are_classes_in_id_order():
    x = np.random.default_rng(0).random((5, 3))
    data = m.Dataset.arrays(x, np.array([2, 0, 1, 2, 0]))
    assert data.task == "classification" and data.target_column == "label"
    assert data.labels == [0, 1, 2] and data.column("label") == [2, 0, 1, 2, 0]
    named = m.Dataset.arrays(x, [1, 0, 1, 1, 0], labels=["cat", "dog"])
    assert named.labels == ["cat", "dog"] and named.column("label") == [1, 0, 1, 1, 0]
    texts = m.Dataset.arrays(x, np.array(["dog", "cat", "dog", "dog", "cat"]))
    assert texts.labels == ["cat", "dog"] and texts.column("label") == [1, 0, 1, 1, 0]
    assert m.Dataset.arrays(x, np.ones(5), task="classification").labels == [0, 1]
    assert m.Dataset.arrays(x, np.arange(5), task="regression").task == "regression"


def test_integer_inputs_stay_integers_and_1d_inputs_are_one_number_each():
    ids = m.Dataset.tensors(torch.tensor([[3, 1], [2, 2]], dtype=torch.int32))
    assert ids[0].x.dtype == torch.int64 and ids.target_column is None
    one = m.Dataset.arrays(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))
    assert tuple(next(iter(one)).inputs.shape) == (3, 1)
    multi = m.Dataset.arrays(np.zeros((4, 2)), np.ones((4, 3)))
    assert next(iter(multi)).targets.shape == (4, 3)


@pytest.mark.parametrize("make, field, words", [
    (lambda: m.Dataset.tensors(torch.zeros(3, 2), torch.zeros(2)), "y", "x has 3 examples but y has 2"),
    (lambda: m.Dataset.arrays(np.array([["a", "b"]]), [0]), "x", "x must hold numbers, got text"),
    (lambda: m.Dataset.arrays(np.zeros(())), "x", "x is a single number"),
    (lambda: m.Dataset.arrays(np.zeros((0, 3))), "x", "x has no examples"),
    (lambda: m.Dataset.arrays([[1, 2], [3]], [0, 1]), "x", "not a rectangular array"),
    (lambda: m.Dataset.tensors(torch.zeros(2, 2, dtype=torch.complex64)), "x", "real numbers"),
    (lambda: m.Dataset.arrays(np.array([[1.0, np.nan], [0, 0]]), [0, 1]), "x", "x[0] contains NaN"),
    (lambda: m.Dataset.arrays(np.zeros((2, 2)), [0.0, np.inf]), "y", "y[1] contains NaN or infinity"),
    (lambda: m.Dataset.arrays(np.zeros((2, 2)), [0, -1]), "y", "y[1] is -1, not a class id"),
    (lambda: m.Dataset.arrays(np.zeros((2, 2)), [0.5, 1], task="classification"), "y", "y[0] is 0.5"),
    (lambda: m.Dataset.arrays(np.zeros((2, 2)), np.zeros((2, 2), dtype=int)), "y", "one per example"),
    (lambda: m.Dataset.arrays(np.zeros((2, 2)), [0, 3], labels=["a", "b"]), "y", "names 2 classes"),
    (lambda: m.Dataset.arrays(np.zeros((2, 2)), [0, 1], task="ranking"), "task", "task must be"),
    (lambda: m.Dataset.arrays("not data", [0]), "x", "x must be a tensor or an array"),
])
def test_in_memory_errors_name_the_argument(make, field, words):
    with pytest.raises(MError) as error:
        make()
    assert error.value.field == field
    assert words in str(error.value)


def test_in_memory_data_from_m():
    scope = run_m("""
        import python torch
        import python numpy as np
        x = torch.randn(10, 3)
        data = Dataset.tensors(x, x.sum(1))
        first_x = data[0].x
        table = Dataset.arrays(np.ones([4, 2]), np.array([0, 1, 1, 0]))
        sizes = [len(batch) for batch in table.batches(3)]
    """)
    assert scope["data"].task == "regression" and tuple(scope["first_x"].shape) == (3,)
    assert scope["table"].labels == [0, 1] and scope["sizes"] == [3, 1]
    with pytest.raises(MError) as error:
        run_m("""
            import python torch
            bad = Dataset.tensors(torch.zeros(4, 2), torch.zeros(3))
        """)
    assert "in_memory.m:3:" in str(error.value) and "x has 4 examples but y has 3" in str(error.value)


# ----- list-valued features ----------------------------------------------------------------------

def test_a_list_valued_column_is_one_features_vector():
    rows = [{"v": [1, 2, 3], "y": 1.0}, {"v": np.array([4.0, 5, 6]), "y": 2.0}]
    data = m.Dataset.records(rows, features="v", target="y")
    assert data.column("features") == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert next(iter(data)).inputs.shape == (2, 3)
    grid = m.Dataset.records([{"g": [[1, 2], [3, 4]]}, {"g": [[5, 6], [7, 8]]}], features="g")
    assert next(iter(grid)).inputs.shape == (2, 2, 2)  # a nested list keeps its shape
    joined = m.Dataset.records([{"a": 1, "b": [2, 3]}, {"a": 4, "b": [5, 6]}], features=["a", "b"])
    assert joined.column("features") == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_list_valued_features_errors_name_the_row_and_column():
    with pytest.raises(MError) as error:
        m.Dataset.records([{"v": [1, 2]}, {"v": [1]}], features="v")
    assert error.value.field == "v" and "row 2, column 'v': 1 number but row 1 has 2" in str(error.value)
    with pytest.raises(MError, match="row 1, column 'v': expected numbers, got \\[1, 'a'\\]"):
        m.Dataset.records([{"v": [1, "a"]}], features="v")
    with pytest.raises(MError, match="missing value in the list"):
        m.Dataset.records([{"v": [1.0, float("nan")]}], features="v")


def test_list_valued_features_from_m():
    scope = run_m("""
        rows = [{"x": [0.0, 1.0], "y": "b"}, {"x": [1.0, 0.0], "y": "a"}]
        data = Dataset.records(rows, features="x", label="y")
        for batch in data { shape = list(batch.inputs.shape) }
    """)
    assert scope["shape"] == [2, 2] and scope["data"].labels == ["a", "b"]


# ----- iterating a Dataset -----------------------------------------------------------------------

def test_iterating_a_dataset_gives_batches_of_the_default_size():
    from mlang.data.batching import DEFAULT_BATCH_SIZE

    rows = [{"t": f"text {i}", "y": "pos" if i % 3 else "neg"} for i in range(DEFAULT_BATCH_SIZE + 5)]
    data = m.Dataset.records(rows, text="t", label="y")
    batches = list(data)
    assert [len(b) for b in batches] == [DEFAULT_BATCH_SIZE, 5]
    first = batches[0]
    assert first.text == [r["t"] for r in rows[:DEFAULT_BATCH_SIZE]]  # a list of texts, in order
    assert first.labels.dtype == torch.long
    assert first.labels.tolist() == [data.labels.index(r["y"]) for r in rows[:DEFAULT_BATCH_SIZE]]
    assert [ex.text for ex in data.rows()][:2] == ["text 0", "text 1"]  # single examples
    assert "Batch(32 examples" in repr(first)


def test_a_dataset_is_fingerprinted_by_content():
    x = torch.arange(6.0).reshape(3, 2)
    same = m.Dataset.tensors(x, torch.tensor([0, 1, 0])).fingerprint()
    assert same == m.Dataset.tensors(x.clone(), torch.tensor([0, 1, 0])).fingerprint()
    assert same != m.Dataset.tensors(x + 1, torch.tensor([0, 1, 0])).fingerprint()
