"""Versions, what each records, aliases and their history, lineage, removal and gc."""
import json

import pytest
import torch

import mlang as m
from mlang.data import Dataset
from mlang.lang.diagnostics import MError
from mlang.registry.blobs import sha256_of

from registry_models import make_stack


def test_versions_count_up_and_record_metadata(repo, stack, tmp_path):
    data = tmp_path / "train.csv"
    data.write_text("text,label\ngood,1\nbad,0\n")
    first = repo.save(stack, "clf", metrics={"accuracy": torch.tensor(0.75), "f1": 0.7},
                      params={"lr": 2e-5, "epochs": 3}, tags={"team": "nlp"}, dataset=str(data))
    second = repo.save(make_stack(seed=3), "clf")
    assert (first, second) == ("clf:1", "clf:2")
    info = repo.describe(first)
    assert info["metrics"] == {"accuracy": 0.75, "f1": 0.7}
    assert info["params"] == {"lr": 2e-5, "epochs": 3}
    assert info["tags"] == {"team": "nlp"}
    assert info["dataset"]["sha256"] == sha256_of(data.read_bytes())
    assert info["parameter_count"] == sum(p.numel() for p in stack.parameters())
    assert info["frameworks"]["torch"] == torch.__version__
    assert info["created_at"].endswith("+00:00")
    assert info["size"] == sum(f["size"] for f in info["files"])
    for f in info["files"]:
        assert sha256_of(repo.read_file(first, f["path"])) == f["sha256"]
    assert json.loads(repo.read_file(first, "metrics.json")) == info["metrics"]


def test_dataset_objects_are_fingerprinted_by_content(repo, stack):
    rows = [{"text": "good", "label": 1}, {"text": "bad", "label": 0}]
    same = Dataset(rows, input_column="text", target_column="label")
    other = Dataset(rows[:1], input_column="text", target_column="label")
    a = repo.save(stack, "d", dataset=same)
    b = repo.save(stack, "d", dataset=Dataset(list(rows), input_column="text", target_column="label"))
    c = repo.save(stack, "d", dataset=other)
    prints = [repo.resolve(r).dataset for r in (a, b, c)]
    assert prints[0] == prints[1] != prints[2]
    assert prints[0]["rows"] == 2


def test_bad_metadata_is_refused_with_the_field(repo, stack):
    with pytest.raises(MError, match="metrics"):
        repo.save(stack, "x", metrics=[0.5])
    with pytest.raises(MError, match="params.optimizer"):
        repo.save(stack, "x", params={"optimizer": object()})
    assert repo.list_models() == []


def test_lineage_follows_parents(repo):
    base = repo.save(make_stack(seed=1), "base")
    tuned = repo.load(base)                      # a loaded model remembers where it came from
    child = repo.save(tuned, "tuned")
    grandchild = repo.save(make_stack(seed=2), "small", parent=child)
    assert repo.resolve(child).parent == "base:1"
    chain = [ref for ref, _ in repo.lineage(grandchild)]
    assert chain == ["small:1", "tuned:1", "base:1"]
    with pytest.raises(MError, match="no model named 'ghost'"):
        repo.save(make_stack(), "orphan", parent="ghost:1")


def test_alias_moves_are_audited(repo, stack):
    repo.save(stack, "m", alias="prod")
    repo.save(stack, "m")
    repo.save(stack, "m")
    repo.set_alias("m", "prod", 2)
    repo.set_alias("m", "prod", "m:3")
    repo.set_alias("m", "staging", "prod")       # another alias's version
    assert repo.aliases("m") == {"prod": 3, "staging": 3}
    history = [(h.alias, h.old_version, h.new_version) for h in repo.alias_history("m")]
    assert history == [("prod", None, 1), ("prod", 1, 2), ("prod", 2, 3), ("staging", None, 3)]
    assert [h.new_version for h in repo.alias_history("m", "staging")] == [3]
    with pytest.raises(MError, match="m has versions 1, 2, 3"):
        repo.set_alias("m", "prod", 9)
    with pytest.raises(MError, match="reserved"):
        repo.set_alias("m", "latest", 1)


def test_remove_refuses_an_aliased_version_unless_forced(repo, stack):
    repo.save(stack, "m", alias="prod")
    repo.save(stack, "m")
    with pytest.raises(MError, match="in use by alias m@prod"):
        repo.remove("m:1")
    with pytest.raises(MError, match="names a model, not one version"):
        repo.remove("m")
    moves = repo.remove("m@prod", force=True)
    assert [(mv.alias, mv.new_version) for mv in moves] == [("prod", None)]
    assert [v.version for v in repo.versions("m")] == [2]
    assert repo.aliases("m") == {}
    assert repo.save(stack, "m") == "m:3"        # numbers are never reused


def test_gc_removes_only_unreferenced_files(repo):
    keep, drop = make_stack(seed=1), make_stack(seed=2)
    repo.save(keep, "keep")
    dropped = repo.save(drop, "drop")
    dropped_weights = repo.resolve(dropped).file("weights.safetensors").sha256
    repo.remove(dropped)
    dry = repo.gc(dry_run=True)
    assert dry.removed_blobs >= 1 and repo.blobs.exists(dropped_weights)
    report = repo.gc()
    assert report.removed_blobs == dry.removed_blobs and report.freed_bytes > 0
    assert not repo.blobs.exists(dropped_weights)
    x = torch.rand(2, 5)
    assert torch.equal(repo.load("keep")(x), keep(x))
    assert repo.gc().removed_blobs == 0


def test_gc_removes_stale_temporary_files_only(repo, stack):
    repo.save(stack, "m")
    directory = next(repo.blobs.root.iterdir())
    stale = directory / ".tmp-killed-save"
    stale.write_bytes(b"partial")
    assert repo.gc(temp_grace_s=3600).removed_temp_files == 0   # might be a save in progress
    assert repo.gc(temp_grace_s=0).removed_temp_files == 1
    assert not stale.exists()


def test_an_evaluation_report_is_recorded_as_its_metrics(repo, stack):
    report = m.EvaluationReport({"accuracy": 0.8, "f1": 0.75}, task="classification", count=40)
    ref = repo.save(stack, "m", metrics=report)
    assert repo.resolve(ref).metrics == {"accuracy": 0.8, "f1": 0.75}


def test_a_model_from_another_repository_saves_without_a_parent(tmp_path, stack):
    from mlang.registry import Repository

    elsewhere = Repository(tmp_path / "elsewhere")
    elsewhere.save(make_stack(seed=1), "other")
    elsewhere.save(make_stack(seed=1), "other")
    loaded = elsewhere.load("other:2")
    here = Repository(tmp_path / "here")
    ref = here.save(loaded, "mine")
    assert here.resolve(ref).parent is None
    assert here.save(loaded, "mine") == "mine:2" and here.resolve("mine:2").parent == "mine:1"


def test_only_rank_zero_writes_under_multi_process_runs(stack, monkeypatch):
    # `m run --nproc N` runs the program on every rank: one run must make one version.
    monkeypatch.setenv("RANK", "1")
    assert m.save(stack, "ranked") is None
    monkeypatch.setenv("RANK", "0")
    assert m.save(stack, "ranked") == "ranked:1"
