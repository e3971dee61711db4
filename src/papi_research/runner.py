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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from .engine import JobResult, JobSpec, WarmSpec
from .errors import ParameterError, PapiError
from .hashing import sha256_file
from .manifest import (RunRecord, companion_hash, is_cache_hit, library_versions, read_manifest,
                       sha256_json, source_hash, update_manifest)
from .paths import find_companion_dir, project_dir

# The notebook's parameters cell holds exactly these names (contract with notebooks/province_briefing.ipynb).
NOTEBOOK_PARAMETERS = ("province", "year", "comparison_year", "lang", "target", "data_dir")
FORMATS = ("html", "pdf")
RENDERERS = ("auto", "quarto", "builtin")
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
class PlannedJob:
    """One province × year × language: what will happen to it and the manifest fields known up front."""

    key: str
    action: str  # run | cached | skipped
    province_code: str
    slug: str
    year: int
    lang: str
    parameters: dict
    inputs: dict
    versions: dict
    spec: JobSpec
    reason: str | None = None
    previous: RunRecord | None = None

    def record(self, status: str, **kw) -> RunRecord:
        return RunRecord(key=self.key, province_code=self.province_code, slug=self.slug, year=self.year,
                         lang=self.lang, parameters=self.parameters, inputs=self.inputs,
                         versions=self.versions, status=status, **kw)


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
        return 1 if self.failures else 0

    def to_dict(self) -> dict:
        return {"duration_s": round(self.duration_s, 3), "counts": self.counts(), "manifest": str(self.manifest),
                "runs": [r.to_dict() for r in self.records]}

    def text(self) -> str:
        c = self.counts()
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
    """Names and default values assigned in the notebook's cell tagged ``parameters`` (no kernel, no papermill)."""
    if not path.is_file():
        raise ParameterError("notebook", f"{path} does not exist")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError("notebook", f"{path} is not a readable .ipynb file ({exc})") from None
    cells = [c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ParameterError("notebook", f"{path} has no cell tagged 'parameters'")
    source = cells[0].get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError("notebook", f"parameters cell of {path} is not valid Python (line {exc.lineno})") from None
    out: dict[str, object] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = ast.literal_eval(node.value) if node.value is not None else None
                except ValueError:
                    out[t.id] = ast.unparse(node.value)
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


def renderer_available() -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec("papi_research.render") is not None
    except (ImportError, ValueError):
        return False


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
    if options.renderer not in RENDERERS:
        raise ParameterError("renderer", f"must be one of {', '.join(RENDERERS)}; got {options.renderer!r}")
    if formats and not renderer_available():
        raise ParameterError("format", "briefings need papi_research.render, which is not installed; "
                                       "use --format ipynb to keep only the executed notebooks")
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
    statuses = year_scores(data, year).provinces["status"]
    previous = read_manifest(out_dir) if out_dir.is_dir() else None
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
    return Plan(options=options, out_dir=out_dir, notebook=notebook, year=year, jobs=planned, warm=warm,
                n_workers=max(1, min(jobs, n_run)) if n_run else 0)


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


def _clean_staging(out_dir: Path, older_than_s: float = 6 * 3600) -> None:
    """Remove staging folders that interrupted runs left behind (never a live run's)."""
    import shutil
    staging = out_dir / ".staging"
    if not staging.is_dir():
        return
    now = time.time()
    for p in staging.iterdir():
        try:
            if now - p.stat().st_mtime > older_than_s:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
        except OSError:
            pass


def execute_plan(plan: Plan, progress: bool | None = None,
                 echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> RunSummary:
    """Run the plan's jobs, record every job (ok/cached/skipped/failed) in the manifest, return the summary."""
    from .executors import get_executor
    t0 = time.perf_counter()
    out_dir = plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean_staging(out_dir)
    records: dict[str, RunRecord] = {}
    for j in plan.jobs:
        if j.action == "skipped":
            records[j.key] = j.record("skipped", duration_s=0.0, reason=j.reason)
        elif j.action == "cached":
            records[j.key] = j.record("cached", duration_s=0.0, outputs=dict(j.previous.outputs),
                                      reason="inputs unchanged since the last successful run")
    update_manifest(out_dir, [records[k] for k in records])
    to_run = [j for j in plan.jobs if j.action == "run"]
    by_key = {j.key: j for j in to_run}
    results: list[JobResult] = []
    bar = _Progress(len(to_run), progress, echo)
    try:
        if to_run:
            executor = get_executor(plan.options.executor, plan.options.scheduler)
            for res in executor.run([j.spec for j in to_run], plan.warm, plan.n_workers):
                job = by_key[res.key]
                if res.status == "ok":
                    rec = job.record("ok", duration_s=res.duration_s, outputs=res.outputs)
                else:
                    kept = f"{job.spec.rel_dir}/{job.spec.stem}.failed.ipynb"
                    outputs = {"ipynb": kept} if (out_dir / kept).is_file() else {}
                    rec = job.record("failed", duration_s=res.duration_s, outputs=outputs, error=res.error)
                records[res.key] = rec
                results.append(res)
                update_manifest(out_dir, [rec])
                bar.update(res.key, res.status, res.duration_s, res.error)
    finally:
        bar.close()
    ordered = [records[j.key] for j in plan.jobs if j.key in records]
    return RunSummary(plan=plan, records=ordered, duration_s=time.perf_counter() - t0,
                      manifest=out_dir / "manifest.json", results=results)


def run(options: RunOptions, progress: bool | None = None,
        echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> RunSummary:
    """Validate, plan and execute a batch run (see the module docstring)."""
    return execute_plan(plan_run(options), progress=progress, echo=echo)
