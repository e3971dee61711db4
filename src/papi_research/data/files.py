"""Files: reading a CSV table whose columns are checked, and the project's one atomic writer.

:func:`read_table` reads a CSV as text (no type guessing) and names the file and the first missing
column when one is missing. Writing: a reader never sees half of a file.

A file is written to a temporary name in its own folder, flushed to disk, given the mode any new
file gets under the process's umask (``mkstemp`` alone gives 0600) and renamed into place; on any
error the temporary file is removed and the old file, if any, stays as it was.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from papi_research.errors import DataValidationError


def read_table(path: Path, required: tuple[str, ...] | list[str]):
    """The CSV at ``path`` as a pandas DataFrame of strings (empty cells stay ``""``); a missing file or
    a missing required column is a :class:`~papi_research.errors.DataValidationError` naming it."""
    import pandas as pd
    if not path.is_file():
        raise DataValidationError("required file is missing", file=path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in required:
        if col not in df.columns:
            raise DataValidationError(f"required column {col!r} is missing", file=path, row=1, column=col)
    return df


def number_cell(cell: str, path: Path, row: int, column: str, allow_empty: bool = False) -> float:
    """A CSV cell as a finite number (``""``/``NA`` is NaN when ``allow_empty``); anything else is a
    :class:`~papi_research.errors.DataValidationError` naming the file, row, column and value."""
    import math
    cell = cell.strip()
    if cell == "" or cell.upper() == "NA":
        if allow_empty:
            return math.nan
        raise DataValidationError("empty value", file=path, row=row, column=column, value=cell)
    try:
        v = float(cell)
    except ValueError:
        raise DataValidationError("not a number", file=path, row=row, column=column, value=cell) from None
    if not math.isfinite(v):
        raise DataValidationError("not a finite number", file=path, row=row, column=column, value=cell)
    return v


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
