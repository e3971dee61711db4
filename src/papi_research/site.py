"""The index site: ``<out>/index.html`` listing every briefing (province × year × language) from the manifest.

``build_site(out_dir)`` reads ``<out>/manifest.json`` (written by :mod:`papi_research.runner`), looks up
each run's total, rank and group with :func:`papi_research.scores.scorecard`, and writes one
self-contained page (inline CSS and JavaScript, no CDN, works from ``file://``): a table sortable by
every column, filterable by name (diacritics optional), year, language and group, Vietnamese by
default with an English switch (``index.html#en`` opens it in English). Output is deterministic: rows
are sorted by year (newest first), rank and name; nothing depends on the clock.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from . import __version__
from .errors import DataNotFoundError, DataValidationError, PapiError
from .i18n import LANGS, catalogue, fmt_num, t
from .scores import GROUPS, group_name, scorecard, year_scores
from .text import fold

TEMPLATE_DIR = Path(__file__).resolve().parent / "render" / "templates"
SHOWN_STATUSES = ("ok", "cached", "failed")
REQUIRED_RUN_KEYS = ("key", "slug", "year", "lang", "status", "outputs")


@dataclass(frozen=True)
class SiteRow:
    """One briefing in the index: a province, a year, a language, its links and its scores."""

    key: str
    code: str
    slug: str
    name_vi: str
    name_en: str
    region_vi: str
    region_en: str
    year: int
    lang: str
    status: str
    total: float | None
    total_max: int | None
    total_vi: str
    total_en: str
    rank: int | None
    n_ranked: int | None
    group: str | None
    html: str | None
    pdf: str | None
    search: str
    kind: str = "province"  # province | unit (one of the 34 since 1 July 2025: estimates) | national

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Site:
    """What the index shows: the rows and the catalogue words in both languages."""

    rows: list[SiteRow]
    out_dir: Path
    data_dir: str | None = None  # the PAPI data folder of the runs (for the maps)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "rows": [r.to_dict() for r in self.rows]}


def read_manifest(out_dir: Path) -> dict:
    """``<out>/manifest.json``, checked: schema 1 and a list of runs with the keys the index needs."""
    path = out_dir / "manifest.json"
    if not path.is_file():
        raise DataNotFoundError(f"no manifest.json in {out_dir}: run `papi run ... --out {out_dir}` first")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError(f"manifest is not valid JSON: {exc.msg}", file=path, row=exc.lineno) from None
    if not isinstance(manifest, dict) or manifest.get("schema") != 1:
        raise DataValidationError("manifest schema must be 1", file=path, column="schema",
                                  value=manifest.get("schema") if isinstance(manifest, dict) else None)
    runs = manifest.get("runs")
    if not isinstance(runs, list):
        raise DataValidationError("manifest 'runs' must be a list", file=path, column="runs")
    for i, run in enumerate(runs):
        if not isinstance(run, dict):
            raise DataValidationError("each run must be an object", file=path, row=i)
        for key in REQUIRED_RUN_KEYS:
            if key not in run:
                raise DataValidationError(f"run {run.get('key', i)!r} has no {key!r}", file=path, row=i, column=key)
        if run["lang"] not in LANGS:
            raise DataValidationError("run language must be vi or en", file=path, row=i, column="lang",
                                      value=run["lang"])
    return manifest


def _link(out_dir: Path, rel: object) -> str | None:
    """A relative link to an output that exists inside ``out_dir`` (None otherwise)."""
    if not isinstance(rel, str) or not rel:
        return None
    target = (out_dir / rel).resolve()
    try:
        target.relative_to(out_dir.resolve())
    except ValueError:
        return None
    return Path(rel).as_posix() if target.is_file() else None


def collect(out_dir: Path | str) -> Site:
    """The index rows from the manifest (runs that succeeded, were cached, or failed)."""
    from .data import load_cached
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    rows: list[SiteRow] = []
    for i, run in enumerate(manifest["runs"]):
        if run["status"] not in SHOWN_STATUSES:
            continue
        params = run.get("parameters") or {}
        data = load_cached(None if params.get("data_dir") in (None, "") else str(params["data_dir"]))
        kind = site_kind(run)
        try:
            if kind != "province":
                rows.append(scoped_row(data, run, kind, out_dir))
                continue
            card = scorecard(data, run.get("province_code") or run["slug"], int(run["year"]))
        except (PapiError, TypeError, ValueError) as exc:
            raise DataValidationError(f"run {run['key']!r} does not name a province-year: {exc}",
                                      file=out_dir / "manifest.json", row=i, column="province_code") from None
        p = card.province
        outputs = run.get("outputs") or {}
        total = card.total
        rows.append(SiteRow(
            key=str(run["key"]), code=p.code, slug=p.slug, name_vi=p.name_vi, name_en=p.name_en,
            region_vi=p.region_vi, region_en=p.region_en, year=card.year, lang=run["lang"], status=run["status"],
            total=total, total_max=card.total_max if total is not None else None,
            total_vi=fmt_num(total, "vi"), total_en=fmt_num(total, "en"),
            rank=card.rank, n_ranked=card.ys.n_ranked if card.rank is not None else None, group=card.group,
            html=_link(out_dir, outputs.get("html")), pdf=_link(out_dir, outputs.get("pdf")),
            search=" ".join(sorted({fold(p.name_vi), fold(p.name_en), p.slug, p.code.lower()}))))
    rows.sort(key=lambda r: (-r.year, r.rank if r.rank is not None else 10**6, fold(r.name_vi), LANGS.index(r.lang)))
    dirs = sorted({str((r.get("parameters") or {}).get("data_dir") or "") for r in manifest["runs"]})
    return Site(rows=rows, out_dir=out_dir, data_dir=dirs[-1] or None if dirs else None)


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fold"] = fold
    return env.get_template("site.html.j2")


def words() -> dict[str, dict[str, str]]:
    """The site's words (``rd_site_*`` keys and shared ones) in both languages."""
    cat = catalogue()
    out = {k: v for k, v in cat.items() if k.startswith("rd_site_")}
    for k in ("citation", "boundaries_note", "map_credit", "rd_site_maps", "rd_site_kind_unit",
              "rd_site_kind_national"):
        out[k] = cat[k]
    out["groups"] = {g: {lang: group_name(g, lang) for lang in LANGS} for g in GROUPS}
    return out


def site_html(site: Site) -> str:
    years = sorted({r.year for r in site.rows}, reverse=True)
    span = None if not years else (str(years[0]) if len(years) == 1 else f"{years[-1]}–{years[0]}")
    w = words()
    return _template().render(rows=site.rows, years=years, groups=GROUPS, w=w, version=__version__,
                              citation_year=span, words_json=json.dumps(w, ensure_ascii=False, sort_keys=True),
                              maps=site_maps(site))


def build_site(out_dir: Path | str) -> Path:
    """Write ``<out>/index.html`` for the briefings listed in ``<out>/manifest.json``; return its path."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise DataNotFoundError(f"output folder {out_dir} does not exist: run `papi run ... --out {out_dir}` first")
    text = site_html(collect(out_dir))
    target = out_dir / "index.html"
    fd, tmp = tempfile.mkstemp(prefix=".index.html.", dir=out_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --- the 34 new provinces, the national briefing and the maps (issue: Vietnam after the merger) ---------

def site_kind(run: dict) -> str:
    """What a manifest run is about: ``national``, ``unit`` (one of the 34 new provinces) or ``province``."""
    from .scopes import NATIONAL_CODE
    params = run.get("parameters") or {}
    if run.get("province_code") == NATIONAL_CODE and "province" not in params:
        return "national"
    if str(params.get("units")) == "2025":
        return "unit"
    return "province"


def scoped_row(data, run: dict, kind: str, out_dir: Path) -> SiteRow:
    """The index row of a national briefing or of a new province's briefing (its estimate, ranks among the 34)."""
    from .render.scoped import national_province
    from .units import unit_scorecard
    outputs = run.get("outputs") or {}
    year = data.check_year(int(run["year"]))
    if kind == "national":
        p, total, rank, n_ranked, group, total_max = national_province(), None, None, None, None, None
    else:
        card = unit_scorecard(data, (run.get("parameters") or {}).get("province") or run["slug"], year)
        p, total, rank, group = card.province, card.total, card.rank, card.group
        n_ranked = card.ys.n_ranked if rank is not None else None
        total_max = card.total_max if total is not None else None
    return SiteRow(key=str(run["key"]), code=p.code, slug=p.slug, name_vi=p.name_vi, name_en=p.name_en,
                   region_vi=p.region_vi, region_en=p.region_en, year=year, lang=run["lang"], status=run["status"],
                   total=total, total_max=total_max, total_vi=fmt_num(total, "vi"), total_en=fmt_num(total, "en"),
                   rank=rank, n_ranked=n_ranked, group=group, html=_link(out_dir, outputs.get("html")),
                   pdf=_link(out_dir, outputs.get("pdf")),
                   search=" ".join(sorted({fold(p.name_vi), fold(p.name_en), p.slug, p.code.lower(), kind})), kind=kind)


def site_maps(site: Site) -> list[dict]:
    """Choropleths of the latest year on the index (63 and 34, each language) as PNG data; an empty list
    when there are no rows, and one entry with an ``error`` when the boundary folder cannot be found."""
    import base64

    from . import figures, maps
    from .data import load_cached
    from .units import unit_year_scores
    if not site.rows:
        return []
    year = max(r.year for r in site.rows)
    data = load_cached(site.data_dir)
    out = []
    try:
        for units, cap, alt in (("63", "map_cap_national", "map_alt_national"),
                                ("2025", "map_cap_national_34", "map_alt_national_34")):
            ys = year_scores(data, year) if units == "63" else unit_year_scores(data, year).ys
            for lang in LANGS:
                png = figures.to_png(maps.choropleth(maps.group_frame(ys), units=units, lang=lang,
                                                     papi_dir=data.directory))
                out.append({"lang": lang, "units": units, "caption": t(cap, lang, year=year),
                            "alt": t(alt, lang, year=year), "src": "data:image/png;base64,"
                            + base64.b64encode(png).decode("ascii")})
    except PapiError as exc:
        return [{"error": str(exc).splitlines()[0]}]
    return out
