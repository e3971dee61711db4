"""The published national briefing: the national overview of ``briefing.build_national`` plus the biggest
movers, the maps of the 63 former provinces and of the 34 new ones, and their map figures.

``build_national_briefing(year, lang=...)`` returns a :class:`NationalBriefing` (a
``briefing.NationalOverview``) with the sections of :data:`NATIONAL_BRIEFING_SECTIONS`; its ``figure``
draws the overview's charts and ``map`` (63 former provinces by group), ``map_34`` (34 new provinces by
the group of their estimate) and ``map_dimension`` (63, by the group of one dimension).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .briefing import (NATIONAL_FIGURE_TEXT, RECORD_SCHEMA, NationalOverview, Section, _dim_name,
                       _previous_regime_year, _rank, _signed, build_national, title_common)
from .data import PapiData
from .errors import ParameterError
from .i18n import fmt_num, t
from .scores import year_scores
from .values import num as _num

NATIONAL_BRIEFING_SECTIONS = ("overview", "maps", "league", "groups", "movers", "trends", "notes")
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
        return {**MAP_FIGURE_TEXT, **NATIONAL_FIGURE_TEXT}

    def to_record(self) -> dict:
        """The briefing record (``briefing.record``, kind ``national_briefing``). It has no single
        province: ``province`` is the country (:func:`national_subject`); ``total``, ``rank`` and ``group``
        are null; ``n_ranked`` and ``median`` describe the year's league."""
        ys = year_scores(self.data, self.year)
        prev = _previous_regime_year(self.data, self.year)
        return {"schema": RECORD_SCHEMA, "kind": "national_briefing", "province": national_subject(),
                "year": int(self.year), "lang": self.lang, "comparison_year": prev, "target": None,
                "status": "complete", "total": None, "total_max": int(ys.regime.total_max), "rank": None,
                "n_ranked": int(ys.n_ranked), "group": None, "median": _num(ys.national.at["total", "median"]),
                "map_dimension": None if self.map_dimension is None else int(self.map_dimension),
                "data_version": self.data.version, "title": national_title_facts(self)}

    def _figure(self, name: str):
        from . import maps
        from .units import unit_year_scores
        lang, year = self.lang, self.year
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
            return maps.choropleth(maps.group_frame(year_scores(self.data, year), dimension=d), lang=lang,
                                   legend_title=f"{d}. {_dim_name(d, lang)}", papi_dir=self.data.directory)
        return super()._figure(name)


def national_subject() -> dict[str, str]:
    """The subject of a national briefing's record, in place of a province: the country."""
    from .scopes import NATIONAL_CODE, NATIONAL_SLUG
    return {"code": NATIONAL_CODE, "slug": NATIONAL_SLUG, "name_vi": t("nat_country", "vi"),
            "name_en": t("nat_country", "en"), "region_vi": t("nat_region", "vi"), "region_en": t("nat_region", "en")}


def national_title_facts(o: NationalBriefing) -> dict[str, str]:
    """The title block and footer sentences of the national briefing (``briefing.title_facts``'s keys):
    provinces ranked and the median total, against the previous year of the same regime."""
    lang, year = o.lang, o.year
    ys = year_scores(o.data, year)
    prev = _previous_regime_year(o.data, year)
    change = (t("nat_change_line", lang, a=prev, max=ys.regime.total_max,
                before=fmt_num(year_scores(o.data, prev).national.at["total", "median"], lang))
              if prev is not None else t("rd_no_comparison", lang))
    return {**title_common(lang, year), "doc_type": t("br_nat_title", lang, year=year),
            "title": t("nat_title_doc", lang, year=year), "region": t("nat_region", lang),
            "score_line": t("nat_score_line", lang, n=ys.n_ranked, median=fmt_num(ys.national.at["total", "median"], lang),
                            max=ys.regime.total_max),
            "change_line": change, "merged": "", "contents_note": t("rd_contents_note", lang)}


def build_national_briefing(year: int | None = None, lang: str = "vi", data_dir: str | None = None,
                            map_dimension: int | None = None, data: PapiData | None = None) -> NationalBriefing:
    """Every section of the national briefing of ``year`` (None: the latest year with data)."""
    o = build_national(year, lang=lang, data_dir=data_dir, data=data)
    if map_dimension is not None:
        ys = year_scores(o.data, o.year)
        if isinstance(map_dimension, bool) or int(map_dimension) not in ys.dimensions.columns:
            raise ParameterError("map_dimension", f"{o.year} has dimensions 1–{ys.regime.n_dimensions}; "
                                                  f"got {map_dimension!r}")
    nb = NationalBriefing(year=o.year, lang=o.lang, data=o.data, map_dimension=map_dimension)
    sections = dict(o.sections)
    sections["maps"] = maps_section(nb)
    sections["movers"] = movers_section(nb)
    nb.sections = {k: sections[k] for k in NATIONAL_BRIEFING_SECTIONS}
    return nb


def maps_section(o: NationalBriefing) -> Section:
    """What the two maps show (the figures follow in the notebook)."""
    lang = o.lang
    s = Section("maps", t("nat_h_maps", lang))
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
    a, b = year_scores(data, prev).provinces, year_scores(data, year).provinces
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
    n_prev, n_now = year_scores(data, prev).n_ranked, year_scores(data, o.year).n_ranked

    def table(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            t("province", lang): [data.provinces.by_code(c).name(lang) for c in frame["code"]],
            str(prev): [f"{fmt_num(x, lang)} ({_rank(r, n_prev, lang)})" for x, r in zip(frame["before"], frame["rank_before"])],
            str(o.year): [f"{fmt_num(x, lang)} ({_rank(r, n_now, lang)})" for x, r in zip(frame["after"], frame["rank_after"])],
            t("br_col_change", lang): [_signed(x, lang) for x in frame["change"]],
        })
    up = mv[mv["change"] > 0].head(N_MOVERS)
    down = mv[mv["change"] < 0].sort_values(["change", "code"], kind="mergesort").head(N_MOVERS)
    s.md(t("nat_movers_intro", lang, a=prev, b=o.year, n=len(mv), up=int((mv["change"] > 0).sum()),
           down=int((mv["change"] < 0).sum())))
    if len(up):
        s.table(table(up), caption=t("nat_cap_movers_up", lang, a=prev, b=o.year))
    if len(down):
        s.table(table(down), caption=t("nat_cap_movers_down", lang, a=prev, b=o.year))
    return s

