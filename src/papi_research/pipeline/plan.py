"""Plan a batch run: validate every parameter and decide each job's action before any kernel starts.

One job is one province × year × language. ``plan_run(options)`` checks the options (unknown
province → error with suggestions, year without data → error, output paths only from ASCII slugs,
the notebook's ``parameters`` cell must declare every parameter the runner passes) and decides, per
job, whether to *run* it, take it from the *cache* (same inputs as a successful earlier run whose
files are still there) or *skip* it (no data that year: the official reason is recorded). The cache
check only hashes files and reads the manifest; it starts no kernel. :mod:`papi_research.pipeline.run`
executes the plan.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from papi_research import __version__
from papi_research.data.hashing import sha256_file
from papi_research.data.manifest import RunIdentity, RunRecord
from papi_research.data.paths import find_companion_dir, project_dir
from papi_research.errors import PapiError, ParameterError
from papi_research.pipeline.jobs import JobSpec
from papi_research.pipeline.kernel import WarmSpec
from papi_research.pipeline.manifest import (cache_action, code_key, companion_hash, library_versions, read_manifest,
                                             record_from_notebook, sha256_json, source_hash)

# The notebook's parameters cell holds exactly these names (contract with notebooks/province_briefing.ipynb).
NOTEBOOK_PARAMETERS = ("province", "year", "comparison_year", "lang", "target", "data_dir")
FORMATS = ("html", "pdf", "docx")
DEFAULT_FORMATS = ("html", "pdf")
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
    formats: tuple[str, ...] = DEFAULT_FORMATS
    jobs: int | None = None
    force: bool = False
    out: Path | None = None
    executor: str = "local"
    scheduler: str | None = None
    renderer: str = "auto"
    notebook: Path | None = None
    data_dir: str | None = None
    target: str | None = None  # None: each province's default (the next group up; the best group keeps it)
    targets: Path | None = None  # a CSV of per-province targets (province,target[,year]; targets_file.py)
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
    renderer: dict | None = None  # render.renderer_info of the renderer that draws its html/pdf

    def record(self, status: str, **kw) -> RunRecord:
        if self.renderer is not None and status != "skipped":
            kw.setdefault("renderer", self.renderer)
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


def notebook_parameters(path: Path) -> dict[str, object]:
    """Names and default values declared in the notebook's cell tagged ``parameters`` (no kernel). A default
    that is not a Python literal is kept as its source text.

    A Python notebook's cell is read with :mod:`ast` (top-level assignments, annotated or not); any other
    language goes through papermill's translator for it. Python notebooks are read without papermill
    because importing it imports nbformat and jsonschema, whose IRI format checker compiles its grammars
    on import (about a second, python-jsonschema/jsonschema#1428): a ``papi run`` whose briefings are all
    cached never needs them."""
    if not path.is_file():
        raise ParameterError("notebook", f"{path} does not exist")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        tags = [(c.get("metadata") or {}).get("tags") or [] for c in cells]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ParameterError("notebook", f"{path} is not a readable .ipynb file ({exc})") from None
    index = next((i for i, t in enumerate(tags) if "parameters" in t), -1)
    if index < 0:
        raise ParameterError("notebook", f"{path} has no cell tagged 'parameters'")
    language = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("language") or "python"
    if language == "python":
        source = cells[index].get("source", "")
        return _python_parameters("".join(source) if isinstance(source, list) else str(source), path)
    from papermill.iorw import load_notebook_node
    from papermill.translators import papermill_translators
    nb = load_notebook_node(str(path))  # as papermill reads it (every cell gets its tags list)
    translator = papermill_translators.find_translator(_kernel_name(path), language)
    out: dict[str, object] = {}
    for found in translator.inspect(nb.cells[index]):
        try:
            out[found.name] = ast.literal_eval(found.default)
        except (ValueError, SyntaxError):
            out[found.name] = found.default
    return out


def _python_parameters(source: str, path: Path) -> dict[str, object]:
    """``name = value`` and ``name: type = value`` at the top level of a parameters cell, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError("notebook", f"{path}: the parameters cell is not valid Python "
                                         f"(line {exc.lineno}: {exc.msg})") from None
    out: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names, value = [t.id for t in node.targets if isinstance(t, ast.Name)], node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            names, value = [node.target.id], node.value
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            default = ast.get_source_segment(source, value)
        for name in names:
            out[name] = default
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
    from papi_research.analysis.scores import year_scores
    from papi_research.data.i18n import check_lang
    from papi_research.data.loader import load

    langs = options.langs or ("vi",)
    for lang in langs:
        check_lang(lang)
    formats = tuple(f for f in options.formats if f != "ipynb")
    _check_choice("format", formats, FORMATS)
    if options.renderer != "auto":
        from papi_research.registry import load as load_plugin
        load_plugin("renderer", options.renderer)  # an unknown name is an error naming the parameter
    from papi_research.render import resolve_renderer
    # the renderer that will draw the briefings: `auto` is Quarto on a machine with Quarto, the builtin
    # renderer elsewhere, and briefings of one are not cache hits for the other; an unavailable renderer
    # is an error now, not a failure per job
    renderer = resolve_renderer(options.renderer) if formats else None
    jobs = options.jobs if options.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise ParameterError("jobs", f"must be at least 1; got {jobs}")
    from papi_research.pipeline.executors import get_executor
    get_executor(options.executor, options.scheduler)  # validates name and --scheduler
    from papi_research.pipeline import scopes
    data = load(options.data_dir)
    if options.year is not None and int(options.year) in data.years34 and not options.national:
        options = replace(options, units="2025")  # a year on the 34: its briefings are the 34's
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

    for y, line in data.warnings():  # a bad year file blocks only its year (asking for it is the error)
        if y != options.year:
            if log is not None:
                log(f"warning: {line}")
            else:
                print(f"warning: {line}", file=sys.stderr)
    year = data.latest_year if options.year is None else int(options.year)
    if year not in data.years34:
        data.check_year(year)
    if options.comparison_year is not None:
        data.check_year(int(options.comparison_year))
        if options.comparison_year >= year:
            raise ParameterError("comparison-year", f"must be before {year}; got {options.comparison_year}")
    targets = _targets(options, data, year, scoped)
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
    if year in data.years34:  # the 34's own figures
        from papi_research.analysis.units import unit_year_scores
        ys = unit_year_scores(data, year).ys
    else:
        ys = year_scores(data, year)
    statuses = ys.provinces["status"]
    if not options.national and options.target is not None:  # as each job's notebook will read it (the 34
        from papi_research.analysis.targets import parse_target   # rank among themselves)
        if options.units == "2025":
            from papi_research.analysis.units import unit_year_scores
            parse_target(options.target, unit_year_scores(data, year).ys)
        else:
            parse_target(options.target, ys)
    previous = read_manifest(out_dir, **({"warn": log} if log else {})) if out_dir.is_dir() else None
    base_inputs = {
        "notebook": sha256_file(notebook),
        "data": data.version_for(year, "national" if options.national else
                                 "unit" if options.units == "2025" else "province"),  # the files it reads
        "companion": companion_hash(_companion(data.directory)),
        "geo": companion_hash(_geo(data.directory)),  # boundaries and 2025 membership (maps, --units 2025)
        "source": source_hash(),
        "package": __version__,
        "commit": code_key(),  # the record names the commit: a briefing of another commit is run again
    }
    versions = library_versions()
    base_inputs["versions"] = sha256_json(versions)[:16]
    base_inputs["render"] = sha256_json({"formats": formats, "renderer": renderer})[:16]
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
                      "lang": lang, "target": targets.get(p.code, options.target), "data_dir": data_dir_param}
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
            else:
                job.action, job.reason = cache_action(prev, inputs, out_dir, formats, options.force)
            if job.action == "run" and warm_province is None and status == "complete":
                warm_province = p.name_vi
            planned.append(job)
    n_run = sum(j.action == "run" for j in planned)
    warm = WarmSpec(kernel_name=_kernel_name(notebook), data_dir=data_dir_param, years=(year,),
                    target=options.target or "group:high_average", province=warm_province)
    from papi_research.render import renderer_info
    drawn_by = renderer_info(renderer) if renderer else None
    for j in planned:
        j.renderer = drawn_by
        j.spec.warm = warm
        j.spec.run_record = {"key": j.key, "province_code": j.province_code, "slug": j.slug, "year": j.year,
                             "lang": j.lang, "parameters": j.parameters, "inputs": j.inputs, "versions": j.versions}
    return Plan(options=options, out_dir=out_dir, notebook=notebook, year=year, jobs=planned, warm=warm,
                n_workers=max(1, min(jobs, n_run)) if n_run else 0)


def _targets(options: RunOptions, data, year: int, scoped: bool) -> dict[str, str]:
    """The per-province targets of ``--targets`` (province code → target), checked row by row, before
    anything runs (``--target`` itself is checked in :func:`plan_run`, against the league it applies to)."""
    if options.targets is None:
        return {}
    if scoped:
        raise ParameterError("targets", "per-province targets apply to the 63 provinces (not with --units or "
                                        "--national); use --target")
    from papi_research.pipeline.targets_file import read_targets
    return read_targets(options.targets, data, year)


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
    from papi_research.data.paths import find_geo_dir
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
