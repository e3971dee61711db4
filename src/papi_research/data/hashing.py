"""Content hashes of input files (no pandas): the data version and the cache keys share them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

YEAR_FILE = re.compile(r"^(\d{4})\.csv$")
PAPI_REQUIRED = ("provinces.csv", "labels_official_2011_2019.csv", "missing_official_status.csv")
PAPI_OPTIONAL = ("scores_2019_with_ci.csv",)  # survey intervals (papi_research.analysis.uncertainty)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_DIGESTS: dict[tuple, str] = {}


def sha256_file_cached(path: Path) -> str:
    """:func:`sha256_file`, remembered per process while the file's size, change time and inode stay the
    same (a file rewritten or replaced is hashed again)."""
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    digest = _DIGESTS.get(key)
    if digest is None:
        digest = _DIGESTS[key] = sha256_file(path)
    return digest


def files_version(files: dict[str, str]) -> str:
    """A short hash over (file name, sha256) pairs: the version of a data directory."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}:{files[name]}\n".encode())
    return h.hexdigest()[:16]


def year_files(directory: Path) -> dict[int, Path]:
    """The yearly score files of a PAPI data directory (``2011.csv`` …), by year."""
    return dict(sorted((int(m.group(1)), p) for p in directory.iterdir() if (m := YEAR_FILE.match(p.name))))


def year_file_units(path: Path, year: int) -> str:
    """The unit set a year file is on ("63" or "34"), from its first row's ``Province`` cell (the loader
    checks every row; an unreadable file counts as the set of its year)."""
    import csv
    from papi_research.data.units import cell_units, units_of_year
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            first = next(reader, None)
        cell = (first or {}).get("Province") or ""
    except (OSError, UnicodeDecodeError, csv.Error):
        cell = ""
    return cell_units(cell, year) if cell.strip() else units_of_year(year)


def files_for(directory: Path, year: int | None = None, kind: str = "province") -> dict[str, str]:
    """sha256 of each PAPI data file a briefing of ``year`` reads (``kind``: province, unit or national).

    Every briefing reads the reference files and every year file on the 63 former provinces (history,
    models and estimates span the panel); a briefing of a year on the 34 also reads that year's file and the
    earlier years on the 34. A file of another year on the 34 (a later one, a broken one) is not read, so
    adding ``2025.csv`` leaves a 2021 briefing's key as it was. ``kind`` is accepted for the record: all
    kinds read the same files today.
    """
    if kind not in ("province", "unit", "national"):
        raise ValueError(f"unknown briefing kind {kind!r}")
    files = {name: sha256_file(directory / name) for name in PAPI_REQUIRED + PAPI_OPTIONAL
             if (directory / name).is_file()}
    for y, path in year_files(directory).items():
        on34 = year_file_units(path, y) == "34"
        if not on34 or (year is not None and y <= year):
            files[path.name] = sha256_file(path)
    return files


def papi_files(directory: Path) -> dict[str, str]:
    """sha256 of every file of a PAPI data directory that ``data.load`` reads."""
    files = {p.name: sha256_file(p) for p in directory.iterdir() if YEAR_FILE.match(p.name)}
    files.update({name: sha256_file(directory / name) for name in PAPI_REQUIRED + PAPI_OPTIONAL
                  if (directory / name).is_file()})
    return files

