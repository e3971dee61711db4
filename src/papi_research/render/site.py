"""The index site: ``<out>/index.html`` listing every briefing (province × year × language) from the manifest.

``build_site(out_dir)`` reads ``<out>/manifest.json`` (written by :mod:`papi_research.pipeline.run`) and, for
each run, the briefing record in its executed notebook (province names, region, total, rank, group, and
the kind: one of the 63, one of the 34 new provinces, or the national briefing; the notebook is the
record, so no data folder is needed), with the maps of the latest national briefing, and writes one
self-contained page (inline CSS and JavaScript, no CDN, works from ``file://``): a table sortable by
every column, filterable by name (diacritics optional), year, language and group, Vietnamese by
default with an English switch (``index.html#en`` opens it in English). Output is deterministic: rows
are sorted by year (newest first), rank and name; nothing depends on the clock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2

from papi_research import __version__
from papi_research.analysis.scores import GROUPS, group_name
from papi_research.data.files import atomic_write_text
from papi_research.data.i18n import LANGS, catalogue, fmt_num
from papi_research.data.manifest import read_manifest
from papi_research.data.text import fold
from papi_research.errors import DataValidationError
from papi_research.render.prepare import image_src

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SHOWN_STATUSES = ("ok", "cached", "failed")


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
    docx: str | None
    search: str
    # province | unit (one of the 34 since 1 July 2025: estimates) | unit34 (a year on the 34) | national
    kind: str = "province"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Site:
    """What the index shows: the rows and the catalogue words in both languages."""

    rows: list[SiteRow]
    out_dir: Path
    maps: list[dict] = field(default_factory=list)  # the national briefing's maps (:func:`site_maps`)
    skipped: list[str] = field(default_factory=list)  # briefings left out, each with why (damaged, edited)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "rows": [r.to_dict() for r in self.rows], "skipped": self.skipped}


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


def _record(out_dir: Path, run: dict, row: int) -> tuple[dict, object] | tuple[None, None]:
    """The briefing record in the run's executed notebook, and the notebook (Nones when the run left no
    notebook)."""
    import nbformat

    from papi_research.render.prepare import RenderError, read_record
    rel = (run.get("outputs") or {}).get("ipynb")
    path = None if not isinstance(rel, str) or not rel else out_dir / rel
    if path is None or not path.is_file():
        if run["status"] == "failed":
            return None, None
        raise DataValidationError(f"run {run['key']!r} has no executed notebook ({rel!r})",
                                  file=out_dir / "manifest.json", row=row, column="outputs")
    try:
        nb = nbformat.read(path, as_version=4)
        return read_record(nb, path), nb
    except (RenderError, ValueError, OSError) as exc:
        if run["status"] == "failed":
            return None, None
        raise DataValidationError(f"run {run['key']!r}: {exc}", file=out_dir / "manifest.json", row=row,
                                  column="outputs") from None


def collect(out_dir: Path | str) -> Site:
    """The index rows from the manifest (runs that succeeded, were cached, or failed) and the records
    of their executed notebooks."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)  # strict: one error naming the file, run and field
    rows: list[SiteRow] = []
    national: dict[tuple[int, str], object] = {}  # (year, lang) → executed national notebook (its maps)
    skipped: list[str] = []
    for i, record in enumerate(manifest.runs.values()):  # in the file's order: i is the run's row
        run = record.to_dict()
        if run["status"] not in SHOWN_STATUSES:
            continue
        changed = _changed_since_published(out_dir, run)
        if changed:
            skipped.append(f"{run['key']}: {changed}")
            continue
        try:
            row, nb = _row(out_dir, run, i)
        except DataValidationError as exc:  # one damaged briefing does not take the index down
            skipped.append(f"{run['key']}: {exc.reason}")
            continue
        except (KeyError, TypeError, ValueError) as exc:  # a record that is not what papi run writes
            skipped.append(f"{run['key']}: its notebook's record is damaged ({type(exc).__name__}: {exc}); "
                           f"run papi run again to repair it")
            continue
        rows.append(row)
        if row.kind == "national" and nb is not None and run["status"] != "failed":
            national[(int(run["year"]), run["lang"])] = nb
    rows.sort(key=lambda r: (-r.year, r.rank if r.rank is not None else 10**6, fold(r.name_vi), LANGS.index(r.lang)))
    return Site(rows=rows, out_dir=out_dir, maps=site_maps(national), skipped=skipped)


def _changed_since_published(out_dir: Path, run: dict) -> str | None:
    """Why a run's files cannot be shown as published: one differs from the SHA-256 the manifest recorded
    (damaged, cut short or edited by hand). None when they match, or the manifest recorded no hashes."""
    from papi_research.data.hashing import sha256_file
    hashes = run.get("hashes") or {}
    for key in ("ipynb", "html", "pdf", "docx"):
        rel = (run.get("outputs") or {}).get(key)
        if rel and hashes.get(key) and (out_dir / rel).is_file() and sha256_file(out_dir / rel) != hashes[key]:
            return f"{rel} differs from what papi run published (damaged or edited); run papi run again to repair it"
    return None


def _row(out_dir: Path, run: dict, i: int) -> tuple[SiteRow, object]:
    """One run's index row, and its executed notebook."""
    rec, nb = _record(out_dir, run, i)
    kind = RECORD_KINDS[rec["kind"]] if rec else site_kind(run)
    if rec is not None and (rec["province"]["code"] != run.get("province_code", rec["province"]["code"])
                            or int(rec["year"]) != int(run["year"]) or kind != site_kind(run)):
        raise DataValidationError(f"run {run['key']!r} does not match its notebook's record "
                                  f"({rec['province']['code']} {rec['year']}, {rec['kind']})",
                                  file=out_dir / "manifest.json", row=i, column="province_code")
    p = rec["province"] if rec else {"code": str(run.get("province_code") or ""), "slug": str(run["slug"]),
                                      "name_vi": str((run.get("parameters") or {}).get("province") or run["slug"]),
                                      "region_vi": "", "region_en": ""}
    p.setdefault("name_en", p["name_vi"])
    outputs = run.get("outputs") or {}
    total = rec["total"] if rec else None
    complete = total is not None
    return SiteRow(
        key=str(run["key"]), code=p["code"], slug=p["slug"], name_vi=p["name_vi"], name_en=p["name_en"],
        region_vi=p.get("region_vi", ""), region_en=p.get("region_en", ""), year=int(run["year"]),
        lang=run["lang"], status=run["status"], total=total,
        total_max=rec["total_max"] if complete else None,
        total_vi=fmt_num(total, "vi"), total_en=fmt_num(total, "en"),
        rank=rec["rank"] if rec else None, n_ranked=rec["n_ranked"] if complete else None,
        group=rec["group"] if rec else None,
        html=_link(out_dir, outputs.get("html")), pdf=_link(out_dir, outputs.get("pdf")),
        docx=_link(out_dir, outputs.get("docx")), search=search_text(p, kind),
        kind="unit34" if kind == "unit" and rec and rec.get("official") else kind), nb  # a year on the 34


def search_text(p: dict, kind: str) -> str:
    """What the index's search box matches a row on: the names in both languages (folded, and run together as
    the CLI accepts them: "sonla"), the slug, the code and the region in both languages."""
    names = {fold(p["name_vi"]), fold(p["name_en"])}
    words = names | {n.replace(" ", "").replace("-", "") for n in names} | {p["slug"], p["code"].lower()}
    words |= {fold(r) for r in (p.get("region_vi"), p.get("region_en")) if r}
    return " | ".join(sorted(words | ({kind} if kind != "province" else set())))


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
    for k in ("citation", "boundaries_note", "map_credit", "rd_site_maps", "rd_site_kind_unit", "rd_site_kind_unit34",
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
                              maps=site.maps)


def build_site(out_dir: Path | str) -> Path:
    """Write ``<out>/index.html`` for the briefings listed in ``<out>/manifest.json``; return its path."""
    return write_site(collect(out_dir))


def write_site(site: Site) -> Path:
    """Write ``site`` as ``<out>/index.html`` (atomically); return its path."""
    return atomic_write_text(Path(site.out_dir) / "index.html", site_html(site))


# --- the 34 new provinces, the national briefing and the maps (issue: Vietnam after the merger) ---------

RECORD_KINDS = {"province_briefing": "province", "unit_briefing": "unit", "national_briefing": "national"}
"""A record's ``kind`` → the index row's kind."""


def site_kind(run: dict) -> str:
    """What a manifest run is about (from its parameters, for runs that left no record): ``national``,
    ``unit`` (one of the 34 new provinces) or ``province``."""
    from papi_research.briefing.national import NATIONAL_CODE
    params = run.get("parameters") or {}
    if run.get("province_code") == NATIONAL_CODE and "province" not in params:
        return "national"
    if str(params.get("units")) == "2025":
        return "unit"
    return "province"


MAP_LABELS = ("fig-map", "fig-map-34")
"""The national briefing's figures the index shows: the 63 former provinces and the 34 new ones by group."""


def site_maps(national: dict[tuple[int, str], object]) -> list[dict]:
    """The maps of the latest year's national briefings (``papi run --national``), one per map and language,
    taken from their executed notebooks (image, caption and alt text as the notebook displayed them), so the
    index needs no data or boundary folder. Empty when the manifest holds no national briefing."""
    if not national:
        return []
    year = max(y for y, _ in national)
    out = []
    for label in MAP_LABELS:
        for lang in LANGS:
            nb = national.get((year, lang))
            if nb is None:
                continue
            for cell in nb.cells:
                for o in cell.get("outputs", []):
                    papi = o.get("metadata", {}).get("papi", {})
                    mime = next((m for m in ("image/png", "image/svg+xml") if m in o.get("data", {})), None)
                    if papi.get("kind") == "figure" and papi.get("label") == label and mime:
                        raw = o["data"][mime]
                        out.append({"lang": lang, "label": label, "caption": papi.get("caption") or "",
                                    "alt": papi.get("alt") or "",
                                    "src": image_src(mime, "".join(raw) if isinstance(raw, list) else raw)})
    return out
