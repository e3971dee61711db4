"""Cache keys and the run manifest: hash a run's inputs, read, merge and atomically write ``manifest.json``.

Everything here is cheap on purpose (standard library only, no pandas, no kernels): a re-run whose
inputs are unchanged must be recognised by hashing files and comparing with the manifest alone.

A run's *inputs* are the hashes of everything that changes its output:

* ``notebook``   – the notebook file;
* ``parameters`` – the papermill parameters (canonical JSON);
* ``data``       – ``PapiData.version`` of the PAPI data directory (same formula as ``data/loader.py``);
* ``companion``  – every file of the companion-panel directory;
* ``source``     – the package's own files (code, reference tables, catalogue) and any user overrides;
* ``package``    – the package version; ``versions`` – the libraries that shape the output;
* ``commit``     – the git commit of the checkout, ``+dirty`` with uncommitted changes (:func:`code_key`);
* ``render``     – the requested formats and renderer.

The manifest's format (``<out>/manifest.json``) and its strict reader are in
:mod:`papi_research.data.manifest` (the index site reads it too). Runs are merged by ``key`` across invocations; writes go to a temporary file renamed into place,
under an exclusive lock. A damaged manifest is kept aside and rebuilt from the run records the
executed notebooks carry (``metadata.papi.run``). ``run_lock`` lets one run at a time write into an
output folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from papi_research import __version__
from papi_research.data.files import atomic_write_text
from papi_research.data.hashing import sha256_file
from papi_research.data.manifest import Manifest, RunRecord, manifest_path, parse_manifest
from papi_research.data.paths import PACKAGE_DIR, overrides
from papi_research.data.provenance import PACKAGES, code_identity, package_versions, python_version

# Libraries whose version can change a briefing (numbers, figures, HTML or PDF bytes): the record's list.
OUTPUT_LIBRARIES = PACKAGES


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of an object's canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tree_files(root: Path, skip_dirs: tuple[str, ...] = ("__pycache__", ".ipynb_checkpoints")) -> list[Path]:
    """Every file below ``root`` that counts as content (no hidden files, caches or bytecode), sorted."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.startswith("."))
        for name in filenames:
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            files.append(Path(dirpath) / name)
    return sorted(files)


def _tree_hash(root: Path) -> str:
    """Hash of every file below ``root`` (relative path and content), in sorted order."""
    h = hashlib.sha256()
    if not root.is_dir():
        h.update(b"<absent>")
        return h.hexdigest()
    for path in tree_files(root):
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
    return {"python": python_version(), "papi_research": __version__, **package_versions()}


def code_key() -> str:
    """The git commit the code runs from, with ``+dirty`` when the checkout has uncommitted changes
    (``"none"`` outside a checkout): part of the cache key, so every published record names the commit
    that made it."""
    code = code_identity()
    if not code["commit"]:
        return "none"
    return code["commit"] + ("+dirty" if code["dirty"] else "")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def read_manifest(out_dir: Path, warn: Callable[[str], None] = _warn) -> Manifest:
    """The manifest of ``out_dir`` (empty when there is none).

    A damaged manifest (cut short by a full disk or a killed writer, edited by hand) does not stop
    anything: it is kept beside as ``manifest.json.damaged-<UTC time>``, rebuilt from the executed
    notebooks on disk (:func:`records_from_disk`), and ``warn`` says so once.
    """
    from papi_research.errors import DataValidationError
    path = manifest_path(out_dir)
    if not path.is_file():
        return Manifest()
    try:
        return parse_manifest(path)
    except DataValidationError:
        with manifest_lock(out_dir):
            return _read_locked(out_dir, warn)


def _read_locked(out_dir: Path, warn: Callable[[str], None]) -> Manifest:
    """Read (or recover) the manifest; the caller holds :func:`manifest_lock`."""
    from papi_research.errors import DataValidationError
    path = manifest_path(out_dir)
    if not path.is_file():
        return Manifest()
    try:
        return parse_manifest(path)
    except DataValidationError as exc:
        base = f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        damaged, n = path.with_name(base), 1
        while damaged.exists():
            n += 1
            damaged = path.with_name(f"{base}-{n}")
        os.replace(path, damaged)
        records, unknown = records_from_disk(out_dir)
        rebuilt = Manifest({r.key: r for r in records})
        atomic_write_text(path, json.dumps(rebuilt.to_dict(), ensure_ascii=False, indent=1, allow_nan=False) + "\n")
        left = f"; {unknown} notebook(s) without a run record were left out (the next run redoes them)" if unknown else ""
        warn(f"{exc}: kept it as {damaged.name} and rebuilt {len(records)} run(s) from the executed "
             f"notebooks in {out_dir}{left}")
        return rebuilt


RUN_IN_NOTEBOOK = "papi"  # nb.metadata["papi"]["run"]: the manifest fields known before the job ran


def record_from_notebook(out_dir: Path, rel: str) -> RunRecord | None:
    """The run record an executed notebook carries (``None`` when it carries none or is unreadable, e.g.
    cut short). The files found beside it are hashed as they are now."""
    path = out_dir / rel
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        run = dict(meta[RUN_IN_NOTEBOOK]["run"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    failed = rel.endswith(".failed.ipynb")
    stem = path.name[:-len(".failed.ipynb")] if failed else path.stem
    outputs = {"failed": rel} if failed else {"ipynb": rel}
    if not failed:
        outputs.update({fmt: f"{Path(rel).parent.as_posix()}/{stem}.{fmt}" for fmt in ("html", "pdf", "docx")
                        if (path.parent / f"{stem}.{fmt}").is_file()})
    try:
        hashes = {k: sha256_file(out_dir / v) for k, v in outputs.items()}
        return RunRecord.from_dict({**run, "status": "failed" if failed else "ok", "outputs": outputs,
                                    "hashes": hashes,
                                    "error": "failed; the reason was in the damaged manifest, the kept notebook "
                                             "shows it" if failed else None,
                                    "reason": "rebuilt from the executed notebook"})
    except (OSError, TypeError, ValueError):
        return None


def records_from_disk(out_dir: Path) -> tuple[list[RunRecord], int]:
    """Run records rebuilt from ``<out>/<year>/<slug>/*.ipynb``, and how many notebooks carried none."""
    records: dict[str, RunRecord] = {}
    unknown = 0
    for path in sorted(out_dir.glob("[0-9][0-9][0-9][0-9]/*/*.ipynb")):
        rec = record_from_notebook(out_dir, path.relative_to(out_dir).as_posix())
        if rec is None:
            unknown += 1
        elif rec.key not in records or records[rec.key].status == "failed":
            records[rec.key] = rec
    return list(records.values()), unknown


RUN_LOCK_NAME = ".papi-run.lock"


@contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``<out>/.papi-run.lock`` for a whole run: a second run into the same folder stops at once
    with an error naming the folder and the run that holds it. The operating system releases the
    lock when the holder exits, however it exits (no stale locks)."""
    from papi_research.errors import RunLockedError
    out_dir.mkdir(parents=True, exist_ok=True)
    fh = open(out_dir / RUN_LOCK_NAME, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise RunLockedError(f"another papi run ({holder}) is writing into {out_dir}; wait for it to finish, "
                             f"or give this run another --out") from None
    try:
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}\n")
            fh.flush()
        except OSError:
            pass  # the note is for people; the lock holds without it (e.g. on a full disk)
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


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


def update_manifest(out_dir: Path, records: list[RunRecord], warn: Callable[[str], None] = _warn) -> Manifest:
    """Merge ``records`` into ``<out>/manifest.json`` (by key) and write it atomically; returns the result."""
    with manifest_lock(out_dir):
        merged = _read_locked(out_dir, warn).merge(records)
        atomic_write_text(manifest_path(out_dir),
                          json.dumps(merged.to_dict(), ensure_ascii=False, indent=1, allow_nan=False) + "\n")
    return merged


def is_cache_hit(previous: RunRecord | None, inputs: dict, out_dir: Path, formats: tuple[str, ...]) -> bool:
    """True when a previous successful run had exactly these inputs and its outputs are all still there,
    byte for byte as published (:func:`damaged_outputs`)."""
    if previous is None or previous.status not in ("ok", "cached") or previous.inputs != inputs:
        return False
    return not damaged_outputs(previous, out_dir, ("ipynb", *formats))


def damaged_outputs(previous: RunRecord, out_dir: Path, wanted: tuple[str, ...]) -> list[str]:
    """The outputs of ``previous`` among ``wanted`` that are missing, or differ from the SHA-256 the
    manifest recorded when they were published (damaged, cut short or edited), each with what is wrong;
    an output without a recorded hash counts as damaged (nothing vouches for it)."""
    bad = []
    for key in wanted:
        rel = previous.outputs.get(key)
        if not rel or not (out_dir / rel).is_file():
            bad.append(f"{rel or key} is missing")
        elif not previous.hashes.get(key):
            bad.append(f"{rel} has no hash in the manifest")
        elif sha256_file(out_dir / rel) != previous.hashes[key]:
            bad.append(f"{rel} differs from what was published (damaged or edited)")
    return bad


def cache_action(previous: RunRecord | None, inputs: dict, out_dir: Path, formats: tuple[str, ...],
                 force: bool) -> tuple[str, str | None]:
    """``("cached", None)`` for a cache hit, else ``("run", why)``: ``why`` says when the only reason
    to run again is that the published files are damaged or were edited (the run repairs them)."""
    if force or previous is None or previous.status not in ("ok", "cached") or previous.inputs != inputs:
        return "run", None
    bad = damaged_outputs(previous, out_dir, ("ipynb", *formats))
    if not bad:
        return "cached", None
    return "run", "run again to repair it: " + "; ".join(bad)
