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


def papi_files(directory: Path) -> dict[str, str]:
    """sha256 of every file of a PAPI data directory that ``data.load`` reads."""
    files = {p.name: sha256_file(p) for p in directory.iterdir() if YEAR_FILE.match(p.name)}
    files.update({name: sha256_file(directory / name) for name in PAPI_REQUIRED + PAPI_OPTIONAL
                  if (directory / name).is_file()})
    return files

