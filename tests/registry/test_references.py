"""Bad references and names are user errors that say what exists."""
import pytest

import mlang as m
from mlang.lang.diagnostics import MError
from mlang.registry import parse_ref


def _error(fn, *args) -> str:
    with pytest.raises(MError) as caught:
        fn(*args)
    return str(caught.value)


@pytest.fixture
def populated(repo, stack):
    repo.save(stack, "sentiment")
    repo.save(stack, "sentiment", alias="prod")
    repo.save(stack, "vision")
    return repo


def test_path_like_name_is_refused_and_models_are_listed(populated):
    text = _error(populated.load, "../x")
    assert "'../x' is not a valid model name" in text
    assert "models: sentiment, vision" in text


def test_empty_reference_is_refused_and_models_are_listed(populated):
    text = _error(populated.load, "")
    assert "empty" in text and "models: sentiment, vision" in text


def test_unknown_version_lists_versions(populated):
    text = _error(populated.load, "sentiment:7")
    assert "sentiment:7 does not exist" in text
    assert "sentiment has versions 1, 2" in text


def test_unknown_alias_lists_aliases(populated):
    text = _error(populated.load, "sentiment@staging")
    assert "sentiment@staging does not exist" in text
    assert "@prod → 2" in text


def test_unknown_name_suggests_the_closest(populated):
    text = _error(populated.load, "sentimnet")
    assert "no model named 'sentimnet'" in text
    assert "did you mean 'sentiment'?" in text


def test_empty_repository_says_so():
    assert "the repository is empty" in _error(m.load, "anything")


def test_bad_names_are_refused_before_saving(repo, stack):
    for name in ("../x", "a/b", "", " ", "-x", "a..b"):
        with pytest.raises(MError):
            repo.save(stack, name)
    assert repo.list_models() == []
    assert not any(repo.blobs.blobs())


@pytest.mark.parametrize("ref", ["x:0", "x:-1", "x:abc", "x@", "x@3", "x@../y"])
def test_malformed_references(ref):
    with pytest.raises(MError):
        parse_ref(ref)


def test_reference_forms():
    assert str(parse_ref("a")) == "a"
    assert parse_ref("a:3").version == 3
    assert parse_ref("a@prod").alias == "prod"
    assert parse_ref("registry:a:2").version == 2
    assert parse_ref("a@latest") == parse_ref("a")
