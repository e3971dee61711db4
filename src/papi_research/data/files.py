"""Files: reading a CSV table whose columns are checked, and the project's one atomic writer.

:func:`read_rows` reads a CSV as text (no type guessing) and refuses, by name, what is not a
comma-separated UTF-8 table with the required columns and as many fields in each row as in its header;
:func:`read_table` is the same as a DataFrame; :func:`number_cell` reads one score. Writing: a reader never sees half of a file.

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


SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"))


def read_rows(path: Path, required: tuple[str, ...] | list[str] = (),
              whole_lines: bool = False) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The CSV at ``path`` as its header and its rows (line number, column → text), every cell a string.

    What cannot be read as the comma-separated UTF-8 table it must be is one
    :class:`~papi_research.errors.DataValidationError` naming the file, the line and what to do: another
    encoding (cp1258, UTF-16), another separator (semicolons, tabs), a missing required column (by name),
    a column named twice, a row with more or fewer fields than the header (a row cut short, a stray
    comma). A UTF-8 byte-order mark (Excel's "CSV UTF-8") is read and dropped. Empty lines are skipped.
    With ``whole_lines`` the last row must end with a line end: a file cut in the middle of its last
    number would otherwise read as another number.
    """
    import codecs
    import csv
    import io
    if not path.is_file():
        raise DataValidationError("required file is missing", file=path)
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataValidationError("the file is UTF-16 text; save it as CSV in UTF-8", file=path)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataValidationError(f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read; "
                                  f"another encoding such as cp1258 or Windows-1252?); save it as CSV in UTF-8",
                                  file=path, row=line) from None
    if not text.strip():
        raise DataValidationError("the file is empty (no header, no rows)", file=path)
    if whole_lines and not text.endswith(("\n", "\r")):
        raise DataValidationError("the file ends in the middle of a row (no line end after its last row): was it "
                                  "cut short? Restore it, or end its last row with a line break",
                                  file=path, row=text.count("\n") + 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        rows = []
        for row in reader:
            if not row:
                continue
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise DataValidationError(f"not a readable CSV file ({exc})", file=path, row=reader.line_num) from None
    if len(header) == 1:
        for sep, name in SEPARATORS:
            if sep in header[0]:
                raise DataValidationError(f"the columns are separated by {name} ({sep!r}), not commas; save the "
                                          f"file as comma-separated CSV", file=path, row=1)
    seen = set()
    for col in header:
        if col in seen:
            raise DataValidationError("column named twice in the header", file=path, row=1, column=col)
        seen.add(col)
    for col in required:
        if col not in seen:
            raise DataValidationError(f"required column {col!r} is missing", file=path, row=1, column=col)
    out = []
    for line, row in rows:
        if len(row) != len(header):
            what = "fewer" if len(row) < len(header) else "more"
            raise DataValidationError(f"{len(row)} fields where the header has {len(header)} ({what} than the "
                                      f"header: a row cut short, or a stray comma)", file=path, row=line)
        out.append((line, dict(zip(header, row))))
    return header, out


def read_table(path: Path, required: tuple[str, ...] | list[str], whole_lines: bool = False):
    """The CSV at ``path`` as a pandas DataFrame of strings (empty cells stay ``""``), read and checked by
    :func:`read_rows` (encoding, separator, required columns, fields per row)."""
    import pandas as pd
    header, rows = read_rows(path, required, whole_lines)
    return pd.DataFrame([r for _, r in rows], columns=header, dtype=object).astype(str) if rows else \
        pd.DataFrame(columns=header, dtype=str)


MISSING_MARKERS = frozenset({"na", "n/a", "n.a.", "nan", "null", "none", "-", "–", "—", "--", ".", "..", "?", "x",
                             "#n/a", "missing"})


def number_cell(cell: str, path: Path, row: int, column: str, allow_empty: bool = False) -> float:
    """A CSV cell as a finite number (``""``/``NA`` is NaN when ``allow_empty``); anything else is a
    :class:`~papi_research.errors.DataValidationError` naming the file, row, column and value."""
    import math
    cell = cell.strip()
    if cell == "" or (allow_empty and cell.upper() == "NA"):
        if allow_empty:
            return math.nan
        raise DataValidationError("empty value", file=path, row=row, column=column, value=cell)
    if cell.lower() in MISSING_MARKERS:
        where = "leave the cell empty" if not allow_empty else "leave the cell empty (or write NA)"
        raise DataValidationError(f"missing marker — {where} where no value was published", file=path,
                                  row=row, column=column, value=cell)
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
