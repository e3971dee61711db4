"""The per-province batch runner: plan → jobs → execute → render → manifest (one job = province × year × language).

``plan_run(options)`` validates every parameter before any kernel starts (unknown province →
error with suggestions, year without data → error, output paths only from ASCII slugs, the
notebook's ``parameters`` cell must declare every parameter the runner passes) and decides, per
job, whether to *run* it, take it from the *cache* (same inputs as a successful earlier run whose
files are still there) or *skip* it (no data that year: the official reason is recorded).
``execute_plan(plan)`` runs the remaining jobs on an executor (``executors``), each in a warm kernel
(``engine``), and merges every outcome into ``<out>/manifest.json``. ``run(options)`` does both.

The cache check only hashes files and reads the manifest; it starts no kernel.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import __version__
from .engine import JobResult, JobSpec, WarmSpec
from .errors import ParameterError, PapiError
from .hashing import sha256_file
from .manifest import (RunIdentity, RunRecord, companion_hash, is_cache_hit, library_versions, read_manifest,
                       record_from_notebook, run_lock, sha256_json, source_hash, update_manifest)
from .paths import find_companion_dir, project_dir

# The notebook's parameters cell holds exactly these names (contract with notebooks/province_briefing.ipynb).
NOTEBOOK_PARAMETERS = ("province", "year", "comparison_year", "lang", "target", "data_dir")
FORMATS = ("html", "pdf")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DEFAULT_NOTEBOOK = Path("notebooks") / "province_briefing.ipynb"


def default_notebook() -> Path:
    return project_dir() / DEFAULT_NOTEBOOK


def default_out() -> Path:
    return project_dir() / "reports"


@dataclass
class RunOptions:
    """What ``papi run`` was asked to do (all validated by :func:`plan_run`)."""

    provinces: tuple[str, ...] = ()
    all: bool = False
    region: str | None = None
    year: int | None = None
    langs: tuple[str, ...] = ("vi",)
    formats: tuple[str, ...] = FORMATS
    jobs: int | None = None
    force: bool = False
    out: Path | None = None
    executor: str = "local"
    scheduler: str | None = None
    renderer: str = "auto"
    notebook: Path | None = None
    data_dir: str | None = None
    target: str = "group:high_average"
    comparison_year: int | None = None
    fresh: bool = False  # one new kernel per notebook (slow; for checking the fast path)
    execution_timeout: int = 600
    units: str = "63"  # "2025": the 34 new provinces (scopes.py)
    national: bool = False  # the national briefing (scopes.py)
    map_dimension: int | None = None  # the national briefing: also map this dimension's groups


@dataclass
class PlannedJob(RunIdentity):
    """One province × year × language: what will happen to it and the manifest fields known up front."""

    action: str  # run | cached | skipped
    spec: JobSpec
    reason: str | None = None
    previous: RunRecord | None = None

    def record(self, status: str, **kw) -> RunRecord:
        return RunRecord(**self.identity(), status=status, **kw)


@dataclass
class Plan:
    """The validated jobs of one run, in order."""

    options: RunOptions
    out_dir: Path
    notebook: Path
    year: int
    jobs: list[PlannedJob]
    warm: WarmSpec
    n_workers: int

    def count(self, action: str) -> int:
        return sum(j.action == action for j in self.jobs)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "notebook": str(self.notebook), "year": self.year,
                "workers": self.n_workers,
                "jobs": [{"key": j.key, "action": j.action, "reason": j.reason, "parameters": j.parameters}
                         for j in self.jobs]}


@dataclass
class RunSummary:
    """The outcome of a run: one manifest record per job, and the totals."""

    plan: Plan
    records: list[RunRecord]
    duration_s: float
    manifest: Path
    results: list[JobResult] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C (SIGINT)
    stopped: str | None = None  # why the run stopped early (the manifest could not be written)
    running: list[str] | None = field(default_factory=list)  # jobs stopped in the middle (None: unknown)
    not_started: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("ok", "cached", "skipped", "failed")}
        for r in self.records:
            out[r.status] += 1
        return out

    @property
    def failures(self) -> list[RunRecord]:
        return [r for r in self.records if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130  # 128 + SIGINT, as shells report it
        return 1 if self.failures or self.stopped else 0

    def to_dict(self) -> dict:
        return {"duration_s": round(self.duration_s, 3), "counts": self.counts(), "manifest": str(self.manifest),
                "interrupted": self.interrupted, "stopped": self.stopped, "running": self.running,
                "not_started": self.not_started, "runs": [r.to_dict() for r in self.records]}

    def _unfinished(self) -> str:
        if self.running is None:  # the executor cannot tell running from waiting jobs (Dask)
            return f"{len(self.not_started)} not finished (stopped while running or not started)"
        parts = []
        if self.running:
            parts.append(f"{len(self.running)} stopped while running ({', '.join(self.running)})")
        if self.not_started:
            parts.append(f"{len(self.not_started)} not started")
        return "; ".join(parts) or "nothing left to do"

    def text(self) -> str:
        c = self.counts()
        if self.interrupted or self.stopped:
            ran = c["ok"] + c["failed"]
            total = ran + len(self.running or ()) + len(self.not_started)
            why = "interrupted" if self.interrupted else f"stopped: {self.stopped}"
            line = (f"papi run: {why} — {ran} of {total} finished ({c['ok']} ok, {c['failed']} failed), "
                    f"{self._unfinished()}; nothing is half-written: run the same command again to continue, "
                    f"finished briefings come from the cache.")
            return "\n".join([line] + [f"  FAILED  {r.key}: {r.error}" for r in self.failures if self.stopped])
        lines = [f"papi run: {c['ok']} ok, {c['cached']} cached, {c['skipped']} skipped, {c['failed']} failed "
                 f"in {self.duration_s:.1f} s → {self.plan.out_dir}"]
        for r in self.records:
            if r.status == "skipped":
                lines.append(f"  skipped {r.key}: {r.reason}")
        for r in self.failures:
            debug = r.outputs.get("ipynb")
            lines.append(f"  FAILED  {r.key}: {r.error}" + (f" (notebook kept: {self.plan.out_dir / debug})"
                                                              if debug else ""))
        lines.append(f"manifest: {self.manifest}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

def notebook_parameters(path: Path) -> dict[str, object]:
    """Names and default values declared in the notebook's cell tagged ``parameters``, read by
    papermill's own translator for the notebook's language (no kernel). A default that is not a
    Python literal is kept as its source text."""
    from papermill.iorw import load_notebook_node
    from papermill.translators import papermill_translators
    from papermill.utils import find_first_tagged_cell_index

    if not path.is_file():
        raise ParameterError("notebook", f"{path} does not exist")
    try:
        nb = load_notebook_node(str(path))  # as papermill reads it (every cell gets its tags list)
    except Exception as exc:  # nbformat raises several unrelated types for a broken file
        raise ParameterError("notebook", f"{path} is not a readable .ipynb file ({exc})") from None
    index = find_first_tagged_cell_index(nb, "parameters")
    if index < 0:
        raise ParameterError("notebook", f"{path} has no cell tagged 'parameters'")
    language = nb.metadata.get("kernelspec", {}).get("language") or "python"
    translator = papermill_translators.find_translator(_kernel_name(path), language)
    out: dict[str, object] = {}
    for found in translator.inspect(nb.cells[index]):
        try:
            out[found.name] = ast.literal_eval(found.default)
        except (ValueError, SyntaxError):
            out[found.name] = found.default
    return out


def _check_choice(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    for v in values:
        if v not in allowed:
            raise ParameterError(name, f"{v!r} is not one of {', '.join(allowed)}")
    return values


def parse_list(text: str | tuple | list | None) -> tuple[str, ...]:
    """'vi,en' → ('vi', 'en'); duplicates removed, order kept."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in (s.strip() for s in items):
        if item and item not in out:
            out.append(item)
    return tuple(out)


def plan_run(options: RunOptions, log: Callable[[str], None] | None = None) -> Plan:
    """Validate ``options`` and decide each job's action; raises a ``PapiError`` naming the bad parameter."""
    from .data import load
    from .i18n import check_lang
    from .scores import year_scores

    langs = options.langs or ("vi",)
    for lang in langs:
        check_lang(lang)
    formats = tuple(f for f in options.formats if f != "ipynb")
    _check_choice("format", formats, FORMATS)
    if options.renderer != "auto":
        from .registry import load as load_plugin
        load_plugin("renderer", options.renderer)  # an unknown name is an error naming the parameter
    jobs = options.jobs if options.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise ParameterError("jobs", f"must be at least 1; got {jobs}")
    from .executors import get_executor
    get_executor(options.executor, options.scheduler)  # validates name and --scheduler
    from . import scopes
    scoped = scopes.is_scoped(options)
    scopes.check_scope(options)
    expected = scopes.scope_parameters(options) if scoped else NOTEBOOK_PARAMETERS
    notebook = Path(options.notebook) if options.notebook else (scopes.scope_notebook(options) if scoped
                                                                else default_notebook())
    declared = notebook_parameters(notebook)
    unknown = [p for p in expected if p not in declared]
    if unknown:
        raise ParameterError("notebook", f"the parameters cell of {notebook} does not declare "
                                         f"{', '.join(unknown)} (expected: {', '.join(expected)})")

    data = load(options.data_dir)
    year = data.latest_year if options.year is None else data.check_year(int(options.year))
    if options.comparison_year is not None:
        data.check_year(int(options.comparison_year))
        if options.comparison_year >= year:
            raise ParameterError("comparison-year", f"must be before {year}; got {options.comparison_year}")
    given = [bool(options.provinces), options.all, options.region is not None]
    if sum(given) != 1 and not options.national:
        raise ParameterError("PROVINCE", "give provinces, or --all, or --region (exactly one of them)")
    if scoped:
        provinces = []  # the jobs come from scopes.scoped_jobs below
    elif options.all:
        provinces = list(data.provinces)
    elif options.region is not None:
        provinces = data.provinces.in_region(options.region)
    else:
        provinces = []
        for q in options.provinces:
            p = data.provinces.lookup(q)
            if p not in provinces:
                provinces.append(p)
    for p in provinces:
        if not SLUG_RE.match(p.slug):
            raise ParameterError("PROVINCE", f"slug {p.slug!r} of {p.code} is not an ASCII slug")

    out_dir = Path(options.out) if options.out else default_out()
    out_dir = out_dir.resolve()
    check_writable(out_dir)
    statuses = year_scores(data, year).provinces["status"]
    previous = read_manifest(out_dir, **({"warn": log} if log else {})) if out_dir.is_dir() else None
    base_inputs = {
        "notebook": sha256_file(notebook),
        "data": data.version,
        "companion": companion_hash(_companion(data.directory)),
        "geo": companion_hash(_geo(data.directory)),  # boundaries and 2025 membership (maps, --units 2025)
        "source": source_hash(),
        "package": __version__,
    }
    versions = library_versions()
    base_inputs["versions"] = sha256_json(versions)[:16]
    base_inputs["render"] = sha256_json({"formats": formats, "renderer": options.renderer})[:16]
    data_dir_param = str(Path(options.data_dir).resolve()) if options.data_dir else None
    nb_label = _label(notebook)

    planned: list[PlannedJob] = []
    warm_province = None
    if scoped:
        planned = scopes.scoped_jobs(options, data, year, notebook, out_dir, base_inputs, versions, data_dir_param,
                                     nb_label, formats, previous, langs)
    for p in provinces:
        status = str(statuses.get(p.code, "missing"))
        for lang in langs:
            key = f"{year}/{p.slug}/{lang}"
            params = {"province": p.name_vi, "year": year, "comparison_year": options.comparison_year,
                      "lang": lang, "target": options.target, "data_dir": data_dir_param}
            inputs = {**base_inputs, "parameters": sha256_json(params)[:16]}
            spec = JobSpec(key=key, notebook=str(notebook.resolve()), out_dir=str(out_dir),
                           rel_dir=f"{year}/{p.slug}", stem=f"{p.slug}-{year}.{lang}", parameters=params,
                           formats=formats, renderer=options.renderer, fresh=options.fresh,
                           execution_timeout=options.execution_timeout, notebook_label=nb_label)
            prev = previous.get(key) if previous else None
            if prev is None and (out_dir / spec.rel_dir / f"{spec.stem}.ipynb").is_file():
                # published, but the manifest entry was never written (e.g. the disk filled up)
                prev = record_from_notebook(out_dir, f"{spec.rel_dir}/{spec.stem}.ipynb")
            job = PlannedJob(key=key, action="run", province_code=p.code, slug=p.slug, year=year, lang=lang,
                             parameters=params, inputs=inputs, versions=versions, spec=spec, previous=prev)
            if status == "missing":
                job.action = "skipped"
                job.reason = data.gap_reason(year, p.code) or "not published (no official reason recorded)"
            elif not options.force and is_cache_hit(prev, inputs, out_dir, formats):
                job.action = "cached"
            elif warm_province is None and status == "complete":
                warm_province = p.name_vi
            planned.append(job)
    n_run = sum(j.action == "run" for j in planned)
    warm = WarmSpec(kernel_name=_kernel_name(notebook), data_dir=data_dir_param, years=(year,),
                    target=options.target, province=warm_province)
    for j in planned:
        j.spec.warm = warm
        j.spec.run_record = {"key": j.key, "province_code": j.province_code, "slug": j.slug, "year": j.year,
                             "lang": j.lang, "parameters": j.parameters, "inputs": j.inputs, "versions": j.versions}
    return Plan(options=options, out_dir=out_dir, notebook=notebook, year=year, jobs=planned, warm=warm,
                n_workers=max(1, min(jobs, n_run)) if n_run else 0)


def check_writable(out_dir: Path) -> None:
    """``out_dir`` (or, if it does not exist yet, the folder it would be made in) must take new files."""
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ParameterError("out", f"cannot write briefings into {out_dir}: {probe} is not a folder")
    import tempfile
    try:
        fd, name = tempfile.mkstemp(prefix=".papi-write-check.", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise ParameterError("out", f"cannot write briefings into {out_dir}: {probe} is not writable "
                                    f"({exc.strerror or exc})") from None


def _companion(papi_dir: Path) -> Path | None:
    try:
        return find_companion_dir(papi_dir)
    except PapiError:
        return None


def _geo(papi_dir: Path) -> Path | None:
    from .paths import find_geo_dir
    try:
        return find_geo_dir(papi_dir)
    except PapiError:
        return None


def _label(notebook: Path) -> str:
    """The notebook path recorded in executed notebooks: relative to the project when inside it."""
    try:
        return notebook.resolve().relative_to(project_dir()).as_posix()
    except ValueError:
        return notebook.name


def _kernel_name(notebook: Path) -> str:
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        return nb.get("metadata", {}).get("kernelspec", {}).get("name") or "python3"
    except (OSError, json.JSONDecodeError):
        return "python3"


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------

class _Progress:
    """A tqdm bar on a terminal, one plain line per finished job otherwise."""

    def __init__(self, total: int, enabled: bool | None, echo: Callable[[str], None]):
        self.total, self.done, self.echo = total, 0, echo
        tty = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None
        if tty and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="job", desc="papi run", file=sys.stderr, leave=False)

    def update(self, key: str, status: str, seconds: float, error: str | None = None) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{status} {key}", refresh=False)
            self.bar.update(1)
            if status == "failed":
                self.bar.write(f"FAILED {key}: {error}")
        else:
            self.echo(f"[{self.done}/{self.total}] {status:<6} {key} {seconds:.1f} s"
                      + (f" – {error}" if error else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clean_staging(out_dir: Path) -> None:
    """Remove what runs that were killed left in ``<out>/.staging`` (the caller holds the run lock,
    so no live run is using it)."""
    import shutil
    staging = out_dir / ".staging"
    if staging.is_dir():
        for p in staging.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


@contextmanager
def _private_tempdir() -> Iterator[Path]:
    """Point the temporary folder of this run and of every process it starts (workers, kernels,
    renderers, a LocalCluster) at one folder of its own, and remove that folder at the end, however
    the run ends. Folders of earlier runs whose process is gone are removed first."""
    import shutil
    import tempfile
    system = Path(tempfile.gettempdir())
    for old in system.glob("papi-b*-*"):
        found = re.fullmatch(r"papi-b(\d+)-\w{8}", old.name)
        try:
            if found and old.stat().st_uid == os.getuid() and not _alive(int(found.group(1))):
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    # short: kernels put Unix sockets in here, and their paths are limited to about 100 bytes
    root = Path(tempfile.mkdtemp(prefix=f"papi-b{os.getpid()}-", dir=system))
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(root), str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _HoldInterrupt:
    """Ctrl-C waits while a job's files and manifest entry are written (then it takes effect)."""

    def __enter__(self) -> "_HoldInterrupt":
        self.pending = False
        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            self.saved = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.pending = True

    def __exit__(self, *exc) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self.saved)


def execute_plan(plan: Plan, progress: bool | None = None,
                 echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> RunSummary:
    """Run the plan's jobs, record every job (ok/cached/skipped/failed) in the manifest, return the summary.

    Only this process writes into the output folder: the workers hand back each job's files and
    :func:`transfer.publish` writes them atomically. One run at a time per output folder
    (``manifest.run_lock``). Ctrl-C stops the workers and their kernels, keeps everything that
    finished and returns a summary with ``interrupted`` set (exit status 130); a manifest that cannot
    be written (full disk) stops the run the same way, with ``stopped`` saying why.
    """
    from .executors import DaskExecutor, Interrupted, get_executor
    from .transfer import PublishError, build_bundle, publish
    t0 = time.perf_counter()
    out_dir = plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    records: dict[str, RunRecord] = {}
    results: list[JobResult] = []
    to_run = [j for j in plan.jobs if j.action == "run"]
    by_key = {j.key: j for j in to_run}
    summary = RunSummary(plan=plan, records=[], duration_s=0.0, manifest=out_dir / "manifest.json", results=results)
    in_main = threading.current_thread() is threading.main_thread()
    saved_sigint = signal.getsignal(signal.SIGINT) if in_main else None
    with run_lock(out_dir), _private_tempdir():
        _clean_staging(out_dir)
        staging = out_dir / ".staging" / f"run-{os.getpid()}"
        for j in plan.jobs:
            if j.action == "skipped":
                records[j.key] = j.record("skipped", duration_s=0.0, reason=j.reason)
            elif j.action == "cached":
                records[j.key] = j.record("cached", duration_s=0.0, outputs=dict(j.previous.outputs),
                                          reason="inputs unchanged since the last successful run")
        bar = _Progress(len(to_run), progress, echo)
        gen = None
        try:
            if records:
                _record(out_dir, list(records.values()), echo)
            staging.mkdir(parents=True, exist_ok=True)
            if to_run:
                executor = get_executor(plan.options.executor, plan.options.scheduler)
                if isinstance(executor, DaskExecutor):
                    executor.bundle = build_bundle(plan.notebook, *_data_dirs(plan))
                gen = executor.run([j.spec for j in to_run], plan.warm, plan.n_workers)
                for res in gen:
                    job = by_key[res.key]
                    with _HoldInterrupt() as hold:
                        try:
                            outputs = publish(out_dir, staging, job.spec, res)
                        except PublishError as exc:
                            res.status, res.error, outputs = "failed", str(exc), {}
                        res.files = {}  # published: do not keep the bytes
                        if res.status == "ok":
                            rec = job.record("ok", duration_s=res.duration_s, outputs=outputs)
                        else:
                            rec = job.record("failed", duration_s=res.duration_s, outputs=outputs, error=res.error)
                        records[res.key] = rec
                        _record(out_dir, [rec], echo)
                        results.append(res)
                    bar.update(res.key, res.status, res.duration_s, res.error)
                    if hold.pending:
                        raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            if in_main:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not break the clean-up
            summary.interrupted = True
            summary.running = _stop(gen, exc, Interrupted)
        except _ManifestWriteError as exc:  # e.g. a full disk: stop, keep what finished
            if in_main:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            summary.stopped = str(exc)
            summary.running = _stop(gen, KeyboardInterrupt(), Interrupted)
        finally:
            bar.close()
            import shutil
            shutil.rmtree(staging, ignore_errors=True)
            if in_main:
                signal.signal(signal.SIGINT, saved_sigint)
    summary.not_started = [j.key for j in to_run if j.key not in records and j.key not in (summary.running or ())]
    summary.records = [records[j.key] for j in plan.jobs if j.key in records]
    summary.duration_s = time.perf_counter() - t0
    return summary


class _ManifestWriteError(Exception):
    """The manifest could not be written (the message names it and the reason)."""


def _record(out_dir: Path, records: list[RunRecord], echo: Callable[[str], None]) -> None:
    try:
        update_manifest(out_dir, records, warn=lambda m: echo(f"warning: {m}"))
    except OSError as exc:
        raise _ManifestWriteError(f"cannot write {out_dir / 'manifest.json'} ({exc.strerror or exc})") from None


def _stop(gen, exc: BaseException, interrupted: type) -> list[str] | None:
    """Stop the executor's workers; return the jobs they were running (None: the executor cannot tell)."""
    if isinstance(exc, interrupted):
        return exc.running
    if gen is None:
        return []
    try:
        gen.throw(KeyboardInterrupt)
    except interrupted as stopped:
        return stopped.running
    except (KeyboardInterrupt, StopIteration, RuntimeError):
        pass
    finally:
        gen.close()
    return []


def _data_dirs(plan: Plan) -> tuple[Path, Path | None]:
    """The PAPI data folder and the companion folder this plan's data version was computed from."""
    from .paths import find_papi_dir
    papi_dir = find_papi_dir(plan.options.data_dir)
    return papi_dir, _companion(papi_dir)


def run(options: RunOptions, progress: bool | None = None,
        echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> RunSummary:
    """Validate, plan and execute a batch run (see the module docstring)."""
    return execute_plan(plan_run(options), progress=progress, echo=echo)
