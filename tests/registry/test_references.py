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


@pytest.mark.parametrize("ref", ["x:0", "x:-1", "x:abc", "x@", "x@3", "x@../y", "x:²", "x:٣",
                                 "x:１", "x:3.0", "x: 3", "x:99999999999999999999",
                                 "x:9223372036854775808", "x:" + "9" * 5000])
def test_malformed_references(ref):
    with pytest.raises(MError) as caught:
        parse_ref(ref)
    assert caught.value.field in ("reference", "alias")


def test_the_largest_version_number_parses():
    assert parse_ref("x:9223372036854775807").version == 2**63 - 1


def test_a_superscript_version_is_an_merror_not_a_value_error(populated):
    """`'²'.isdigit()` is True but `int('²')` raises ValueError."""
    for load in (populated.load, m.load):
        with pytest.raises(MError) as caught:
            load("sentiment:²")
        assert caught.value.field == "reference"
        assert "'²' in 'sentiment:²' is not a version number" in str(caught.value)
        assert "ASCII digits" in str(caught.value)


HUGE = "99999999999999999999"


def test_a_huge_version_is_an_merror_in_load_rm_alias_and_show(populated):
    """Past SQLite's 64-bit integers sqlite3 raised OverflowError."""
    for call in (lambda: populated.load(f"sentiment:{HUGE}"),
                 lambda: m.load(f"sentiment:{HUGE}"),
                 lambda: populated.remove(f"sentiment:{HUGE}"),
                 lambda: populated.describe(f"sentiment:{HUGE}"),
                 lambda: populated.set_alias("sentiment", "prod", HUGE),
                 lambda: populated.set_alias("sentiment", "prod", int(HUGE)),
                 lambda: populated.set_alias("sentiment", "prod", "²"),
                 lambda: populated.set_alias("sentiment", "prod", f"sentiment:{HUGE}")):
        with pytest.raises(MError) as caught:
            call()
        assert caught.value.field in ("reference", "version")
        assert "out of range" in str(caught.value) or "not a version number" in str(caught.value)
    assert populated.aliases("sentiment") == {"prod": 2}


def test_a_huge_version_through_m_models(populated):
    from typer.testing import CliRunner

    from mlang.registry.cli import app

    runner = CliRunner()
    for args in (["show", f"sentiment:{HUGE}"], ["rm", f"sentiment:{HUGE}"],
                 ["alias", "sentiment@prod", HUGE], ["alias", "sentiment@prod", "²"],
                 ["show", "sentiment:²"], ["verify", f"sentiment:{HUGE}"],
                 ["diff", "sentiment:1", f"sentiment:{HUGE}"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        assert "out of range" in result.output or "not a version number" in result.output


def test_a_bad_version_in_an_m_program_names_the_line(tmp_path, populated):
    from mlang.lang.api import run_file

    source = tmp_path / "bad.m"
    source.write_text('x = 1\nmodel_ = load("sentiment:²")\n')
    with pytest.raises(MError) as caught:
        run_file(source)
    assert "not a version number" in str(caught.value) and "bad.m:2" in str(caught.value)


def test_reference_forms():
    assert str(parse_ref("a")) == "a"
    assert parse_ref("a:3").version == 3
    assert parse_ref("a@prod").alias == "prod"
    assert parse_ref("registry:a:2").version == 2
    assert parse_ref("a@latest") == parse_ref("a")
