"""File-path checks shared by the loaders."""
from __future__ import annotations

from pathlib import Path

from mlang.data.errors import data_error


def existing_file(path) -> Path:
    """The path, which must name an existing file."""
    file = Path(path).expanduser()
    if not file.is_file():
        what = "a directory, not a file" if file.is_dir() else "no such file"
        raise data_error(f"{file}: {what}", field=str(path))
    return file


def existing_dir(path) -> Path:
    """The path, which must name an existing directory."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise data_error(f"{folder}: no such directory", field=str(path))
    return folder
