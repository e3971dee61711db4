"""The national briefing: the country's league table, groups, maps, movers and trends for one year.

``build_national_briefing(year, lang=...)`` returns a :class:`NationalBriefing` with the sections of
:data:`NATIONAL_BRIEFING_SECTIONS`. It extends the national overview (:class:`NationalOverview`,
``build_national``: league table, groups and cut-offs, trends by dimension, data notes) with the
biggest movers and the maps of the 63 former provinces and of the 34 new ones. Its ``figure`` draws
``league`` and ``trends``, ``map`` (63 former provinces by group), ``map_34`` (34 new provinces by the
group of their estimate) and ``map_dimension`` (63, by the group of one dimension).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from papi_research.analysis.scores import GROUPS, group_name, year_scores
from papi_research.briefing.base import (RECORD_SCHEMA, Section, SectionAccess, dim_name, library_warnings, rank_text,
                                         signed, title_common)
from papi_research.briefing.provenance import records_parameters, versions_line
from papi_research.data.codebook import comparability_notes, comparable_dimensions, regime_of, same_regime
from papi_research.data.i18n import check_lang, fmt_num, t
from papi_research.data.loader import PapiData, load_cached
from papi_research.data.values import num as _num
from papi_research.errors import ParameterError

NATIONAL_SECTIONS = ("overview", "league", "groups", "trends", "notes")
"""Section keys of the national overview, in reading order."""

NATIONAL_FIGURES = ("league", "trends")
NATIONAL_FIGURE_TEXT = {name: (f"br_cap_fig_{name}", f"br_alt_fig_{name}") for name in NATIONAL_FIGURES}

NATIONAL_CODE = "VN"
NATIONAL_SLUG = "vietnam"
"""Code and slug of the country, the subject of a national briefing's record (and its output file names)."""


# --- the national overview ------------------------------------------------------------------------

@dataclass
class NationalOverview(SectionAccess):
    """The national overview of one year: league table, groups, trends by dimension, data notes."""

    year: int
    lang: str
    data: PapiData = field(repr=False)
    sections: dict[str, Section] = field(default_factory=dict)


    def title(self) -> str:
        return t("br_nat_title", self.lang, year=self.year)

    def figure_keys(self) -> dict[str, tuple[str, str]]:
        """Figure name → catalogue keys of its caption and alt text (:func:`show_figure`)."""
        return NATIONAL_FIGURE_TEXT

    def caption_fields(self) -> dict:
        return {"province": t("nat_country", self.lang), "year": self.year}

    def figure(self, name: str):
        """Draw one of :data:`NATIONAL_FIGURES` (a ``figures.HouseFigure``); library warnings go to the log."""
        with library_warnings(f"{self.year}, national figure {name}"):
            return self._figure(name)

    def _figure(self, name: str):
        from papi_research.briefing import figures
        if name == "league":
            return figures.league_chart(league_frame(self.data, self.year, self.lang), y="name", lang=self.lang,
                                        xlabel=t("br_fig_total_of", self.lang,
                                                 max=regime_of(self.year).total_max))
        if name == "trends":
            return figures.dimension_trends(dimension_trend_frame(self.data, self.year, self.lang),
                                            segment="segment", lang=self.lang)
        raise ParameterError("name", f"unknown figure {name!r}; choose from {', '.join(NATIONAL_FIGURES)}")

    def to_dict(self) -> dict:
        return {"year": self.year, "lang": self.lang, "sections": [s.to_dict() for s in self.sections.values()]}

    def text(self) -> str:
        return "\n\n".join(s.text() for s in self.sections.values())


def league_frame(data: PapiData, year: int, lang: str) -> pd.DataFrame:
    """Ranked provinces, best first: code, name, region, total, rank, group."""
    r = _ys(data, year, year).ranked()
    return pd.DataFrame({"code": r.index, "name": [_place(data, c, year).name(lang) for c in r.index],
                         "region": [_place(data, c, year).region(lang) for c in r.index],
                         "total": r["total"].astype(float).to_numpy(), "rank": r["rank"].astype(int).to_numpy(),
                         "group": r["group"].to_numpy()})


def dimension_trend_frame(data: PapiData, year: int, lang: str) -> pd.DataFrame:
    """National median of every dimension by year up to ``year``, with a segment id that changes at
    each method break (2016 for dimensions 1, 3, 5; the 2018 regime change for all)."""
    rows = []
    years = [y for y in _years(data, year) if y <= year]
    for d in range(1, 9):
        seg, prev = 0, None
        for y in years:
            ys = _ys(data, y, year)
            if d not in ys.dimensions.columns:
                continue
            if prev is not None and d not in comparable_dimensions(prev, y) or (prev is not None
                                                                                  and not same_regime(prev, y)):
                seg += 1
            rows.append({"year": y, "dimension": d, "label": f"{d}. {dim_name(d, lang)}",
                         "median": float(ys.national.at[d, "median"]), "segment": seg})
            prev = y
    return pd.DataFrame(rows)


def _on34(data: PapiData, year: int) -> bool:
    return int(year) in data.years34


def _ys(data: PapiData, y: int, of_year: int):
    """The scores of year ``y`` as a briefing of ``of_year`` compares them: the 63's own before the merger,
    or, in a briefing of a year on the 34, the 34's (their own figures, or estimates for years before 2025)."""
    if _on34(data, of_year):
        from papi_research.analysis.units import unit_year_scores
        return unit_year_scores(data, y).ys
    return year_scores(data, y)


def _years(data: PapiData, of_year: int) -> list[int]:
    """The years a briefing of ``of_year`` looks back over (the 34's: the estimates, then their own years)."""
    return data.all_years if _on34(data, of_year) else data.years


def _place(data: PapiData, code: str, of_year: int):
    """A province (of the 63) or a new province (of the 34) as a ``Province``, by code."""
    if code in data.provinces:
        return data.provinces.by_code(code)
    from papi_research.analysis.units import load_units, unit_province, unit_year_scores
    return unit_province(load_units(data).by_code(code), unit_year_scores(data, of_year))


def build_national(year: int | None = None, lang: str = "vi", data_dir: str | None = None,
                   data: PapiData | None = None) -> NationalOverview:
    """Every section of the national overview of ``year`` (None: the latest year with data)."""
    lang = check_lang(lang)
    if data is None:
        data = load_cached(None if data_dir is None else str(data_dir))
    if year is None:
        year = data.latest_year
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        raise ParameterError("year", f"must be a year such as {data.latest_year} or None; got {year!r}")
    year = int(year) if int(year) in data.years34 else data.check_year(int(year))
    o = NationalOverview(year=year, lang=lang, data=data)
    o.sections = {"overview": _nat_overview(o), "league": _nat_league(o), "groups": _nat_groups(o),
                  "trends": _nat_trends(o), "notes": _nat_notes(o)}
    return o


def _previous_regime_year(data: PapiData, year: int) -> int | None:
    earlier = [y for y in _years(data, year) if y < year and same_regime(y, year)]
    return max(earlier) if earlier else None


def _nat_overview(o: NationalOverview) -> Section:
    lang, ys = o.lang, _ys(o.data, o.year, o.year)
    s = Section("overview", o.title(), level=1)
    nat = ys.national.loc["total"]
    best = _place(o.data, nat["best"], o.year).name(lang)
    low_code = ys.provinces["total"].idxmin()
    low = _place(o.data, low_code, o.year).name(lang)
    counts = ys.group_counts()
    s.add("tiles", items=[
        {"label": t("br_nat_tile_ranked", lang), "value": str(ys.n_ranked),
         "sub": t("br_nat_tile_ranked_sub", lang, n=len(ys.provinces)), "tone": "neutral"},
        {"label": t("br_nat_tile_median", lang), "value": fmt_num(nat["median"], lang),
         "sub": t("br_nat_tile_of", lang, max=ys.regime.total_max), "tone": "neutral"},
        {"label": t("br_nat_tile_best", lang), "value": fmt_num(nat["max"], lang), "sub": best, "tone": "good"},
        {"label": t("br_nat_tile_low", lang), "value": fmt_num(nat["min"], lang), "sub": low, "tone": "bad"},
    ])
    s.md(t("br_nat_summary", lang, year=o.year, n=ys.n_ranked, max=ys.regime.total_max,
           median=fmt_num(nat["median"], lang), best=best, best_total=fmt_num(nat["max"], lang), low=low,
           low_total=fmt_num(nat["min"], lang), c_best=counts["best"], c_high=counts["high_average"],
           c_low=counts["low_average"], c_poor=counts["poor"]))
    prev = _previous_regime_year(o.data, o.year)
    if prev is not None:
        pm = _ys(o.data, prev, o.year).national.at["total", "median"]
        d = float(nat["median"]) - float(pm)
        key = "br_nat_median_up" if d > 0 else "br_nat_median_down" if d < 0 else "br_nat_median_same"
        s.md(t(key, lang, a=prev, delta=fmt_num(abs(d), lang), before=fmt_num(pm, lang)))
    s.note(t("boundaries_note", lang))
    return s


def _nat_league(o: NationalOverview) -> Section:
    lang, ys, data = o.lang, _ys(o.data, o.year, o.year), o.data
    s = Section("league", t("br_nat_h_league", lang))
    prev = _previous_regime_year(data, o.year)
    pys = _ys(data, prev, o.year) if prev is not None else None
    rows = []
    order = list(ys.ranked().index) + [c for c in ys.provinces.index if pd.isna(ys.provinces.at[c, "total"])]
    for code in order:
        r = ys.provinces.loc[code]
        p = _place(data, code, o.year)
        has = pd.notna(r["total"])
        ch = None
        if has and pys is not None and pd.notna(pys.provinces.at[code, "total"]):
            ch = float(r["total"]) - float(pys.provinces.at[code, "total"])
        row = {t("rank", lang): str(int(r["rank"])) if has else "–", t("province", lang): p.name(lang),
               t("region", lang): p.region(lang),
               t("total", lang): fmt_num(r["total"], lang) if has else "–",
               t("group", lang): t(f"br_group_{r['group']}", lang) if has else t("status_" + r["status"], lang)}
        if pys is not None:
            row[t("br_nat_col_change", lang, year=prev)] = signed(ch, lang)
        row[t("br_nat_col_merged", lang)] = (p.merged_into_vi if lang == "vi" else p.merged_into_en) or "–"
        rows.append(row)
    s.md(t("br_nat_league_intro", lang, year=o.year, n=ys.n_ranked, max=ys.regime.total_max))
    if pys is not None and _on34(data, o.year) and not _on34(data, prev):
        s.note(t("y34_movers_estimate", lang, a=prev, b=o.year))
    s.table(pd.DataFrame(rows), caption=t("br_nat_cap_league", lang, year=o.year))
    return s


def _nat_groups(o: NationalOverview) -> Section:
    lang, ys, data = o.lang, _ys(o.data, o.year, o.year), o.data
    s = Section("groups", t("br_nat_h_groups", lang))
    cut = ys.cutoffs["total"]
    counts = ys.group_counts()
    lo_hi = {"best": (cut["p75"], ys.national.at["total", "max"]), "high_average": (cut["p50"], cut["p75"]),
             "low_average": (cut["p25"], cut["p50"]), "poor": (ys.national.at["total", "min"], cut["p25"])}
    rows = [{t("group", lang): group_name(g, lang), t("br_nat_col_count", lang): str(counts[g]),
             t("br_nat_col_range", lang): f"{fmt_num(lo_hi[g][0], lang)} – {fmt_num(lo_hi[g][1], lang)}"}
            for g in GROUPS]
    s.md(t("br_nat_groups_intro", lang, p25=fmt_num(cut["p25"], lang), p50=fmt_num(cut["p50"], lang),
           p75=fmt_num(cut["p75"], lang)))
    s.table(pd.DataFrame(rows), caption=t("br_nat_cap_groups", lang, year=o.year))
    ranked = ys.provinces[ys.provinces["total"].notna()]
    reg_rows = []
    for region_en, region_vi in data.provinces.regions():
        part = ranked[ranked["region_en"] == region_en]
        c = part["group"].value_counts()
        reg_rows.append({t("region", lang): region_vi if lang == "vi" else region_en,
                         **{t(f"br_group_{g}", lang): str(int(c.get(g, 0))) for g in GROUPS},
                         t("br_nat_col_median", lang): fmt_num(part["total"].median() if len(part) else None, lang)})
    s.table(pd.DataFrame(reg_rows), caption=t("br_nat_cap_regions", lang, year=o.year))
    if ys.rule.basis == "computed":
        s.note(t("br_group_computed_note", lang, year=o.year))
    return s


def _nat_trends(o: NationalOverview) -> Section:
    lang, data = o.lang, o.data
    s = Section("trends", t("br_nat_h_trends", lang))
    s.md(t("br_nat_trends_intro", lang))
    rows = []
    for y in [y for y in _years(data, o.year) if y <= o.year]:
        ys = _ys(data, y, o.year)
        rows.append({t("year", lang): str(y), t("br_nat_col_ranked", lang): str(ys.n_ranked),
                     t("br_nat_col_median", lang): fmt_num(ys.national.at["total", "median"], lang),
                     t("br_col_max", lang): str(ys.regime.total_max),
                     **{str(d): fmt_num(ys.national.at[d, "median"], lang) if d in ys.dimensions.columns else "–"
                        for d in range(1, 9)}})
    s.table(pd.DataFrame(rows), caption=t("br_nat_cap_trends", lang))
    s.md(t("br_nat_trends_legend", lang, dims="; ".join(f"{d} = {dim_name(d, lang)}" for d in range(1, 9))))
    return s


def _nat_notes(o: NationalOverview) -> Section:
    lang, ys = o.lang, _ys(o.data, o.year, o.year)
    s = Section("notes", t("br_h_notes", lang))
    s.md(t(f"br_notes_regime_{regime_of(o.year).key}", lang, year=o.year))
    s.md("\n".join("- " + line for line in comparability_notes(lang)))
    gaps = ys.provinces[ys.provinces["status"] != "complete"]
    if len(gaps):
        s.md(t("br_notes_gaps", lang, year=o.year, n=len(gaps), ranked=ys.n_ranked))
        s.table(pd.DataFrame([{t("province", lang): _place(o.data, c, o.year).name(lang),
                               t("status", lang): t("status_" + r["status"], lang),
                               t("br_col_official", lang): o.data.gap_summary(o.year, c, lang) or t("br_no_reason", lang)}
                              for c, r in gaps.iterrows()]), caption=t("br_cap_gaps", lang, year=o.year))
    else:
        s.md(t("br_notes_no_gaps", lang, year=o.year, ranked=ys.n_ranked))
    s.md(t("boundaries_note", lang))
    s.md(t("citation", lang, year=o.year))
    s.md(versions_line(lang, o.data.version_for(o.year, "national")))  # package version, commit, data version
    return s


# --- the national briefing: overview, maps and movers --------------------------------------------

NATIONAL_BRIEFING_SECTIONS = ("action", "overview", "maps", "league", "groups", "movers", "trends", "notes")
MAP_FIGURES = ("map", "map_34", "map_dimension")
MAP_FIGURE_TEXT = {"map": ("map_cap_national", "map_alt_national"), "map_34": ("map_cap_national_34", "map_alt_national_34"),
                   "map_dimension": ("nat_cap_map_dimension", "map_alt_dimension")}
"""Catalogue keys of each map's caption and alt text."""
N_MOVERS = 5


@dataclass
class NationalBriefing(NationalOverview):
    """The national briefing of one year (sections in reading order, maps among the figures)."""

    map_dimension: int | None = None

    def figure_keys(self) -> dict[str, tuple[str, str]]:
        if getattr(self, "data", None) is not None and _on34(self.data, self.year):  # one map: the 34's own groups
            return {**MAP_FIGURE_TEXT, "map": ("y34_map_cap", "y34_map_alt"), **NATIONAL_FIGURE_TEXT}
        return {**MAP_FIGURE_TEXT, **NATIONAL_FIGURE_TEXT}

    def to_record(self) -> dict:
        """The briefing record (``base.record``, kind ``national_briefing``). It has no single
        province: ``province`` is the country (:func:`national_subject`); ``total``, ``rank`` and ``group``
        are null; ``n_ranked`` and ``median`` describe the year's league."""
        ys = _ys(self.data, self.year, self.year)
        prev = _previous_regime_year(self.data, self.year)
        return {"schema": RECORD_SCHEMA, "kind": "national_briefing", "province": national_subject(),
                "year": int(self.year), "lang": self.lang, "comparison_year": prev, "target": None,
                "status": "complete", "total": None, "total_max": int(ys.regime.total_max), "rank": None,
                "n_ranked": int(ys.n_ranked), "group": None, "median": _num(ys.national.at["total", "median"]),
                "map_dimension": None if self.map_dimension is None else int(self.map_dimension),
                "data_version": self.data.version_for(self.year, "national"), "title": national_title_facts(self)}

    def _figure(self, name: str):
        from papi_research.analysis.units import unit_year_scores
        from papi_research.briefing import maps
        lang, year = self.lang, self.year
        if year in self.data.years34:  # a year on the 34: one map, of their own figures
            if name == "map":
                return maps.choropleth(maps.group_frame(unit_year_scores(self.data, year).ys), units="2025",
                                       lang=lang, papi_dir=self.data.directory)
            if name == "map_34":
                return None
        if name == "map":
            return maps.choropleth(maps.group_frame(year_scores(self.data, year)), lang=lang,
                                   papi_dir=self.data.directory)
        if name == "map_34":
            return maps.choropleth(maps.group_frame(unit_year_scores(self.data, year).ys), units="2025", lang=lang,
                                   papi_dir=self.data.directory)
        if name == "map_dimension":
            if self.map_dimension is None:
                return None
            d = int(self.map_dimension)
            return maps.choropleth(maps.group_frame(_ys(self.data, year, year), dimension=d), lang=lang,
                                   **({"units": "2025"} if _on34(self.data, year) else {}),
                                   legend_title=f"{d}. {dim_name(d, lang)}", papi_dir=self.data.directory)
        return super()._figure(name)


def national_subject() -> dict[str, str]:
    """The subject of a national briefing's record, in place of a province: the country."""
    return {"code": NATIONAL_CODE, "slug": NATIONAL_SLUG, "name_vi": t("nat_country", "vi"),
            "name_en": t("nat_country", "en"), "region_vi": t("nat_region", "vi"), "region_en": t("nat_region", "en")}


def national_title_facts(o: NationalBriefing) -> dict[str, str]:
    """The title block and footer sentences of the national briefing (``province.title_facts``'s keys):
    provinces ranked and the median total, against the previous year of the same regime."""
    lang, year = o.lang, o.year
    ys = _ys(o.data, year, year)
    prev = _previous_regime_year(o.data, year)
    change = (t("nat_change_line", lang, a=prev, max=ys.regime.total_max,
                before=fmt_num(_ys(o.data, prev, o.year).national.at["total", "median"], lang))
              if prev is not None else t("rd_no_comparison", lang))
    return {**title_common(lang, year), "doc_type": t("br_nat_title", lang, year=year),
            "title": t("nat_title_doc", lang, year=year), "region": t("nat_region", lang),
            "score_line": t("nat_score_line", lang, n=ys.n_ranked, median=fmt_num(ys.national.at["total", "median"], lang),
                            max=ys.regime.total_max),
            "change_line": change, "merged": "", "contents_note": t("rd_contents_note", lang)}


@records_parameters
def build_national_briefing(year: int | None = None, lang: str = "vi", data_dir: str | None = None,
                            map_dimension: int | None = None, data: PapiData | None = None) -> NationalBriefing:
    """Every section of the national briefing of ``year`` (None: the latest year with data)."""
    o = build_national(year, lang=lang, data_dir=data_dir, data=data)
    if map_dimension is not None:
        ys = _ys(o.data, o.year, o.year)
        if isinstance(map_dimension, bool) or int(map_dimension) not in ys.dimensions.columns:
            raise ParameterError("map_dimension", f"{o.year} has dimensions 1–{ys.regime.n_dimensions}; "
                                                  f"got {map_dimension!r}")
    nb = NationalBriefing(year=o.year, lang=o.lang, data=o.data, map_dimension=map_dimension)
    sections = dict(o.sections)
    sections["maps"] = maps_section(nb)
    sections["movers"] = movers_section(nb)
    nb.sections = sections
    from papi_research.briefing.national_action import national_action_section
    sections["action"] = national_action_section(nb)  # after the overview, whose tiles open the brief
    nb.sections = {k: sections[k] for k in NATIONAL_BRIEFING_SECTIONS}
    return nb


def maps_section(o: NationalBriefing) -> Section:
    """What the two maps show (the figures follow in the notebook)."""
    lang = o.lang
    s = Section("maps", t("nat_h_maps", lang))
    if o.year in o.data.years34:
        s.note(t("y34_official_note", lang))
        return s
    s.md(t("nat_maps_intro", lang, year=o.year))
    s.note(t("un_estimate_note", lang))
    s.md(t("map_credit", lang))
    return s


def movers_frame(data: PapiData, year: int) -> pd.DataFrame:
    """Every province with a total in ``year`` and in the previous year of the same regime:
    ``code``, ``before``, ``after``, ``change``, ``rank_before``, ``rank_after`` (sorted by change)."""
    prev = _previous_regime_year(data, year)
    if prev is None:
        return pd.DataFrame(columns=["code", "before", "after", "change", "rank_before", "rank_after"])
    a, b = _ys(data, prev, year).provinces, _ys(data, year, year).provinces
    both = a.index[a["total"].notna() & b["total"].notna()]
    out = pd.DataFrame({"code": list(both), "before": a.loc[both, "total"].astype(float).to_numpy(),
                        "after": b.loc[both, "total"].astype(float).to_numpy(),
                        "rank_before": a.loc[both, "rank"].to_numpy(), "rank_after": b.loc[both, "rank"].to_numpy()})
    out["change"] = out["after"] - out["before"]
    out.attrs["previous_year"] = prev
    return out.sort_values(["change", "code"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def movers_section(o: NationalBriefing) -> Section:
    """The provinces whose totals rose and fell most since the previous year of the same regime."""
    lang, data = o.lang, o.data
    s = Section("movers", t("nat_h_movers", lang))
    mv = movers_frame(data, o.year)
    if mv.empty:
        s.note(t("nat_movers_none", lang, year=o.year))
        return s
    prev = mv.attrs["previous_year"]
    n_prev, n_now = _ys(data, prev, o.year).n_ranked, _ys(data, o.year, o.year).n_ranked

    def table(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            t("province", lang): [_place(data, c, o.year).name(lang) for c in frame["code"]],
            str(prev): [f"{fmt_num(x, lang)} ({rank_text(r, n_prev, lang)})" for x, r in zip(frame["before"], frame["rank_before"])],
            str(o.year): [f"{fmt_num(x, lang)} ({rank_text(r, n_now, lang)})" for x, r in zip(frame["after"], frame["rank_after"])],
            t("br_col_change", lang): [signed(x, lang) for x in frame["change"]],
        })
    up = mv[mv["change"] > 0].head(N_MOVERS)
    down = mv[mv["change"] < 0].sort_values(["change", "code"], kind="mergesort").head(N_MOVERS)
    s.md(t("nat_movers_intro", lang, a=prev, b=o.year, n=len(mv), up=int((mv["change"] > 0).sum()),
           down=int((mv["change"] < 0).sum())))
    if o.year in data.years34 and prev not in data.years34:  # the 34's own figures against their estimates
        s.note(t("y34_movers_estimate", lang, a=prev, b=o.year), warning=True)
    if len(up):
        s.table(table(up), caption=t("nat_cap_movers_up", lang, a=prev, b=o.year))
    if len(down):
        s.table(table(down), caption=t("nat_cap_movers_down", lang, a=prev, b=o.year))
    return s

