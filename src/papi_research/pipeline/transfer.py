"""What crosses between the client and the workers: job inputs by content, job outputs as bytes.

Workers on a cluster may share no disk with the client. A job therefore carries what it needs
(:class:`InputBundle`: the notebook, the PAPI data files and the companion files, each set with the
hash the cache key uses) and the worker checks those hashes, and that its own code and libraries are
the client's, before it runs anything (:func:`materialise`). The worker hands back the executed
notebook and the rendered files as bytes (``JobResult.files``); only the client writes into the
output folder (:func:`publish`): each file goes to a staging folder first and is renamed into place
when every file of the job was written, so a job publishes all of its files or none of them; and a
briefing is replaced only by a complete new set, never deleted by a job that failed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from papi_research.data.files import write_temporary
from papi_research.data.hashing import files_version, papi_files, sha256_file
from papi_research.errors import PapiError
from papi_research.pipeline.jobs import JobResult, JobSpec
from papi_research.pipeline.manifest import companion_hash, library_versions, sha256_json, source_hash, tree_files


class InputMismatchError(PapiError):
    """What a worker received, or the worker itself, does not match what the client hashed."""


@dataclass(eq=False)
class InputBundle:
    """The files one run's jobs need, by content, with the hashes the client computed."""

    notebook_name: str
    notebook: bytes
    notebook_sha256: str
    papi: dict[str, bytes]  # file name → content (the files of the data version)
    companion: dict[str, bytes]  # relative path → content (empty when there is no companion folder)
    data_version: str
    companion_hash: str
    source: str  # the package's code, reference tables and wording (manifest.source_hash)
    versions: str  # the libraries that shape a briefing (manifest.library_versions)

    @property
    def digest(self) -> str:
        return sha256_json([self.notebook_sha256, self.data_version, self.companion_hash])[:16]

    def size(self) -> int:
        return len(self.notebook) + sum(map(len, self.papi.values())) + sum(map(len, self.companion.values()))


def versions_hash() -> str:
    return sha256_json(library_versions())[:16]


def build_bundle(notebook: Path, papi_dir: Path, companion_dir: Path | None) -> InputBundle:
    """Read the notebook, the data version's files and the companion files into one bundle."""
    names = sorted(papi_files(papi_dir))
    companion = ({p.relative_to(companion_dir).as_posix(): p.read_bytes() for p in tree_files(companion_dir)}
                 if companion_dir is not None and companion_dir.is_dir() else {})
    nb = notebook.read_bytes()
    return InputBundle(notebook_name=notebook.name, notebook=nb, notebook_sha256=hashlib.sha256(nb).hexdigest(),
                       papi={n: (papi_dir / n).read_bytes() for n in names}, companion=companion,
                       data_version=files_version(papi_files(papi_dir)),
                       companion_hash=companion_hash(companion_dir if companion else None),
                       source=source_hash(), versions=versions_hash())


@dataclass
class LocalInputs:
    """Where a worker put a bundle: the notebook, the PAPI data folder and the companion folder."""

    notebook: Path
    papi_dir: Path
    companion_dir: Path  # may not exist (the client had no companion data either)
    root: Path = field(repr=False)


_MATERIALISED: dict[str, LocalInputs] = {}


def check_worker(bundle: InputBundle) -> None:
    """The worker's package and libraries must be the client's, or its briefings would not be the ones the cache key names."""
    here = source_hash()
    if here != bundle.source:
        raise InputMismatchError(f"this worker's papi_research code, reference tables or wording differ from the "
                                 f"client's (source hash {here}, client {bundle.source}); install the same "
                                 f"version on the workers")
    if versions_hash() != bundle.versions:
        raise InputMismatchError("this worker's Python or library versions differ from the client's "
                                 f"({sorted(library_versions().items())}); install the same versions on the workers")


def materialise(bundle: InputBundle) -> LocalInputs:
    """Write the bundle under this process's temporary folder (once per process) and check every hash."""
    done = _MATERIALISED.get(bundle.digest)
    if done is not None and done.root.is_dir():
        return done
    check_worker(bundle)
    root = Path(tempfile.mkdtemp(prefix=f"papi-inputs-{bundle.digest}-"))
    papi_dir, companion_dir = root / "papi", root / "companion"
    papi_dir.mkdir()
    for name, content in bundle.papi.items():
        _write_inside(papi_dir, name, content)
    for rel, content in bundle.companion.items():
        _write_inside(companion_dir, rel, content)
    notebook = root / "notebook" / bundle.notebook_name
    _write_inside(notebook.parent, bundle.notebook_name, bundle.notebook)
    got = {"notebook": sha256_file(notebook), "data": files_version(papi_files(papi_dir)),
           "companion": companion_hash(companion_dir if companion_dir.is_dir() else None)}
    want = {"notebook": bundle.notebook_sha256, "data": bundle.data_version, "companion": bundle.companion_hash}
    bad = [k for k in want if got[k] != want[k]]
    if bad:
        shutil.rmtree(root, ignore_errors=True)
        raise InputMismatchError("the files the worker received do not match the client's hashes: "
                                 + ", ".join(f"{k} {got[k]} (client {want[k]})" for k in bad))
    local = _MATERIALISED[bundle.digest] = LocalInputs(notebook=notebook, papi_dir=papi_dir,
                                                       companion_dir=companion_dir, root=root)
    return local


def _write_inside(folder: Path, rel: str, content: bytes) -> None:
    target = (folder / rel).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise InputMismatchError(f"refusing to write {rel!r} outside {folder}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def forget_materialised() -> None:
    """Remove every bundle this process wrote (a worker shutting down)."""
    for local in _MATERIALISED.values():
        shutil.rmtree(local.root, ignore_errors=True)
    _MATERIALISED.clear()


def localise(spec: JobSpec, local: LocalInputs) -> JobSpec:
    """The job as this worker runs it: its own copy of the notebook and data, found through the
    kernel's environment (``data_dir`` is left to the default search, so no worker path enters the
    executed notebook)."""
    env = (("PAPI_DATA_DIR", str(local.papi_dir)), ("PAPI_COMPANION_DIR", str(local.companion_dir)))
    return replace(spec, notebook=str(local.notebook), parameters={**spec.parameters, "data_dir": None},
                   warm=replace(spec.warm, data_dir=None, env=env))


# ---------------------------------------------------------------------------------------------
# The client side: publishing a job's files.
# ---------------------------------------------------------------------------------------------

class PublishError(PapiError):
    """A job's files could not be written into the output folder (nothing of the job was published)."""


@dataclass
class Published:
    """What :func:`publish` did: the outputs the manifest records (paths relative to the output folder),
    the SHA-256 of each (so a later run can tell a damaged or edited file), and the files it removed."""

    outputs: dict[str, str]
    hashes: dict[str, str]
    removed: list[str] = field(default_factory=list)


def publish(out_dir: Path, staging: Path, spec: JobSpec, result: JobResult,
            current: dict[str, str] | None = None) -> Published:
    """Write ``result.files`` into ``<out>/<year>/<slug>/``: publish by replacement, never by deletion.

    A successful job replaces the notebook and each requested format with its new files and removes a
    stale ``.failed.ipynb``. A format not asked for this time is kept while it is *current* (``current``:
    format → its SHA-256, the formats the caller knows were made from the same inputs) and removed
    otherwise, and the removal is reported in ``removed``. A failed job leaves the last good set of files
    in place and writes its executed notebook (when there is one) beside them as
    ``<stem>.failed.ipynb``; its outputs name both (``failed`` and the kept ``ipynb``, ``html``, ``pdf``).
    Files are written into ``staging`` first (same file system) and renamed into place once all were
    written; a write error (disk full, permissions) raises :class:`PublishError` and leaves the output
    folder as it was.
    """
    final_dir = out_dir / spec.rel_dir
    ok = result.status == "ok"
    names = ({fmt: f"{spec.stem}.{fmt}" for fmt in ("ipynb", *spec.formats)} if ok
             else {"failed.ipynb": f"{spec.stem}.failed.ipynb"} if "failed.ipynb" in result.files else {})
    staged: dict[str, Path] = {}
    try:
        for key, name in names.items():
            staged[key] = write_temporary(staging, name, result.files[key])
        final_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise PublishError(f"could not write {spec.key} into {final_dir}: {exc.strerror or exc}; "
                           f"nothing of it was published") from None
    for key, name in names.items():  # notebook first: a briefing never appears without its record
        os.replace(staged[key], final_dir / name)
    rel = spec.rel_dir
    if ok:
        outputs = spec.outputs()
        hashes = {fmt: hashlib.sha256(result.files[fmt]).hexdigest() for fmt in outputs}
        removed = []
        for fmt in sorted({"html", "pdf", "docx"} - set(spec.formats)):
            path = final_dir / f"{spec.stem}.{fmt}"
            if not path.is_file():
                continue
            if current and fmt in current and sha256_file(path) == current[fmt]:
                outputs[fmt], hashes[fmt] = f"{rel}/{path.name}", current[fmt]  # still current: kept
            else:
                path.unlink(missing_ok=True)
                removed.append(f"{rel}/{path.name}")
        (final_dir / f"{spec.stem}.failed.ipynb").unlink(missing_ok=True)
        return Published(outputs=outputs, hashes=hashes, removed=removed)
    outputs, hashes = {}, {}
    if names:
        outputs["failed"] = f"{rel}/{names['failed.ipynb']}"
        hashes["failed"] = hashlib.sha256(result.files["failed.ipynb"]).hexdigest()
    for fmt in ("ipynb", "html", "pdf", "docx"):  # the last good set stays published
        if (final_dir / f"{spec.stem}.{fmt}").is_file():
            outputs[fmt] = f"{rel}/{spec.stem}.{fmt}"
            if current and fmt in current:
                hashes[fmt] = current[fmt]
    return Published(outputs=outputs, hashes=hashes)
