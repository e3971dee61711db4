"""Batch jobs beyond the 63 provinces: the 34 new provinces (``papi run --units 2025``) and the national
briefing (``papi run --national``).

``plan.plan_run`` validates the shared options (languages, formats, renderer, workers, year, output
folder) and hashes the inputs; for these two scopes it asks :func:`scoped_jobs` for the jobs instead of
one job per former province. Outputs:

* a new province: ``<out>/<year>/units-2025/<slug>/<slug>-<year>.<lang>.{ipynb,html,pdf}`` from
  ``notebooks/unit_briefing.ipynb`` (parameters :data:`UNIT_PARAMETERS`); key ``<year>/units-2025/<slug>/<lang>``;
* the country: ``<out>/<year>/national/vietnam-<year>.<lang>.{ipynb,html,pdf}`` from
  ``notebooks/national_overview.ipynb`` (parameters :data:`NATIONAL_PARAMETERS`); key ``<year>/national/<lang>``.

A new province without an estimate that year is still run: its briefing says why there is none and
shows its former provinces' results and its latest estimate.
"""

from __future__ import annotations

import re
from pathlib import Path

from papi_research.briefing.national import NATIONAL_CODE, NATIONAL_SLUG
from papi_research.data.paths import project_dir
from papi_research.errors import ParameterError
from papi_research.pipeline.jobs import JobSpec

UNIT_PARAMETERS = ("province", "year", "lang", "target", "data_dir", "units")
NATIONAL_PARAMETERS = ("year", "lang", "data_dir", "map_dimension")
UNIT_NOTEBOOK = Path("notebooks") / "unit_briefing.ipynb"
NATIONAL_NOTEBOOK = Path("notebooks") / "national_overview.ipynb"
UNITS_DIR = "units-2025"
NATIONAL_DIR = "national"
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def is_scoped(options) -> bool:
    """Whether a run is for the 34 new provinces or the country rather than the 63 former provinces."""
    return bool(getattr(options, "national", False)) or str(getattr(options, "units", "63")) == "2025"


def check_scope(options) -> None:
    """--national takes no province, --units 2025 takes names of new provinces, --all or --region."""
    if options.national:
        if options.provinces or options.all or options.region is not None:
            raise ParameterError("national", "the national briefing takes no PROVINCE, --all or --region")
        if str(options.units) == "2025":
            raise ParameterError("national", "give --national or --units 2025, not both "
                                             "(the national briefing maps both the 63 and the 34)")
        if options.comparison_year is not None:
            raise ParameterError("comparison-year", "the national briefing compares with the previous year "
                                                    "of the same regime; --comparison-year is not used")
    elif getattr(options, "map_dimension", None) is not None:
        raise ParameterError("map-dimension", "only the national briefing (--national) draws a dimension map")


def scope_parameters(options) -> tuple[str, ...]:
    return NATIONAL_PARAMETERS if options.national else UNIT_PARAMETERS


def scope_notebook(options) -> Path:
    return project_dir() / (NATIONAL_NOTEBOOK if options.national else UNIT_NOTEBOOK)


def _units(options, data, year: int):
    """The new provinces the options name (all of them, a region's, or the given names)."""
    from papi_research.analysis.units import unit_year_scores
    from papi_research.data.text import lookup_key
    uy = unit_year_scores(data, year)
    if options.all:
        return list(uy.units)
    if options.region is not None:
        key = lookup_key(options.region)
        prov = uy.ys.provinces
        chosen = [u for u in uy.units if key in (lookup_key(prov.at[u.code, "region_en"]),
                                                 lookup_key(prov.at[u.code, "region_vi"]))]
        if not chosen:
            data.provinces.in_region(options.region)  # raises with the region names on offer
        return chosen
    out = []
    for q in options.provinces:
        u = uy.units.lookup(q, data.provinces)
        if u not in out:
            out.append(u)
    return out


def scoped_jobs(options, data, year: int, notebook: Path, out_dir: Path, base_inputs: dict, versions: dict,
                data_dir_param: str | None, nb_label: str, formats: tuple[str, ...], previous, langs) -> list:
    """The planned jobs of a ``--units 2025`` or ``--national`` run (cache decided as for provinces)."""
    from papi_research.pipeline.manifest import cache_action, sha256_json
    from papi_research.pipeline.plan import PlannedJob

    if options.national:
        targets = [(NATIONAL_CODE, NATIONAL_SLUG, NATIONAL_DIR, None)]
        n_dims = len(data.codebook.structure(year))  # the year's dimensions (on the 63 or the 34)
        if options.map_dimension is not None and not 1 <= int(options.map_dimension) <= n_dims:
            raise ParameterError("map-dimension", f"{year} has dimensions 1–{n_dims}; got {options.map_dimension}")
    else:
        targets = [(u.code, u.slug, f"{UNITS_DIR}/{u.slug}", u) for u in _units(options, data, year)]
    planned = []
    for code, slug, sub, unit in targets:
        if not _SLUG.match(slug):
            raise ParameterError("PROVINCE", f"slug {slug!r} of {code} is not an ASCII slug")
        for lang in langs:
            key = f"{year}/{sub}/{lang}"
            if unit is None:
                params = {"year": year, "lang": lang, "data_dir": data_dir_param,
                          "map_dimension": options.map_dimension}
            else:
                params = {"province": unit.name_vi, "year": year, "lang": lang, "target": options.target,
                          "data_dir": data_dir_param, "units": "2025"}
            inputs = {**base_inputs, "parameters": sha256_json(params)[:16]}
            spec = JobSpec(key=key, notebook=str(notebook.resolve()), out_dir=str(out_dir), rel_dir=f"{year}/{sub}",
                           stem=f"{slug}-{year}.{lang}", parameters=params, formats=formats,
                           renderer=options.renderer, fresh=options.fresh,
                           execution_timeout=options.execution_timeout, notebook_label=nb_label)
            prev = previous.get(key) if previous else None
            job = PlannedJob(key=key, action="run", province_code=code, slug=slug, year=year, lang=lang,
                             parameters=params, inputs=inputs, versions=versions, spec=spec, previous=prev)
            job.action, job.reason = cache_action(prev, inputs, out_dir, formats, options.force)
            planned.append(job)
    return planned
