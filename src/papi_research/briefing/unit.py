"""Sections of the briefing of one of the 34 provinces since 1 July 2025 (estimates from its former provinces).

``build_unit(name, year=..., lang=...)`` returns a :class:`UnitBriefing` (a :class:`~papi_research.briefing.province.Briefing`) whose
sections are: ``headline`` (estimate, rank among the 34, group, rank in the region, or why there is no
estimate), ``components`` (each former province's weight, total and dimension scores, its gap to the
others, and which one lags on which dimension), ``profile`` and ``subdimensions`` (the 63-province
sections, fed with the unit's scorecard), ``priorities`` and ``target`` (among the 34), ``peers`` (new
provinces to learn from) and ``notes``. Every number is an estimate from PAPI results of the former
provinces (``units.py``) and every section says so; words come from ``resources/i18n/units.yml``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from papi_research.analysis.scores import group_name
from papi_research.analysis.targets import default_target, parse_target, plan_target
from papi_research.analysis.units import MIN_COVERAGE, UnitScorecard, unit_scorecard, unit_year_scores, weight_source
from papi_research.briefing.base import (RECORD_SCHEMA, TONE, Section, change_line, dim_name, join_words,
                                         library_warnings, rank_text, record_subject, signed, title_common)
from papi_research.briefing.province import Briefing, profile_section, subdimension_section
from papi_research.briefing.provenance import records_parameters, versions_line
from papi_research.data.codebook import comparable_dimensions, regime_of, same_regime
from papi_research.data.i18n import check_lang, fmt_num, t
from papi_research.data.loader import PapiData, load_cached
from papi_research.data.values import num as _num
from papi_research.errors import ParameterError

UNIT_SECTIONS = ("action", "headline", "components", "profile", "subdimensions", "change", "drivers", "priorities", "target",
                 "peers", "notes")
UNIT_FIGURES = ("locator", "profile", "components", "trend")
UNIT_FIGURE_TEXT = {"locator": ("map_cap_locator", "map_alt_locator_34"),
                    **{name: (f"un_cap_fig_{name}", f"un_alt_fig_{name}") for name in UNIT_FIGURES if name != "locator"}}
"""Catalogue keys of each figure's caption and alt text."""
N_PRIORITIES = 5
N_PEERS = 3


@dataclass
class UnitBriefing(Briefing):
    """The briefing of a new province: ``card`` is its ``units.UnitScorecard``."""

    def title(self) -> str:
        return t(_k(self.card, "un_title"), self.lang, province=self.province.name(self.lang), year=self.year)

    def figure_keys(self) -> dict[str, tuple[str, str]]:
        card = getattr(self, "card", None)  # figure_keys(None): the keys of every figure (tests)
        if card is not None and card.official:  # PAPI's own figures: the trend's earlier years are the estimates
            return {**UNIT_FIGURE_TEXT, "trend": ("y34_un_cap_fig_trend", "y34_un_alt_fig_trend"),
                    "profile": ("y34_un_cap_fig_profile", "y34_un_alt_fig_profile")}
        return UNIT_FIGURE_TEXT

    def to_record(self) -> dict:
        """The briefing record (``base.record``, kind ``unit_briefing``): the new province's estimate,
        ranks among the 34, its former provinces and the title block."""
        c = self.card
        complete = c.total is not None
        return {"schema": RECORD_SCHEMA, "kind": "unit_briefing", "province": record_subject(self.province),
                "year": int(self.year), "lang": self.lang, "units": "2025",
                "comparison_year": None if c.previous is None else int(c.previous["year"]),
                "target": self.target_spec, "status": c.status, "total": _num(c.total),
                "total_max": int(c.total_max), "rank": None if c.rank is None else int(c.rank),
                "n_ranked": int(c.ys.n_ranked) if complete else None, "group": c.group,
                "region_rank": None if c.region_rank is None else int(c.region_rank),
                "n_region_ranked": None if c.region_rank is None else int(c.n_region_ranked),
                "members": list(c.unit.members), "coverage": _num(c.coverage),
                "official": bool(c.official),
                "data_version": self.data.version_for(self.year, "unit"),
                "title": unit_title_facts(c, self.data, self.lang)}


    def _figure(self, name: str):
        from papi_research.briefing import figures, maps
        lang, card = self.lang, self.card
        if name == "locator":
            return maps.locator(list(card.unit.members), lang=lang, papi_dir=self.data.directory)
        if name == "profile":
            return figures.dimension_profile(card.dimension_table(), lang=lang, label=self.province.name(lang))
        if name == "components":
            if card.official:  # no parts: the province's own figures (nothing to draw)
                return None
            return figures.change_bars(component_gap_frame(card, lang), x="gap", y="label", lang=lang)
        if name == "trend":
            return figures.score_trend(unit_trend_frame(self.data, card.unit.code, self.year), lang=lang,
                                       label=self.province.name(lang),
                                       ylabel=t("br_fig_total_of", lang, max=card.total_max))
        raise ParameterError("name", f"unknown figure {name!r}; choose from {', '.join(UNIT_FIGURES)}")


def _k(card: UnitScorecard, key: str) -> str:
    """The catalogue key of a sentence: its ``y34_`` form in a year on the 34 (PAPI's own figures, no "estimate")."""
    return f"y34_{key}" if card.official else key


def unit_title_facts(card: UnitScorecard, data: PapiData, lang: str) -> dict[str, str]:
    """The title block and footer sentences of a new province's briefing (``province.title_facts``'s keys):
    estimate, rank among the 34 and in the region, change since the previous estimate, former provinces."""
    name = card.province.name(lang)
    if card.partial:
        score = t("un_partial_score_line", lang, total=fmt_num(card.total, lang), max=card.total_max,
                  share=fmt_num(100 * card.coverage, lang, 1))
        score = score[:1].upper() + score[1:]
    elif card.total is not None:
        score = t(_k(card, "un_score_line"), lang, total=fmt_num(card.total, lang), max=card.total_max, rank=card.rank,
                  n=card.ys.n_ranked, group=group_name(card.group, lang), region_rank=card.region_rank,
                  n_region=card.n_region_ranked)
        score = score[:1].upper() + score[1:]
    else:
        score = t("un_no_total_line", lang, year=card.year)
    pv = card.previous if card.total is not None else None
    members = ", ".join(data.provinces.by_code(m).name(lang) for m in card.unit.members)
    return {**title_common(lang, card.year), "doc_type": t(_k(card, "un_doc_type"), lang),
            "title": t(_k(card, "un_title"), lang, province=name, year=card.year), "region": card.province.region(lang),
            "score_line": score, "change_line": change_line(lang, pv, None if pv is None else card.total - pv["total"]),
            "merged": t("un_title_members", lang, members=members),
            "contents_note": t("y34_official_note" if card.official else "un_estimate_note", lang)
            + (" " + t("y34_against_estimate", lang, year=pv["year"], province=name) if pv and pv.get("estimate")
               else "")}


def unit_trend_frame(data: PapiData, code: str, year: int) -> pd.DataFrame:
    """The new province's estimated total and the references among the 34 for every year of the regime."""
    rows = []
    for y in data.all_years:  # the estimates through 2024, then the 34's own figures
        if not same_regime(y, year) or y > year:
            continue
        ys = unit_year_scores(data, y).ys
        rows.append({"year": y, "province": ys.provinces.at[code, "total"],
                     "national_median": ys.national.at["total", "median"],
                     "regional_median": ys.regional_median(ys.provinces.at[code, "region_en"])["total"],
                     "national_best": ys.national.at["total", "max"]})
    return pd.DataFrame(rows)


def component_gap_frame(card: UnitScorecard, lang: str) -> pd.DataFrame:
    """For each former province and dimension: its score minus the population-weighted mean of the others."""
    dims = card.component_dimensions()
    comp = card.components().set_index("code")
    rows = []
    for code in dims.index:
        others = [c for c in dims.index if c != code]
        for d in dims.columns:
            mine = dims.at[code, d]
            vals = dims.loc[others, d]
            w = comp.loc[others, "population"][vals.notna()]
            if pd.isna(mine) or w.empty:
                gap = np.nan
            else:
                gap = float(mine - (vals.dropna() * w).sum() / w.sum())
            rows.append({"code": code, "dimension": int(d), "gap": gap,
                         "label": f"{comp.at[code, 'name_' + lang]} · {int(d)}. {dim_name(d, lang)}"})
    return pd.DataFrame(rows)


@records_parameters
def build_unit(province: str, year: int | None = None, lang: str = "vi", target: str | None = None,
               data_dir: str | None = None, data: PapiData | None = None) -> UnitBriefing:
    """Every section of the briefing of the new province ``province`` (a new or a former province's name);
    ``target`` None: the next group up (for the best group, keeping it)."""
    lang = check_lang(lang)
    if data is None:
        data = load_cached(None if data_dir is None else str(data_dir))
    if year is not None and (isinstance(year, bool) or not isinstance(year, (int, np.integer))):
        raise ParameterError("year", f"must be a year such as {data.latest_year} or None; got {year!r}")
    card = unit_scorecard(data, province, year)
    if target is None or not str(target).strip():
        target = default_target(card.group)
    b = UnitBriefing(province=card.province, year=card.year, lang=lang, target_spec=target, card=card, data=data)
    with library_warnings(f"{card.province.name_en} {card.year} (new province)") as caught:
        priorities = unit_priorities(card, target)
        b.sections = {"headline": headline_section(b), "components": components_section(b),
                      "profile": profile_section(b), "subdimensions": subdimension_section(b),
                      "change": change_section(b), "drivers": drivers_section(b),
                      "priorities": priorities_section(b, priorities), "target": target_section(b, priorities),
                      "peers": peers_section(b, priorities), "notes": notes_section(b)}
        from papi_research.briefing.unit_action import unit_action_section
        b.sections = {"action": unit_action_section(b, priorities), **b.sections}
    for key in ("profile", "subdimensions"):
        b.sections[key].note(t("y34_official_note" if card.official else "un_estimate_note", lang))
    b.keep_warnings(caught)
    return b


# --- headline ---------------------------------------------------------------------------------------

def headline_section(b: UnitBriefing) -> Section:
    """Estimate, rank among the 34, group and rank in the region (or why there is no estimate)."""
    lang, c = b.lang, b.card
    name = b.province.name(lang)
    ys = c.ys
    s = Section("headline", t("br_h_headline", lang))
    s.note(t("y34_official_note", lang) if c.official else t("un_estimate_note", lang), warning=not c.official)
    members = join_words([b.data.provinces.by_code(m).name(lang) for m in c.unit.members], lang)
    if c.unit.merged:
        s.md(t("un_members", lang, province=name, members=members, n=len(c.unit.members)))
    else:
        s.md(t("un_unchanged", lang, province=name))
    if c.partial:  # an estimate for part of the new province: given with its interval, not ranked
        u = c.uncertainty()
        s.add("tiles", items=[{"label": t("un_tile_total", lang), "value": fmt_num(c.total, lang),
                               "sub": t("un_tile_partial", lang), "tone": "neutral"}])
        s.md(t("un_partial_headline", lang, year=b.year, province=name, total=fmt_num(c.total, lang),
               max=c.total_max, lo=fmt_num(u.get("ci_low"), lang), hi=fmt_num(u.get("ci_high"), lang),
               share=fmt_num(100 * c.coverage, lang, 1)))
        s.note(t("un_left_out", lang, members=join_words([_left_out_name(b, m) for m in c.left_out()], lang),
                 share=fmt_num(100 * c.coverage, lang, 1)), warning=True)
    elif c.status == "complete":
        tone = TONE[c.group]
        u = c.uncertainty()
        rr, pk = u.get("rank_range"), u.get("p_keep_group")
        s.add("tiles", items=[
            {"label": t(_k(c, "un_tile_total"), lang), "value": fmt_num(c.total, lang),
             "sub": t("un_tile_total_sub", lang, max=c.total_max, n=ys.n_ranked,
                      median=fmt_num(ys.national.at["total", "median"], lang)),  # the median of the 34, named so
             "tone": tone},
            {"label": t("br_tile_rank", lang), "value": rank_text(c.rank, ys.n_ranked, lang),
             "sub": t("un_tile_rank_range", lang, n=ys.n_ranked, best=rr[0], worst=rr[1]) if rr
             else t(_k(c, "un_tile_rank_sub"), lang, n=ys.n_ranked), "tone": tone},
            {"label": t("br_tile_group", lang), "value": t(f"br_group_{c.group}", lang),
             "sub": t("un_tile_group_p", lang, p=fmt_num(100 * pk, lang, 0)) if pk is not None
             else t(_k(c, "un_tile_group_sub"), lang, n=ys.n_ranked), "tone": tone},
            {"label": t("un_tile_region_rank", lang), "value": rank_text(c.region_rank, c.n_region_ranked, lang),
             "sub": b.province.region(lang), "tone": "neutral"},
        ])
        s.md(t(_k(c, "un_headline"), lang, year=b.year, province=name, total=fmt_num(c.total, lang), max=c.total_max,
               rank=c.rank, n=ys.n_ranked, group=group_name(c.group, lang), region=b.province.region(lang),
               region_rank=c.region_rank, n_region=c.n_region_ranked))
        if u.get("rank_range"):
            s.md(t("un_ci_line", lang, lo=fmt_num(u["ci_low"], lang), hi=fmt_num(u["ci_high"], lang), n=ys.n_ranked,
                   best=u["rank_range"][0], worst=u["rank_range"][1]))
            s.note(u["ci_basis_text"][lang])
        left = c.left_out()
        if left:
            s.note(t("un_left_out", lang, members=join_words([_left_out_name(b, m) for m in left], lang),
                     share=fmt_num(100 * c.coverage, lang, 1)), warning=True)
        if c.previous:
            pv = c.previous
            d = c.total - pv["total"]
            key = "br_total_up" if d > 0 else "br_total_down" if d < 0 else "br_total_same"
            s.md(t(key, lang, a=pv["year"], delta=fmt_num(abs(d), lang), before=fmt_num(pv["total"], lang),
                   after=fmt_num(c.total, lang)) + " " + t("un_prev_rank", lang, rank=pv["rank"], n=pv["n_ranked"]))
            if pv.get("estimate"):  # a year on the 34 against the former provinces' estimate
                s.note(t("y34_against_estimate", lang, year=pv["year"], province=name), warning=True)
        if ys.rule.basis == "computed":
            s.note(t("br_group_computed_note", lang, year=b.year))
    else:
        left = [m for m in c.unit.members if c.components().set_index("code").at[m, "status"] != "complete"]
        s.note(t("un_no_estimate_headline", lang, province=name, year=b.year,
                 members=join_words([_left_out_name(b, m) for m in left], lang),
                 share=fmt_num(100 * c.coverage, lang, 1), min=fmt_num(100 * MIN_COVERAGE, lang, 0)), warning=True)
        s.add("tiles", items=[{"label": t(_k(c, "un_tile_total"), lang), "value": "–",
                               "sub": t("br_tile_no_total", lang),
                               "tone": "neutral"}] + ([{
            "label": t("un_tile_last_total", lang, year=c.previous["year"]), "value": fmt_num(c.previous["total"], lang),
            "sub": rank_text(c.previous["rank"], c.previous["n_ranked"], lang), "tone": "neutral"}] if c.previous else []))
        if c.previous:
            pv = c.previous
            s.md(t("un_last_estimate", lang, province=name, year=pv["year"], total=fmt_num(pv["total"], lang),
                   max=c.total_max, rank=pv["rank"], n=pv["n_ranked"], group=group_name(pv["group"], lang)))
    s.md(weight_source(_estimate_year(b) or c.uy, lang) if c.official and _estimate_year(b) else
         weight_source(c.uy, lang) if not c.official else "")
    return s


def _estimate_year(b: UnitBriefing):
    """For a year on the 34: the estimates of the year it is compared with (None when it is a year on the 34
    too, or there is none)."""
    pv = b.card.previous
    if not b.card.official or pv is None or not pv.get("estimate"):
        return None
    return unit_year_scores(b.data, pv["year"])


def _left_out_name(b: UnitBriefing, code: str) -> str:
    p = b.data.provinces.by_code(code)
    reason = b.data.gap_summary(b.year, code, b.lang) or t("br_no_reason", b.lang)
    return t("un_left_out_item", b.lang, name=p.name(b.lang), reason=reason.rstrip("."))


# --- components --------------------------------------------------------------------------------------

def components_section(b: UnitBriefing) -> Section:
    """Each former province's weight, total and dimension scores, and which one lags on which dimension."""
    lang, c = b.lang, b.card
    s = Section("components", t(_k(c, "un_h_components"), lang))
    comp = c.components().set_index("code")
    if c.official:  # PAPI's own figures: the former provinces make only the estimated history
        members = join_words([b.data.provinces.by_code(m).name(lang) for m in c.unit.members], lang)
        s.md(t("y34_components", lang, province=b.province.name(lang), members=members, year=b.year))
        return s
    dims = c.component_dimensions()
    if not c.unit.merged:
        s.md(t("un_components_single", lang, province=b.province.name(lang)))
        return s
    s.md(t("un_components_intro", lang, province=b.province.name(lang), n=len(comp)))
    rows = []
    for code, r in comp.iterrows():
        row = {t("un_col_former", lang): r["name_" + lang],
               t("un_col_population", lang, year=c.uy.population_year): fmt_num(r["population"], lang, 1),
               t("un_col_weight", lang): fmt_num(r["weight"], lang, 3) if r["used"] else t("un_not_used", lang),
               t("total", lang): fmt_num(r["total"], lang)}
        for d in dims.columns:
            row[str(int(d))] = fmt_num(dims.at[code, d], lang)
        rows.append(row)
    est = {t("un_col_former", lang): t("un_row_estimate", lang, province=b.province.name(lang)),
           t("un_col_population", lang, year=c.uy.population_year): fmt_num(comp["population"].sum(), lang, 1),
           t("un_col_weight", lang): fmt_num(1.0, lang, 3), t("total", lang): fmt_num(c.total, lang)}
    for d in dims.columns:
        est[str(int(d))] = fmt_num(c.ys.dimensions.at[c.unit.code, d], lang)
    rows.append(est)
    s.table(pd.DataFrame(rows), caption=t("un_cap_components", lang, year=b.year, province=b.province.name(lang)))
    gaps = component_gap_frame(c, lang)
    gaps = gaps[gaps["gap"].notna()]
    lines = []
    for code in comp.index:
        g = gaps[(gaps["code"] == code) & (gaps["gap"] < 0)].sort_values("gap")
        if g.empty:
            continue
        lines.append("- " + t("un_lags", lang, name=comp.at[code, "name_" + lang],
                              dims=join_words([t("br_dim_gap", lang, name=dim_name(r["dimension"], lang),
                                            gap=signed(r["gap"], lang)) for r in g.head(3).to_dict("records")],
                                         lang)))
    if lines:
        s.md(t("un_lags_intro", lang))
        s.md("\n".join(lines))
    table = gaps.pivot(index="code", columns="dimension", values="gap").reindex(index=dims.index)
    frame = pd.DataFrame({t("un_col_former", lang): [comp.at[code, "name_" + lang] for code in table.index],
                          **{str(int(d)): [signed(x, lang) for x in table[d]] for d in table.columns}})
    s.table(frame, caption=t("un_cap_gaps", lang, year=b.year))
    s.md(t("br_nat_trends_legend", lang, dims="; ".join(f"{int(d)} = {dim_name(d, lang)}" for d in dims.columns)))
    return s


# --- change since the previous estimate ----------------------------------------------------------------

def change_section(b: UnitBriefing) -> Section:
    """The estimate by dimension against the latest earlier estimate of the same regime, and why it moved
    (an estimate also moves when the set of former provinces with results changes)."""
    lang, c = b.lang, b.card
    s = Section("change", t("br_h_change", lang))
    pv = c.previous
    if pv is None or c.total is None:
        s.note(t("un_change_none", lang, year=b.year))
        return s
    a = pv["year"]
    before = unit_year_scores(b.data, a)
    comparable = comparable_dimensions(a, b.year)
    code = c.unit.code
    rows, moves = [], []
    for d in c.ys.dimensions.columns:
        x0 = before.ys.dimensions.at[code, d] if d in before.ys.dimensions.columns else np.nan
        x1 = c.ys.dimensions.at[code, d]
        ok = int(d) in comparable and pd.notna(x0) and pd.notna(x1)
        if ok:
            moves.append((float(x1 - x0), int(d)))
        rows.append({t("dimension", lang): f"{int(d)}. {dim_name(d, lang)}", str(a): fmt_num(x0, lang),
                     str(b.year): fmt_num(x1, lang), t("br_col_change", lang): signed(x1 - x0, lang) if ok else "–"})
    d = c.total - pv["total"]
    key = "br_total_up" if d > 0 else "br_total_down" if d < 0 else "br_total_same"
    s.md(t(key, lang, a=a, delta=fmt_num(abs(d), lang), before=fmt_num(pv["total"], lang), after=fmt_num(c.total, lang)))
    up = sorted(m for m in moves if m[0] > 0)[::-1][:2]
    down = sorted(m for m in moves if m[0] < 0)[:2]
    if up:
        s.md(t("br_change_up_most", lang, dims=join_words([t("br_dim_gap", lang, name=dim_name(n, lang), gap=signed(x, lang))
                                                      for x, n in up], lang)))
    if down:
        s.md(t("br_change_down_most", lang, dims=join_words([t("br_dim_gap", lang, name=dim_name(n, lang),
                                                          gap=signed(x, lang)) for x, n in down], lang)))
    s.table(pd.DataFrame(rows), caption=t("br_cap_change", lang, a=a, b=b.year))
    if pv.get("estimate"):
        s.note(t("y34_against_estimate", lang, year=a, province=b.province.name(lang)), warning=True)
        return s
    used = lambda uy: set(uy.components[(uy.components["unit"] == code) & uy.components["used"]]["code"])  # noqa: E731
    if used(before) != used(c.uy):
        s.note(t("un_change_members", lang, a=a, b=b.year), warning=True)
    return s


def drivers_section(b: UnitBriefing) -> Section:
    """An unchanged province keeps the drivers section of its own briefing (models fitted on the 63);
    a merged one is pointed to its former provinces' briefings."""
    lang, c = b.lang, b.card
    if c.official:  # the models are fitted on the 63-province panel (2011–2024); none is fitted on the 34 yet
        s = Section("drivers", t("br_h_drivers", lang))
        s.note(t("y34_drivers", lang, year=b.year))
        return s
    if not c.unit.merged:
        from papi_research.briefing.province import build
        own = build(c.unit.members[0], year=b.year, lang=lang, target=b.target_spec, data=b.data)
        s = own.sections["drivers"]
        s.note(t("un_drivers_own", lang, province=b.province.name(lang)))
        return s
    s = Section("drivers", t("br_h_drivers", lang))
    s.note(t("un_change_no_drivers", lang))
    return s


# --- priorities, target, peers (among the 34) -------------------------------------------------------

def unit_priorities(card: UnitScorecard, target: str) -> pd.DataFrame:
    """Sub-dimensions in priority order among the 34 (``year34.priorities_among_34``), judged against the
    estimate's survey margins where it has them (the gap, and the loss since the previous estimate)."""
    from papi_research.analysis.year34 import priorities_among_34, sub_changes_34
    code, uy = card.unit.code, card.uy
    sub_se = None if uy.sub_se is None or card.total is None else uy.sub_se.loc[code]
    changes = None
    if sub_se is not None and card.previous is not None:
        changes = sub_changes_34(card.data, code, card.year, card.previous["year"])
    return priorities_among_34(card.ys, code, target, sub_se=sub_se, changes=changes)


def priorities_section(b: UnitBriefing, pr: pd.DataFrame) -> Section:
    lang = b.lang
    s = Section("priorities", t("br_h_priorities", lang))
    top = pr[pr["below"]].head(N_PRIORITIES) if len(pr) else pr
    noise = bool(len(pr)) and bool(pr.attrs.get("noise"))
    if top.empty:
        s.note(t("un_priorities_none_noise" if noise else "un_priorities_none", lang, year=b.year))
        return s
    s.md(t(_k(b.card, "un_priorities_intro"), lang, k=len(top), n=b.card.ys.n_ranked))
    label = f"label_{lang}"
    table = {
        t("ab_col_no", lang): [str(i) for i in range(1, len(top) + 1)],  # the priority's rank, nothing else
        t("subdimension", lang): [t("ab_priority_label", lang, label=r[label], dimension=dim_name(r["dimension"], lang))
                                  for r in top.to_dict("records")],
        t("score", lang): [fmt_num(x, lang) for x in top["score"]],
        t("un_col_median34", lang): [fmt_num(x, lang) for x in top["national_median"]],
        t("br_col_gap_short", lang): [signed(-x, lang) for x in top["gap_to_median"]],
        t("un_col_target_level", lang): [fmt_num(x, lang) for x in top["target_level"]],
    }
    if noise:  # the margin each gap is judged against, and this year's change (a fall beyond its own margin counts)
        table[t("un_col_margin", lang)] = [fmt_num(x, lang) for x in top["margin"]]
        table[t("br_col_change", lang)] = ["–" if pd.isna(x) else signed(x, lang) for x in top["change"]]
    s.table(pd.DataFrame(table), caption=t(_k(b.card, "un_cap_priorities"), lang, year=b.year))
    s.md(t(_k(b.card, "un_priorities_how"), lang))
    return s


def unit_plan(b: UnitBriefing, pr: pd.DataFrame):
    """The target plan (``targets.TargetPlan``) of the new province, among the new provinces with an estimate."""
    c = b.card
    spec = parse_target(b.target_spec, c.ys)
    cols = pd.DataFrame(columns=["code", "label_vi", "label_en", "gap_to_target"]) if pr.empty else pr
    return plan_target(spec, c.ys, c.unit.code, cols)


def target_section(b: UnitBriefing, pr: pd.DataFrame) -> Section:
    """The province briefing's target section (``briefing.target_section``), planned among the 34."""
    from dataclasses import replace
    from types import SimpleNamespace

    from papi_research.briefing.evidence import target_section as province_target_section
    c = b.card
    plan = unit_plan(b, pr)
    # the province section reads only report.target and report.models.momentum (none for estimates)
    report = SimpleNamespace(target=plan, models=SimpleNamespace(momentum=SimpleNamespace(
        table=pd.DataFrame(columns=["outcome"]))))
    s = province_target_section(replace(b, report=report))
    s.note(t(_k(b.card, "un_target_among"), b.lang, n=c.ys.n_ranked, year=b.year))
    return s


def peers_section(b: UnitBriefing, pr: pd.DataFrame) -> Section:
    """New provinces in the top quartile among the 34 on each priority (same region first)."""
    lang, c = b.lang, b.card
    s = Section("peers", t("un_h_peers", lang))
    ys = c.ys
    units = c.uy.units
    rows = []
    top = pr[pr["below"]].head(N_PRIORITIES) if len(pr) else pr
    for r in top.to_dict("records"):
        col = ys.subdimensions[r["code"]].drop(c.unit.code).dropna()
        if col.empty:
            continue
        p75 = float(np.percentile(ys.subdimensions[r["code"]].dropna(), 75))
        best = sorted(col[col >= p75].index, key=lambda u: (ys.provinces.at[u, "region_en"] != b.province.region_en,
                                                             -col[u], u))[:N_PEERS]
        for u in best:
            same = ys.provinces.at[u, "region_en"] == b.province.region_en
            rows.append({t("subdimension", lang): r[f"label_{lang}"], t("province", lang): units.by_code(u).name(lang),
                         t("region", lang): ys.provinces.at[u, f"region_{lang}"] + (t("br_same_region", lang) if same else ""),
                         t("score", lang): fmt_num(col[u], lang), t("br_col_yours", lang): fmt_num(r["score"], lang)})
    if not rows:
        s.note(t("br_peers_none", lang, year=b.year))
        return s
    s.md(t("un_peers_intro", lang))
    s.table(pd.DataFrame(rows), caption=t("br_cap_peers", lang, year=b.year))
    return s


def notes_section(b: UnitBriefing) -> Section:
    lang, c = b.lang, b.card
    s = Section("notes", t("br_h_notes", lang))
    s.md(t(_k(c, "un_notes_method"), lang, share=fmt_num(100 * MIN_COVERAGE, lang, 0)))
    if c.official:
        s.md(t("y34_official_note", lang))
    est = _estimate_year(b) if c.official else c.uy
    if est is not None:
        s.md(weight_source(est, lang))
    s.md(t(f"br_notes_regime_{regime_of(b.year).key}", lang, year=b.year))
    s.md(t("un_notes_region", lang))
    s.md(t("map_credit", lang))
    s.md(t("boundaries_note", lang))
    s.md(t("citation", lang, year=b.year) + " " + t("un_notes_gso", lang))
    s.md(versions_line(lang, b.data.version_for(b.year, "unit")))  # package version, commit, data version
    return s
