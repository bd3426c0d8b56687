"""`m models …` through the Typer app the lead mounts as `m models`."""
import json

import pytest
from typer.testing import CliRunner

from mlang.registry.cli import app

from registry_models import make_stack

runner = CliRunner()


def m_models(*args):
    return runner.invoke(app, list(args))


@pytest.fixture
def populated(repo):
    repo.save(make_stack(seed=1), "sentiment", alias="prod", metrics={"accuracy": 0.8},
              params={"lr": 1e-4})
    repo.save(make_stack(seed=2, width=16), "sentiment", metrics={"accuracy": 0.85},
              params={"lr": 2e-4}, parent="sentiment:1")
    repo.save(make_stack(seed=3), "vision")
    return repo


def test_ls_lists_models_and_versions(populated):
    result = m_models("ls")
    assert result.exit_code == 0
    assert "sentiment" in result.output and "vision" in result.output and "@prod→1" in result.output
    result = m_models("ls", "sentiment", "--json")
    rows = json.loads(result.output)
    assert [r["ref"] for r in rows] == ["sentiment:1", "sentiment:2"]
    assert rows[0]["aliases"] == ["prod"] and rows[1]["parent"] == "sentiment:1"


def test_ls_of_an_empty_repository():
    result = m_models("ls")
    assert result.exit_code == 0 and "no models" in result.output
    assert json.loads(m_models("ls", "--json").output) == []


def test_show_gives_metadata_lineage_and_metrics(populated):
    result = m_models("show", "sentiment")
    assert result.exit_code == 0
    assert "sentiment:2 ← sentiment:1" in result.output
    assert "accuracy" in result.output and "weights.safetensors" in result.output
    info = json.loads(m_models("show", "sentiment@prod", "--json").output)
    assert info["ref"] == "sentiment:1" and info["aliases"] == ["prod"]


def test_diff_compares_hyperparameters_metrics_and_size(populated):
    result = m_models("diff", "sentiment:1", "sentiment:2")
    assert result.exit_code == 0
    assert "hyperparameters" in result.output and "parameter_count" in result.output
    diff = json.loads(m_models("diff", "sentiment:1", "sentiment:2", "--json").output)
    params = {row["key"]: row for row in diff["params"]}
    assert params["lr"]["a"] == 1e-4 and params["lr"]["b"] == 2e-4 and params["lr"]["changed"]
    model = {row["key"]: row for row in diff["model"]}
    assert model["parameter_count"]["b"] > model["parameter_count"]["a"]
    assert model["size"]["changed"]


def test_alias_moves_and_history_records_them(populated):
    result = m_models("alias", "sentiment@prod", "2")
    assert result.exit_code == 0 and "sentiment:1 → sentiment:2" in result.output
    history = json.loads(m_models("history", "sentiment", "--json").output)
    assert [(h["old_version"], h["new_version"]) for h in history] == [(None, 1), (1, 2)]
    bad = m_models("alias", "sentiment", "2")
    assert bad.exit_code == 1 and "names no alias" in bad.output


def test_rm_refuses_aliased_version_unless_forced(populated):
    refused = m_models("rm", "sentiment:1")
    assert refused.exit_code == 1 and "in use by alias sentiment@prod" in refused.output
    forced = m_models("rm", "sentiment:1", "--force", "--json")
    assert forced.exit_code == 0
    assert json.loads(forced.output) == {"removed": "sentiment:1", "aliases_removed": ["prod"]}
    assert m_models("show", "sentiment:1").exit_code == 1


def test_gc_frees_removed_versions(populated):
    m_models("rm", "vision:1")
    report = json.loads(m_models("gc", "--json").output)
    assert report["removed_blobs"] >= 1 and report["freed_bytes"] > 0
    assert "removed 0 unreferenced" in m_models("gc").output


def test_verify_reports_damage(populated):
    assert "match their sha256" in m_models("verify", "vision").output
    entry = populated.resolve("vision").file("weights.safetensors")
    path = populated.blobs.path(entry.sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    result = m_models("verify", "vision")
    assert result.exit_code == 1
    assert "weights.safetensors" in result.output and entry.sha256 in result.output


def test_bad_reference_is_a_diagnostic_not_a_traceback(populated):
    result = m_models("show", "../x")
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
    assert "models: sentiment, vision" in result.output
