"""CSV, JSONL, Parquet and in-memory tables: typed role mapping and errors that name the place."""
import json

import pandas as pd
import pytest

from mlang.data import Dataset
from mlang.lang.diagnostics import MError


@pytest.fixture
def reviews_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,score,stars\n"
                    "tasty and fresh,great,4.5\n"
                    "\"stale, sadly\",other,2\n"
                    "would buy again,great,5\n", encoding="utf-8")
    return path


def test_csv_maps_roles_to_columns_and_encodes_labels(reviews_csv):
    data = Dataset.csv(reviews_csv, text="review", label="score")
    assert len(data) == 3
    assert data.input_column == "text" and data.target_column == "label"
    assert data.labels == ["great", "other"]
    assert [ex.text for ex in data.rows()] == ["tasty and fresh", "stale, sadly", "would buy again"]
    assert [ex.label for ex in data.rows()] == [0, 1, 0]
    assert data[1].labels == 1  # the plural names the target, as in a training loop
    assert data.task == "classification"


def test_csv_numeric_roles_are_floats(reviews_csv):
    data = Dataset.csv(reviews_csv, text="review", target="stars")
    assert data.column("target") == [4.5, 2.0, 5.0]
    assert data.task == "regression"


def test_a_given_label_mapping_is_kept(reviews_csv):
    data = Dataset.csv(reviews_csv, text="review", label="score", labels=["other", "great"])
    assert [ex.label for ex in data.rows()] == [1, 0, 1]


def test_label_outside_the_given_mapping_names_row_and_column(reviews_csv):
    with pytest.raises(MError) as error:
        Dataset.csv(reviews_csv, text="review", label="score", labels=["great"])
    assert "row 2 (line 3)" in str(error.value) and "'score'" in str(error.value)


def test_unknown_column_suggests_the_close_one(reviews_csv):
    with pytest.raises(MError) as error:
        Dataset.csv(reviews_csv, text="reviews", label="score")
    message = str(error.value)
    assert "reviews.csv" in message and "no column 'reviews'" in message
    assert "did you mean 'review'" in message


def test_a_non_number_in_a_numeric_role_names_file_row_and_column(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("a,b,price\n1,2,3.5\n4,x,6\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.csv(path, features=["a", "b"], target="price")
    message = str(error.value)
    assert "prices.csv" in message and "row 2 (line 3)" in message and "'b'" in message
    assert "expected a number" in message


def test_features_role_gathers_several_columns(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("a,b,price\n1,2,3.5\n4,5,6\n", encoding="utf-8")
    data = Dataset.csv(path, features=["a", "b"], target="price")
    assert data.column("features") == [[1.0, 2.0], [4.0, 5.0]]


def test_text_role_rejects_numbers(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("body,tag\n17,a\n42,b\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.csv(path, text="body", label="tag")
    assert "expected text" in str(error.value)


def test_missing_label_is_an_error(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("body,tag\nhello,a\nworld,\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.csv(path, text="body", label="tag")
    assert "row 2" in str(error.value) and "missing value" in str(error.value)


def test_malformed_csv_names_the_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.csv(path, features=["a", "b"])
    assert "broken.csv" in str(error.value) and "line 3" in str(error.value)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(MError, match="empty"):
        Dataset.csv(empty, text="a")
    with pytest.raises(MError, match="no such file"):
        Dataset.csv(tmp_path / "absent.csv", text="a")


def test_jsonl_reads_one_object_per_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"body": "fine", "tag": "pos"}\n\n{"body": "bad", "tag": "neg"}\n',
                    encoding="utf-8")
    data = Dataset.jsonl(path, text="body", label="tag")
    assert [ex.text for ex in data.rows()] == ["fine", "bad"] and data.labels == ["neg", "pos"]


def test_jsonl_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"body": "fine", "tag": "pos"}\n{"body": "bad" "tag": "neg"}\n',
                    encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.jsonl(path, text="body", label="tag")
    assert f"{path}:2:" in str(error.value) and "invalid JSON" in str(error.value)


def test_jsonl_type_error_names_the_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"x": 1, "y": 2}) + "\n" + json.dumps({"x": "one", "y": 3}) + "\n",
                    encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.jsonl(path, features=["x"], target="y")
    assert "line 2" in str(error.value) and "'x'" in str(error.value)


def test_parquet_round_trip_and_corrupt_file(tmp_path):
    path = tmp_path / "table.parquet"
    pd.DataFrame({"t": ["a b", "c d"], "y": [0.5, 1.5]}).to_parquet(path)
    data = Dataset.parquet(path, text="t", target="y")
    assert data.column("target") == [0.5, 1.5]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(MError, match="broken.parquet"):
        Dataset.parquet(broken, text="t")


def test_frame_and_records():
    frame = pd.DataFrame({"msg": ["x", "y"], "cls": [1, 0]})
    data = Dataset.frame(frame, text="msg", label="cls")
    assert data.labels == [0, 1] and data.column("label") == [1, 0]
    records = Dataset.records([{"msg": "x", "cls": "b"}], text="msg", label="cls")
    assert records.labels == ["b"]


def test_a_not_a_number_word_is_reported_as_such_not_as_missing(tmp_path):
    """docs/data.md promises "expected a number, got 'n/a'"; only an empty cell is missing."""
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,4\nmeh,n/a\nNA,3\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        Dataset.csv(path, text="review", target="stars")
    assert str(error.value).startswith(f"error: {path}: row 2 (line 3), column 'stars': "
                                       "expected a number, got 'n/a'")
    assert error.value.field == "stars"
    texts = Dataset.csv(path, text="review")
    assert texts.column("text") == ["good", "meh", "NA"]  # words are kept as written
    path.write_text("review,stars\ngood,4\nmeh,\n", encoding="utf-8")
    with pytest.raises(MError, match="row 2 \\(line 3\\), column 'stars': missing value"):
        Dataset.csv(path, text="review", target="stars")


def test_a_not_a_number_word_from_m_names_the_m_line(tmp_path):
    from mlang.lang.api import run_source

    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,4\nmeh,n/a\n", encoding="utf-8")
    with pytest.raises(MError) as error:
        run_source(f'x = 1\nreviews = Dataset.csv("{path}", text="review", target="stars")\n', "load.m")
    message = str(error.value)
    assert "load.m:2:" in message and "column 'stars': expected a number, got 'n/a'" in message
