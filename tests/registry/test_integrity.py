"""Changed or missing artifact bytes refuse to load, naming the file and both checksums."""
import os

import pytest
import torch

from mlang.lang.diagnostics import MError
from mlang.registry import Repository
from mlang.registry.blobs import sha256_of

from registry_models import outputs


def _damage(path, offset: int = -1) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_changed_weights_refuse_to_load_with_both_checksums(repo, stack):
    ref = repo.save(stack, "m")
    entry = repo.resolve(ref).file("weights.safetensors")
    path = repo.blobs.path(entry.sha256)
    _damage(path)
    actual = sha256_of(path.read_bytes())
    with pytest.raises(MError) as caught:
        repo.load(ref)
    text = str(caught.value)
    assert "'weights.safetensors' of m:1 was modified" in text
    assert f"expected sha256 {entry.sha256}" in text
    assert f"found sha256 {actual}" in text


def test_changed_config_refuses_to_load(repo, stack):
    ref = repo.save(stack, "m")
    entry = repo.resolve(ref).file("config.json")
    _damage(repo.blobs.path(entry.sha256), offset=0)
    with pytest.raises(MError, match="'config.json' of m:1 was modified"):
        repo.load(ref)
    with pytest.raises(MError, match="config.json"):
        repo.verify(ref)


def test_missing_file_is_reported(repo, stack):
    ref = repo.save(stack, "m")
    entry = repo.resolve(ref).file("weights.safetensors")
    repo.blobs.path(entry.sha256).unlink()
    with pytest.raises(MError, match="'weights.safetensors' of m:1 is missing"):
        repo.load(ref)


def test_saving_again_repairs_a_damaged_file(repo, stack):
    ref = repo.save(stack, "m")
    _damage(repo.blobs.path(repo.resolve(ref).file("weights.safetensors").sha256))
    repo.save(stack, "m")
    x = torch.rand(3, 5)
    assert torch.equal(outputs(repo.load(ref), x), outputs(stack, x))


def test_stored_files_are_read_only(repo, stack):
    ref = repo.save(stack, "m")
    for entry in repo.resolve(ref).files:
        assert not os.access(repo.blobs.path(entry.sha256), os.W_OK) or os.geteuid() == 0
        assert repo.blobs.path(entry.sha256).stat().st_mode & 0o222 == 0


def test_a_damaged_metadata_database_is_a_clear_error(m_home, stack):
    m_home.mkdir(parents=True)
    (m_home / "registry.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(MError, match="cannot be used"):
        Repository(m_home).save(stack, "m")


def test_an_unusable_home_is_a_clear_error(tmp_path, stack):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(MError, match="Not a directory") as caught:
        Repository(blocker / "home").save(stack, "m")
    assert caught.value.field == "repository"
    with pytest.raises(MError, match="cannot be opened: a part of that path is a file") as caught:
        Repository(blocker / "home").list_models()      # a read creates nothing, so says why
    assert caught.value.field == "repository"
