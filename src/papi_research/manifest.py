"""Cache keys and the run manifest: hash a run's inputs, read, merge and atomically write ``manifest.json``.

Everything here is cheap on purpose (standard library only, no pandas, no kernels): a re-run whose
inputs are unchanged must be recognised by hashing files and comparing with the manifest alone.

A run's *inputs* are the hashes of everything that changes its output:

* ``notebook``   – the notebook file;
* ``parameters`` – the papermill parameters (canonical JSON);
* ``data``       – ``PapiData.version`` of the PAPI data directory (same formula as ``data.py``);
* ``companion``  – every file of the companion-panel directory;
* ``source``     – the package's own files (code, reference tables, catalogue) and any user overrides;
* ``package``    – the package version; ``versions`` – the libraries that shape the output;
* ``render``     – the requested formats and renderer.

The manifest (``<out>/manifest.json``)::

    {"schema": 1, "runs": [{"key": "<year>/<slug>/<lang>", "province_code", "slug", "year", "lang",
      "parameters", "inputs", "versions", "status": "ok|cached|skipped|failed", "duration_s",
      "outputs": {"ipynb", "html", "pdf"} (relative to <out>), "error", "reason"}]}

Runs are merged by ``key`` across invocations; writes go to a temporary file renamed into place,
under an exclusive lock so that two runs sharing an output folder do not lose each other's entries.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from . import __version__
from .hashing import sha256_file
from .paths import PACKAGE_DIR, overrides, project_dir

SCHEMA = 1
MANIFEST_NAME = "manifest.json"
STATUSES = ("ok", "cached", "skipped", "failed")
# Libraries whose version can change a briefing (numbers, figures, HTML or PDF bytes).
OUTPUT_LIBRARIES = ("numpy", "pandas", "statsmodels", "matplotlib", "seaborn", "papermill", "nbclient",
                    "nbconvert", "ipykernel", "typst", "jinja2")
def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of an object's canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tree_hash(root: Path, skip_dirs: tuple[str, ...] = ("__pycache__", ".ipynb_checkpoints")) -> str:
    """Hash of every file below ``root`` (relative path and content), in sorted order."""
    h = hashlib.sha256()
    if not root.is_dir():
        h.update(b"<absent>")
        return h.hexdigest()
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.startswith("."))
        for name in filenames:
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            files.append(Path(dirpath) / name)
    for path in sorted(files):
        h.update(f"{path.relative_to(root).as_posix()}:{sha256_file(path)}\n".encode())
    return h.hexdigest()


def companion_hash(directory: Path | None) -> str:
    """Hash of every companion-panel file (``"absent"`` when there is no companion directory)."""
    return "absent" if directory is None else _tree_hash(directory)[:16]


def source_hash() -> str:
    """Hash of the package's files (code, reference tables, catalogue) and of the user's overrides
    of them: code or wording changes bust the cache."""
    h = hashlib.sha256()
    h.update(f"package:{_tree_hash(PACKAGE_DIR)}\n".encode())
    for path in overrides():
        h.update(f"override:{path.parent.name}/{path.name}:{sha256_file(path)}\n".encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of Python, the package and the libraries that shape a briefing (read from metadata, no imports)."""
    out = {"python": ".".join(map(str, sys.version_info[:3])), "papi_research": __version__}
    for name in OUTPUT_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


@dataclass
class RunRecord:
    """One run of the notebook for one province, year and language, as the manifest stores it."""

    key: str
    province_code: str
    slug: str
    year: int
    lang: str
    parameters: dict
    inputs: dict
    versions: dict
    status: str
    duration_s: float | None = None
    outputs: dict = field(default_factory=dict)
    error: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"run status must be one of {STATUSES}; got {self.status!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunRecord":
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Manifest:
    """Every run recorded in ``<out>/manifest.json``, by key."""

    runs: dict[str, RunRecord] = field(default_factory=dict)

    def get(self, key: str) -> RunRecord | None:
        return self.runs.get(key)

    def merge(self, records: list[RunRecord]) -> "Manifest":
        """A new manifest with ``records`` replacing the runs of the same key."""
        runs = dict(self.runs)
        runs.update({r.key: r for r in records})
        return Manifest(runs)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "runs": [self.runs[k].to_dict() for k in sorted(self.runs)]}


def manifest_path(out_dir: Path) -> Path:
    return Path(out_dir) / MANIFEST_NAME


def read_manifest(out_dir: Path) -> Manifest:
    """The manifest of ``out_dir`` (empty when there is none; an unreadable one is an error naming the file)."""
    from .errors import DataValidationError
    path = manifest_path(out_dir)
    if not path.is_file():
        return Manifest()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"manifest is not valid JSON ({exc.msg})", file=path, row=exc.lineno) from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA or not isinstance(raw.get("runs"), list):
        raise DataValidationError(f"manifest must be an object with schema {SCHEMA} and a list of runs", file=path)
    runs = {}
    for i, entry in enumerate(raw["runs"]):
        try:
            rec = RunRecord.from_dict(entry)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"manifest run {i} is malformed: {exc}", file=path) from None
        runs[rec.key] = rec
    return Manifest(runs)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def manifest_lock(out_dir: Path) -> Iterator[None]:
    """An exclusive lock on ``<out>/.manifest.lock`` for read-merge-write."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".manifest.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def update_manifest(out_dir: Path, records: list[RunRecord]) -> Manifest:
    """Merge ``records`` into ``<out>/manifest.json`` (by key) and write it atomically; returns the result."""
    with manifest_lock(out_dir):
        merged = read_manifest(out_dir).merge(records)
        atomic_write_text(manifest_path(out_dir),
                          json.dumps(merged.to_dict(), ensure_ascii=False, indent=1, allow_nan=False) + "\n")
    return merged


def is_cache_hit(previous: RunRecord | None, inputs: dict, out_dir: Path, formats: tuple[str, ...]) -> bool:
    """True when a previous successful run had exactly these inputs and its outputs are all still there."""
    if previous is None or previous.status not in ("ok", "cached") or previous.inputs != inputs:
        return False
    wanted = ("ipynb", *formats)
    return all(previous.outputs.get(k) and (out_dir / previous.outputs[k]).is_file() for k in wanted)
