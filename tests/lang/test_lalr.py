"""Lark's parse tables are cached only in a folder this user alone can write (the cache is a pickle)."""
import os
import stat

from mlang.lang.lalr import _table_cache


def test_tables_are_cached_in_a_private_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = _table_cache("start: NAME")
    assert os.path.dirname(path) == str(tmp_path / "mlang")
    assert stat.S_IMODE((tmp_path / "mlang").stat().st_mode) & 0o077 == 0
    assert _table_cache("start: NAME") == path != _table_cache("start: NUMBER")


def test_a_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "mlang").mkdir(mode=0o777)
    os.chmod(tmp_path / "mlang", 0o777)
    assert _table_cache("start: NAME") is False
