"""Writing files so that a reader never sees half of one: the project's one atomic writer.

A file is written to a temporary name in its own folder, flushed to disk, given the mode any new
file gets under the process's umask (``mkstemp`` alone gives 0600) and renamed into place; on any
error the temporary file is removed and the old file, if any, stays as it was.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def file_mode() -> int:
    """The mode a newly created file gets under this process's umask (read once: it is process-wide)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_temporary(folder: Path, name: str, data: bytes, suffix: str = ".part") -> Path:
    """``data`` in a new hidden file of ``folder`` (named after ``name``), flushed to disk, with the
    usual mode; the caller renames it into place or removes it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Replace ``path`` with ``data`` all at once (its folder is created if missing); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temporary(path.parent, path.name, data, suffix=".tmp")
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))
