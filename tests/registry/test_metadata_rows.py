"""A version's metadata row is what was saved: a damaged row is an MError naming the version and
the field (and `m models ls` lists the rest), and a row pointed at other files — another model's
weights — is refused through `record_sha256`.  Rows from before the digest still load."""
import json
import sqlite3
import warnings

import pytest
import torch
from typer.testing import CliRunner

import mlang as m
from mlang.lang.diagnostics import MError
from mlang.registry import Repository
from mlang.registry.cli import app
from mlang.registry.repository import UnboundVersionWarning
from mlang.registry.store import record_digest

from registry_models import make_stack, outputs

runner = CliRunner()


def m_models(*args):
    return runner.invoke(app, list(args))


def _sql(repo, statement, args=()):
    repo.store.close()
    with sqlite3.connect(repo.home / "registry.db") as conn:
        conn.execute(statement, args)
    conn.close()


@pytest.fixture
def populated(repo):
    repo.save(make_stack(seed=1), "a", alias="prod", metrics={"accuracy": 0.5})
    repo.save(make_stack(seed=2), "a", metrics={"accuracy": 0.6})
    repo.save(make_stack(seed=3, width=16), "b")
    return repo


# ----- damaged rows ------------------------------------------------------------------------------

@pytest.mark.parametrize("column, value, why", [
    ("metrics", "{not json", "is not a JSON object"),
    ("params", "[1, 2]", "is not a JSON object"),
    ("frameworks", '"3.11"', "is not a JSON object"),
    ("size", "big", "is not a whole number"),
    ("parameter_count", -5, "is not a whole number"),
    ("parent", b"\x00", "is not text or NULL"),
])
def test_a_damaged_row_is_an_merror_naming_version_and_field(populated, column, value, why):
    _sql(populated, f"UPDATE versions SET {column} = ? WHERE name = 'a' AND version = 2", (value,))
    for call in (lambda: populated.load("a:2"), lambda: populated.load("a"),
                 lambda: m.load("a"), lambda: populated.describe("a:2"),
                 lambda: populated.versions("a")):
        with pytest.raises(MError) as caught:
            call()
        assert caught.value.field == column
        assert "the metadata of a:2 is damaged" in str(caught.value) and why in str(caught.value)
        assert "m models rm a:2 --force" in str(caught.value)
    x = torch.rand(2, 5)                              # the other versions are untouched
    assert torch.equal(outputs(populated.load("a@prod"), x), outputs(make_stack(seed=1), x))


def test_m_models_ls_lists_the_rest_and_reports_the_damaged_one(populated):
    _sql(populated, "UPDATE versions SET metrics = '{oops' WHERE name = 'a' AND version = 2")
    listing = m_models("ls")
    assert listing.exit_code == 1
    assert "Traceback" not in listing.output and "JSONDecodeError" not in listing.output
    assert "a:2" in listing.output and "b:1" in listing.output        # both models listed
    assert "error: metrics: the metadata of a:2 is damaged" in listing.output
    versions = m_models("ls", "a", "--json")
    assert versions.exit_code == 1
    rows = json.loads(versions.stdout)                # the diagnostics go to stderr
    assert [r["ref"] for r in rows] == ["a:1"]
    damaged = []
    assert [s.name for s in populated.list_models(damaged=damaged)] == ["a", "b"]
    assert [d.field for d in damaged] == ["metrics"]
    with pytest.raises(MError, match="a:2 is damaged"):
        m.list_models()                               # the M builtin `listModels()`


def test_a_damaged_version_can_be_removed(populated):
    _sql(populated, "UPDATE versions SET tags = 'x' WHERE name = 'a' AND version = 2")
    assert m_models("rm", "a:2").exit_code == 0
    assert m_models("ls").exit_code == 0
    assert populated.save(make_stack(seed=4), "a") == "a:3"


def test_a_damaged_file_row_never_becomes_a_path(populated):
    _sql(populated, "UPDATE version_files SET sha256 = '../../../../etc/passwd' "
                    "WHERE name = 'b' AND path = 'weights.safetensors'")
    with pytest.raises(MError) as caught:
        populated.load("b")
    assert caught.value.field == "files" and "b:1 is damaged" in str(caught.value)
    assert "'../../../../etc/passwd'" in str(caught.value)


# ----- binding: a row pointed at other files is refused ----------------------------------------------

def test_a_row_pointed_at_another_models_weights_is_refused(populated):
    other = populated.resolve("b").file("weights.safetensors").sha256
    _sql(populated, "UPDATE version_files SET sha256 = ?, size = ? WHERE name = 'a' AND "
                    "version = 1 AND path = 'weights.safetensors'",
         (other, populated.resolve("b").file("weights.safetensors").size))
    for call in (lambda: populated.load("a:1"), lambda: populated.load("a@prod"),
                 lambda: m.load("a@prod"), lambda: populated.verify("a:1"),
                 lambda: populated.load_artifact("a:1")):
        with pytest.raises(MError) as caught:
            call()
        assert caught.value.field == "record_sha256"
        assert "the metadata of a:1 is not what was saved" in str(caught.value)
    shown = m_models("show", "a:1")
    assert shown.exit_code == 1 and "a:1 is not what was saved" in shown.output
    listing = m_models("ls", "a")
    assert listing.exit_code == 1 and "a:1 is not what was saved" in listing.output
    assert "a:2" in listing.output


def test_two_versions_swapping_their_files_are_both_refused(populated):
    _sql(populated, "UPDATE version_files SET version = -version WHERE name = 'a'")
    _sql(populated, "UPDATE version_files SET version = CASE version WHEN -1 THEN 2 ELSE 1 END "
                    "WHERE name = 'a'")
    for ref in ("a:1", "a:2"):
        with pytest.raises(MError, match=f"{ref} is not what was saved"):
            populated.load(ref)


def test_edited_metadata_is_refused_too(populated):
    _sql(populated, "UPDATE versions SET metrics = '{\"accuracy\": 0.99}' WHERE name = 'a' AND "
                    "version = 1")
    with pytest.raises(MError, match="a:1 is not what was saved"):
        populated.describe("a:1")


def test_every_saved_version_carries_its_digest(populated):
    for record in populated.versions("a") + populated.versions("b"):
        assert record.record_sha256 == record_digest(record)


# ----- repositories from before the digest -------------------------------------------------------

def _as_schema_1(repo):
    """The database as M wrote it before `record_sha256` existed."""
    _sql(repo, "ALTER TABLE versions DROP COLUMN record_sha256")
    _sql(repo, "PRAGMA user_version = 1")


def _user_version(repo):
    repo.store.close()
    with sqlite3.connect(repo.home / "registry.db") as conn:
        found = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    return found


def test_an_old_repository_loads_with_a_warning_and_reads_do_not_upgrade_it(populated):
    _as_schema_1(populated)
    reader = Repository(populated.home)
    x = torch.rand(2, 5)
    with pytest.warns(UnboundVersionWarning, match="a:1 .* saved before M bound"):
        assert torch.equal(outputs(reader.load("a@prod"), x), outputs(make_stack(seed=1), x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # once per version and process
        reader.load("a@prod")
    assert m_models("ls").exit_code == 0
    assert _user_version(populated) == 1              # reading changed nothing


def test_the_first_write_binds_old_versions_then_a_swap_is_caught(populated):
    _as_schema_1(populated)
    writer = Repository(populated.home)
    writer.save(make_stack(seed=9), "c")              # the first write by this M upgrades
    assert _user_version(populated) == 2
    assert all(r.record_sha256 == record_digest(r) for r in writer.versions("a"))
    other = writer.resolve("b").file("weights.safetensors").sha256
    _sql(writer, "UPDATE version_files SET sha256 = ? WHERE name = 'a' AND version = 1 AND "
                 "path = 'weights.safetensors'", (other,))
    with pytest.raises(MError, match="a:1 is not what was saved"):
        Repository(populated.home).load("a:1")
