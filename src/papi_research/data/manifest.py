"""The run manifest's format: what ``<out>/manifest.json`` holds, and its strict reader.

The batch run writes it (:mod:`papi_research.pipeline.manifest`: hashing inputs, locks, merging,
recovering a damaged one); the index site reads it (:mod:`papi_research.render.site`). Both go
through :func:`parse_manifest`, so they agree on what a valid manifest is::

    {"schema": 1, "runs": [{"key": "<year>/<slug>/<lang>", "province_code", "slug", "year", "lang",
      "parameters", "inputs", "versions", "status": "ok|cached|skipped|failed", "duration_s",
      "outputs": {"ipynb", "html", "pdf", "docx", "failed"} (relative to <out>), "hashes": {output key → SHA-256},
      "error", "reason", "renderer": {"name", "version"} (null when nothing was rendered)}]}

A failed run's ``outputs`` name its kept executed notebook (``failed``: ``<stem>.failed.ipynb``) and the
last good briefing, which stays published (``ipynb``, ``html``, ``pdf``, ``docx``, when there is one).
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from papi_research.data.i18n import LANGS
from papi_research.errors import DataNotFoundError, DataValidationError

SCHEMA = 1
MANIFEST_NAME = "manifest.json"
STATUSES = ("ok", "cached", "skipped", "failed")


@dataclass
class RunIdentity:
    """What names a run and what it ran on: known before it starts (the runner's plan) and kept after
    (the manifest's record)."""

    key: str
    province_code: str
    slug: str
    year: int
    lang: str
    parameters: dict
    inputs: dict
    versions: dict

    def identity(self) -> dict:
        """These fields as keyword arguments (to make a :class:`RunRecord` from a plan)."""
        return {f.name: getattr(self, f.name) for f in fields(RunIdentity)}


@dataclass
class RunRecord(RunIdentity):
    """One run of the notebook for one province, year and language, as the manifest stores it."""

    status: str
    duration_s: float | None = None
    outputs: dict = field(default_factory=dict)
    error: str | None = None
    reason: str | None = None
    hashes: dict = field(default_factory=dict)  # output key → SHA-256 of the file as published
    renderer: dict | None = None  # {"name", "version"} of the renderer that drew html/pdf (Quarto's version)

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


REQUIRED = tuple(f.name for f in fields(RunRecord) if f.default is MISSING and f.default_factory is MISSING)
"""Fields every run of a manifest has (the others have defaults)."""


def manifest_path(out_dir: Path) -> Path:
    return Path(out_dir) / MANIFEST_NAME


def parse_manifest(path: Path) -> Manifest:
    """The manifest in ``path``, checked; a damaged one is one ``DataValidationError`` naming the file and,
    where it can, the line (invalid JSON) or the run (``row``: its index in ``runs``) and field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"manifest is not valid JSON ({exc.msg})", file=path, row=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"manifest is not UTF-8 text ({exc.reason})", file=path) from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise DataValidationError(f"manifest schema must be {SCHEMA}", file=path, column="schema",
                                  value=raw.get("schema") if isinstance(raw, dict) else None)
    if not isinstance(raw.get("runs"), list):
        raise DataValidationError("manifest 'runs' must be a list", file=path, column="runs")
    runs = {}
    for i, entry in enumerate(raw["runs"]):
        if not isinstance(entry, dict):
            raise DataValidationError("each run must be an object", file=path, row=i)
        for key in REQUIRED:
            if key not in entry:
                raise DataValidationError(f"run {entry.get('key', i)!r} has no {key!r}", file=path, row=i, column=key)
        for key, kind in (("year", int), ("parameters", dict), ("inputs", dict), ("versions", dict),
                          ("outputs", dict), ("hashes", dict)):
            if key in entry and not isinstance(entry[key], kind):
                raise DataValidationError(f"run {entry['key']!r}: {key!r} must be a {kind.__name__}", file=path,
                                          row=i, column=key, value=entry[key])
        if entry["lang"] not in LANGS:
            raise DataValidationError(f"run language must be one of {', '.join(LANGS)}", file=path, row=i,
                                      column="lang", value=entry["lang"])
        if entry["status"] not in STATUSES:
            raise DataValidationError(f"run status must be one of {', '.join(STATUSES)}", file=path, row=i,
                                      column="status", value=entry["status"])
        rec = RunRecord.from_dict(entry)
        runs[rec.key] = rec
    return Manifest(runs)


def read_manifest(out_dir: Path) -> Manifest:
    """``<out>/manifest.json``, strictly (:func:`parse_manifest`); a missing folder or manifest is a
    ``DataNotFoundError`` saying how to make one. (A batch run recovers a damaged manifest instead:
    :func:`papi_research.pipeline.manifest.read_manifest`.)"""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise DataNotFoundError(f"output folder {out_dir} does not exist: run `papi run ... --out {out_dir}` first")
    path = manifest_path(out_dir)
    if not path.is_file():
        raise DataNotFoundError(f"no {MANIFEST_NAME} in {out_dir}: run `papi run ... --out {out_dir}` first")
    return parse_manifest(path)
