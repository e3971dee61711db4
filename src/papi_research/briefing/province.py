"""The provincial briefing: every section of one province's briefing for one year, in one language.

``build(province, year=..., lang=...)`` returns a :class:`Briefing` whose sections
(:class:`~papi_research.briefing.base.Section`) hold finished sentences from the catalogue (``br_*``
keys in ``resources/i18n/briefing.yml``), tables of formatted strings and score tiles;
``Briefing.figure(name)`` draws a chart with :mod:`papi_research.briefing.figures`. Numbers come from
:mod:`papi_research.analysis.scores` (exact scorecards) and
:func:`papi_research.analysis.drivers.drivers_report` (change, models, priorities, target); nothing is
computed here that those modules already compute.

A province-year that is missing or partial still gives a complete briefing: the headline says so
with the official reason, score sections show the national references, and sections that need a
total say why they are empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from papi_research.analysis.drivers import shared_drivers_report
from papi_research.analysis.scores import Scorecard, group_name, scorecard, year_scores
from papi_research.analysis.targets import default_target, round_up
from papi_research.analysis.uncertainty import difference_noise, within_noise, year_uncertainty
from papi_research.briefing.base import (RECORD_SCHEMA, TONE, Section, SectionAccess, change_line, dim_name,
                                         join_words, library_warnings, rank_text, record_subject, signed, title_common)
from papi_research.briefing.provenance import records_parameters, versions_line
from papi_research.data.codebook import comparability_notes, regime_of, same_regime
from papi_research.data.i18n import check_lang, fmt_int, fmt_num, t
from papi_research.data.loader import PapiData, load_cached
from papi_research.data.provinces import Province
from papi_research.data.values import num as _num
from papi_research.errors import ParameterError

SECTIONS = ("action", "headline", "profile", "subdimensions", "change", "drivers", "priorities", "target", "peers",
            "notes")
"""Section keys of a provincial briefing, in reading order."""


FIGURES = ("locator", "profile", "trend", "change")
"""Figures of a provincial briefing, in reading order (4, cheap to draw)."""


def _merger_sentence(province: Province, registry, lang: str) -> str:
    """Where the province went on 1 July 2025 (merged, renamed or unchanged)."""
    new = province.merged_into_vi if lang == "vi" else province.merged_into_en
    if not new:
        return ""
    partners = [p for p in registry if p.merged_into_vi == province.merged_into_vi and p.code != province.code]
    name = province.name(lang)
    if partners:
        members = join_words([name] + [p.name(lang) for p in partners], lang)
        return t("br_merger_merged", lang, name=name, new=new, members=members)
    if new != name:
        return t("br_merger_renamed", lang, name=name, new=new)
    return t("unchanged_since_merger", lang, name=name)


# --- the briefing ---------------------------------------------------------------------------------

@dataclass
class Briefing(SectionAccess):
    """A provincial briefing: the scorecard, the analysis report and the sections in ``lang``."""

    province: Province
    year: int
    lang: str
    target_spec: str
    card: Scorecard
    data: PapiData = field(repr=False)
    report: Any = field(default=None, repr=False)  # drivers.DriversReport when available
    change_result: Any = field(default=None, repr=False)  # change.ChangeResult
    sections: dict[str, Section] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what the libraries warned about, once each
    target_given: bool = True  # False: the default target (the next group up) was used

    def keep_warnings(self, texts: list[str]) -> None:
        """Keep what the libraries warned about while the briefing was built, and quote it in the data notes."""
        self.warnings = list(texts)
        if self.warnings:
            notes = self.sections["notes"]
            last = notes.blocks.pop()  # the versions line stays the last line of the notes
            notes.md(t("br_notes_warnings", self.lang, n=len(self.warnings)))
            notes.md("\n".join(f"- `{text}`" for text in self.warnings))
            notes.blocks.append(last)

    @property
    def comparison_year(self) -> int | None:
        return None if self.change_result is None else self.change_result.from_year


    def title(self) -> str:
        return t("br_title", self.lang, province=self.province.name(self.lang), year=self.year)

    def headline_numbers(self) -> dict:
        """The numbers the headline prints (for tests and the manifest)."""
        c = self.card
        return {"status": c.status, "total": c.total, "total_max": c.total_max, "rank": c.rank,
                "n_ranked": c.ys.n_ranked, "group": c.group,
                "total_text": fmt_num(c.total, self.lang) if c.total is not None else None,
                "rank_text": rank_text(c.rank, c.ys.n_ranked, self.lang) if c.rank is not None else None}

    def figure(self, name: str):
        """Draw one of :data:`FIGURES` (a ``figures.HouseFigure``); library warnings go to the log."""
        with library_warnings(f"{self.province.name_en} {self.year}, figure {name}"):
            return self._figure(name)

    def _figure(self, name: str):
        from papi_research.briefing import figures
        lang = self.lang
        label = self.province.name(lang)
        if name == "profile":
            return figures.dimension_profile(dimension_frame(self.card), lang=lang, label=label)
        if name == "trend":
            return figures.score_trend(trend_frame(self.data, self.province, self.year), lang=lang, label=label,
                                       ylabel=t("br_fig_total_of", lang, max=self.card.total_max))
        if name == "change":
            ch = self.change_result
            return figures.change_bars(self.change_frame(), lang=lang,
                                       noise=None if ch is None else ch.dimension_noise)
        if name == "locator":
            from papi_research.briefing import maps
            return maps.locator([self.province.code], lang=lang, papi_dir=self.data.directory)
        raise ParameterError("name", f"unknown figure {name!r}; choose from {', '.join(FIGURES)}")

    def to_record(self) -> dict:
        """The briefing record (:func:`record`, kind ``province_briefing``)."""
        return _province_record(self)

    def figure_keys(self) -> dict[str, tuple[str, str]]:
        """Figure name → catalogue keys of its caption and alt text (:func:`show_figure`)."""
        return FIGURE_TEXT

    def caption_fields(self) -> dict:
        """The fields figure captions and cell options are filled with."""
        return {"province": self.province.name(self.lang), "year": self.year}

    def change_frame(self) -> pd.DataFrame:
        """Change by dimension (label, change) for the change chart; NaN where not comparable."""
        ch = self.change_result
        if ch is None or ch.by_dimension is None or ch.by_dimension.empty:
            dims = list(self.card.ys.dimensions.columns)
            return pd.DataFrame({"label": [dim_name(d, self.lang) for d in dims], "change": [np.nan] * len(dims)})
        bd = ch.by_dimension
        return pd.DataFrame({"label": [dim_name(d, self.lang) for d in bd["number"]],
                             "change": pd.to_numeric(bd["change"], errors="coerce").to_numpy()})

    def to_dict(self) -> dict:
        return {"province": self.province.to_dict(), "year": self.year, "lang": self.lang,
                "comparison_year": self.comparison_year, "target": self.target_spec,
                "headline": self.headline_numbers(),
                "sections": [s.to_dict() for s in self.sections.values()]}

    def text(self) -> str:
        return "\n\n".join(s.text() for s in self.sections.values())


def dimension_frame(card: Scorecard) -> pd.DataFrame:
    """``card.dimension_table()`` with each dimension score's 95 % survey interval (``ci_low``, ``ci_high``)."""
    dt = card.dimension_table()
    u = year_uncertainty(card.data, card.year) if card.data is not None else None
    se = None if u is None else u.dim_se.get(card.province.code)  # none for a new province's estimate
    noise = None if se is None or pd.isna(se) else difference_noise(float(se))
    score = pd.to_numeric(dt["score"], errors="coerce")
    dt["ci_low"] = np.nan if noise is None else score - noise
    dt["ci_high"] = np.nan if noise is None else score + noise
    dt["noise"] = noise
    return dt


def trend_frame(data: PapiData, province: Province, year: int) -> pd.DataFrame:
    """The province's total and the national/regional references for every year of ``year``'s regime."""
    rows = []
    for y in data.years:
        if not same_regime(y, year) or y > year:
            continue
        ys = year_scores(data, y)
        rows.append({"year": y, "province": ys.provinces.at[province.code, "total"],
                     "national_median": ys.national.at["total", "median"],
                     "regional_median": ys.regional_median(province.region_en)["total"],
                     "national_best": ys.national.at["total", "max"]})
    return pd.DataFrame(rows)


@records_parameters
def build(province: str | Province, year: int | None = None, comparison_year: int | None = None,
          lang: str = "vi", target: str | None = None, data_dir: str | None = None,
          data: PapiData | None = None) -> Briefing:
    """Every section of the briefing of ``province`` in ``year``, in one language.

    Parameters
    ----------
    province : a ``Province`` or any name or code ``Provinces.lookup`` accepts ("Sơn La", "son-la", "P09", "14").
    year : the PAPI year (None: the latest year with data).
    comparison_year : the year "what moved the score" compares with (None: the latest earlier year of
        the same regime with a total).
    lang : "vi" or "en": every sentence, number and label of the briefing.
    target : "group:best" | "group:high_average" | "group:low_average" | "top:N" | a score, for the
        target section and the priorities; None: the next group up (for the best group, keeping it).
    data_dir, data : where the PAPI data is (see ``paths``), or data already loaded.

    Returns
    -------
    Briefing : the scorecard (``card``), the analysis report (``report``, a ``drivers.DriversReport``),
    the sections in reading order (``sections``; also ``b.headline`` …), the library warnings met
    (``warnings``), ``to_record()`` for the renderers and ``figure(name)`` for the charts.
    """
    lang = check_lang(lang)
    if data is None:
        data = load_cached(None if data_dir is None else str(data_dir))
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
            raise ParameterError("year", f"must be a year such as {data.latest_year} or None; got {year!r}")
        data.check_year(int(year))
    if comparison_year is not None:
        if isinstance(comparison_year, bool) or not isinstance(comparison_year, (int, np.integer)):
            raise ParameterError("comparison_year", f"must be a year or None; got {comparison_year!r}")
        data.check_year(int(comparison_year))
        if year is not None and int(comparison_year) == int(year):
            raise ParameterError("comparison_year", f"must differ from year ({year})")
    card = scorecard(data, province, year)
    given = target is not None and str(target).strip() != ""
    if not given:
        target = default_target(card.group)
    with library_warnings(f"{card.province.name_en} {card.year}") as caught:
        report = shared_drivers_report(data, card.province, card.year, target=target,
                                       comparison_year=comparison_year)
        b = Briefing(province=card.province, year=card.year, lang=lang, target_spec=target, card=card,
                     data=data, report=report, change_result=report.change, target_given=given)
        _fill_sections(b)
    b.keep_warnings(caught)
    return b




def _fill_sections(b: Briefing) -> None:
    b.sections = {
        "headline": headline_section(b),
        "profile": profile_section(b),
        "subdimensions": subdimension_section(b),
        "change": change_section(b),
    }
    b.sections.update(_analysis_sections(b))
    b.sections["notes"] = notes_section(b)
    from papi_research.briefing.action import action_section
    b.sections = {"action": action_section(b), **b.sections}


# --- sections: scores -----------------------------------------------------------------------------

def headline_section(b: Briefing) -> Section:
    """Score, rank, group, change against the comparison year, region and the 2025 boundary note."""
    lang, c, p = b.lang, b.card, b.province
    name = p.name(lang)
    s = Section("headline", t("br_h_headline", lang))  # the document title comes from the renderer
    s.md(t("br_subtitle", lang, year=b.year))
    ys = c.ys
    nat_median = ys.national.at["total", "median"]
    reg_median = ys.regional_median(p.region_en)["total"]
    if c.status == "complete":
        u = c.uncertainty()
        has_ci = u.get("ci_low") is not None
        s.md(t("br_headline", lang, year=b.year, province=name, total=fmt_num(c.total, lang), max=c.total_max,
               rank=c.rank, n=ys.n_ranked, group=group_name(c.group, lang)))
        if has_ci:
            s.md(t("br_headline_ci", lang, lo=fmt_num(u["ci_low"], lang), hi=fmt_num(u["ci_high"], lang),
                   best=u["rank_range"][0], worst=u["rank_range"][1], n=ys.n_ranked,
                   group=group_name(c.group, lang), p=fmt_num(100 * u["p_keep_group"], lang, 0)))
            s.note(u["ci_basis_text"][lang])
        if c.region_rank is not None:
            s.md(t("region_rank_sentence", lang, province=name, rank=c.region_rank, n=c.n_region_ranked,
                   region=p.region(lang)))
            if u.get("region_rank_range"):
                s.md(t("unc_region_rank_range", lang, rank=c.region_rank, p=fmt_num(100 * u["p_region_rank"], lang, 0),
                       best=u["region_rank_range"][0], worst=u["region_rank_range"][1]))
        s.md(_change_sentence(b))
        if ys.rule.basis == "computed":
            s.note(t("br_group_computed_note", lang, year=b.year))
    else:
        key = "br_status_missing" if c.status == "missing" else "br_status_partial"
        present = [int(d) for d in ys.dimensions.columns if pd.notna(ys.dimensions.at[p.code, d])]
        absent = [int(d) for d in ys.dimensions.columns if int(d) not in present]
        s.note(t(key, lang, province=name, year=b.year, n=ys.regime.n_dimensions, k=len(present),
                 missing=join_words([str(d) for d in absent], lang), present=join_words([str(d) for d in present], lang)),
               warning=True)
        s.note(t("br_official_reason", lang,
                 reason=b.data.gap_summary(b.year, p.code, lang) or t("br_no_reason", lang)))
        if c.previous:
            pv = c.previous
            s.md(t("br_last_complete", lang, province=name, year=pv["year"], total=fmt_num(pv["total"], lang),
                   max=c.total_max, rank=pv["rank"], n=pv["n_ranked"], group=group_name(pv["group"], lang)))
    s.md(t("br_region", lang, province=name, region=p.region(lang), reg_median=fmt_num(reg_median, lang),
           nat_median=fmt_num(nat_median, lang), max=c.total_max))
    s.note(t("boundaries_note", lang) + " " + _merger_sentence(p, b.data.provinces, lang))
    return s


def status_tiles(b: Briefing) -> list[dict]:
    """Tiles of a province-year without a total: none, the rank's reference and the last total."""
    lang, c = b.lang, b.card
    tiles = [{"label": t("br_tile_total", lang), "value": "–", "sub": t("br_tile_no_total", lang),
              "tone": "neutral"},
             {"label": t("br_tile_rank", lang), "value": "–",
              "sub": t("br_tile_rank_sub", lang, n=c.ys.n_ranked), "tone": "neutral"}]
    if c.previous:
        pv = c.previous
        tiles.append({"label": t("br_tile_last_total", lang, year=pv["year"]), "value": fmt_num(pv["total"], lang),
                      "sub": rank_text(pv["rank"], pv["n_ranked"], lang), "tone": "neutral"})
    return tiles


def _change_sentence(b: Briefing) -> str:
    """Total and rank against the comparison year (or why there is none)."""
    lang, ch = b.lang, b.change_result
    if ch is None or ch.from_year is None:
        return t("br_no_comparison", lang, year=b.year)
    if not ch.same_regime:
        return t("br_comparison_other_regime", lang, a=ch.from_year, b=b.year)
    if ch.total_change is None:
        if b.card.total is None:
            return t("br_comparison_no_total_now", lang, a=ch.from_year, b=b.year)
        return t("br_comparison_no_total", lang, a=ch.from_year)
    d = ch.total_change
    noise = ch.total_change_noise
    if within_noise(d, noise):
        out = t("br_total_on_par", lang, a=ch.from_year, delta=fmt_num(abs(d), lang), noise=fmt_num(noise, lang),
                before=fmt_num(ch.total_from, lang), after=fmt_num(ch.total_to, lang))
    else:
        key = "br_total_up" if d > 0 else "br_total_down" if d < 0 else "br_total_same"
        out = t(key, lang, a=ch.from_year, delta=fmt_num(abs(d), lang), before=fmt_num(ch.total_from, lang),
                after=fmt_num(ch.total_to, lang))
        if noise is not None:
            out += " " + t("br_change_noise", lang, noise=fmt_num(noise, lang))
    if ch.rank_common is not None:  # places counted among the provinces ranked in both years
        rk = "br_rank_up" if ch.rank_change > 0 else "br_rank_down" if ch.rank_change < 0 else "br_rank_same"
        out += " " + t(rk + "_common", lang, places=abs(ch.rank_change), n=ch.rank_common["n"],
                       from_=ch.rank_common["from"], to=ch.rank_common["to"],
                       before=rank_text(ch.rank_from, ch.n_ranked_from, lang),
                       after=rank_text(ch.rank_to, ch.n_ranked_to, lang))
    elif ch.rank_change is not None:
        rk = "br_rank_up" if ch.rank_change > 0 else "br_rank_down" if ch.rank_change < 0 else "br_rank_same"
        out += " " + t(rk, lang, places=abs(ch.rank_change), before=rank_text(ch.rank_from, ch.n_ranked_from, lang),
                       after=rank_text(ch.rank_to, ch.n_ranked_to, lang))
    return out


def profile_section(b: Briefing) -> Section:
    """Dimension tiles (score, rank, median) and a sentence on strengths and weaknesses."""
    lang, c = b.lang, b.card
    s = Section("profile", t("br_h_profile", lang))
    dt = dimension_frame(c)
    noise = _num(dt["noise"].iloc[0]) if len(dt) else None
    items = []
    for r in dt.to_dict("records"):
        sub = (t("br_tile_dim_sub", lang, rank=rank_text(r["rank"], r["n"], lang), median=fmt_num(r["national_median"], lang))
               if r["score"] is not None and pd.notna(r["score"])
               else t("br_tile_dim_missing", lang, median=fmt_num(r["national_median"], lang)))
        items.append({"label": f"{r['number']}. {r['short_' + lang]}", "value": fmt_num(r["score"], lang),
                      "sub": sub, "tone": _dimension_tone(r, noise)})
    s.add("tiles", items=items)
    have = dt[dt["score"].notna()].copy()
    if have.empty:
        s.md(t("br_profile_none", lang, year=b.year))
        return s
    have["gap"] = have["score"] - have["national_median"]
    margin = 0.0 if noise is None else noise  # differences inside the survey margin read "on par"
    par = have[have["gap"].abs() <= margin]
    if noise is None:
        s.md(t("br_profile_above", lang, k=int((have["gap"] > 0).sum()), n=len(dt), year=b.year))
    else:
        s.md(t("br_profile_counts", lang, year=b.year, above=int((have["gap"] > margin).sum()), par=len(par),
               below=int((have["gap"] < -margin).sum()), noise=fmt_num(noise, lang)))
    strong = have.sort_values("gap", ascending=False).head(2)
    weak = have.sort_values("gap").head(2)
    strong = strong[strong["gap"] > margin]
    weak = weak[weak["gap"] < -margin]

    def named(frame):
        return join_words([t("br_dim_gap", lang, name=r["short_" + lang], gap=signed(r["gap"], lang))
                      for r in frame.to_dict("records")], lang)
    if len(strong):
        s.md(t("br_profile_strong", lang, dims=named(strong)))
    if len(weak):
        s.md(t("br_profile_weak", lang, dims=named(weak)))
    if noise is not None and len(par):
        s.md(t("br_profile_on_par", lang, dims=named(par)))
    from papi_research.briefing.action import position_words
    s.md(position_words(b, dt))  # the groups said with whether their gaps are beyond the margin
    return s


def _dimension_tone(r: dict, noise: float | None) -> str:
    """A dimension tile's colour: its group's (best green, poor red) only when its gap to the national median
    is beyond the survey margin, so a tile never looks like a loss the words call "on par"."""
    group = r["group"] if isinstance(r["group"], str) else None
    score, median = _num(r["score"]), _num(r["national_median"])
    if noise is not None and score is not None and median is not None and abs(score - median) <= noise:
        return "neutral"
    return TONE.get(group, "neutral")


def subdimension_section(b: Briefing) -> Section:
    """The sub-dimension table with the official labels of that year."""
    lang, c = b.lang, b.card
    s = Section("subdimensions", t("br_h_subdimensions", lang))
    st = c.subdimension_table()
    label = "label_vi" if lang == "vi" else "label_en"
    frame = pd.DataFrame({
        t("dimension", lang): [f"{int(d)}. {dim_name(d, lang)}" for d in st["dimension"]],
        t("subdimension", lang): st[label].tolist(),
        t("score", lang): [fmt_num(x, lang) for x in st["score"]],
        t("br_col_max", lang): [fmt_num(x, lang) for x in st["max"]],
        t("national_median", lang): [fmt_num(x, lang) for x in st["national_median"]],
        t("br_col_gap_short", lang): [signed(None if pd.isna(sc) else sc - m, lang)
                                for sc, m in zip(st["score"], st["national_median"])],
        t("rank", lang): [("–" if pd.isna(r) else str(int(r))) for r in st["rank"]],
    })
    if c.status == "missing":
        s.note(t("br_subdimensions_missing", lang, year=b.year, province=b.province.name(lang)))
        return s
    s.md(t("br_subdimensions_intro", lang, year=b.year, n=len(st)))
    s.table(frame, caption=t("br_cap_subdimensions", lang, year=b.year, province=b.province.name(lang)))
    return s


def change_section(b: Briefing) -> Section:
    """What moved the score: the change by dimension and the largest sub-dimension moves."""
    lang, ch = b.lang, b.change_result
    s = Section("change", t("br_h_change", lang))
    if ch is None or ch.from_year is None:
        s.note(t("br_no_comparison", lang, year=b.year))
        return s
    a = ch.from_year
    s.md(_change_sentence(b))
    bd = ch.by_dimension
    if b.card.status == "missing":
        return s
    if bd is not None and len(bd):
        moved = bd[pd.to_numeric(bd["change"], errors="coerce").notna()].copy()
        moved["change"] = moved["change"].astype(float)
        noise = ch.dimension_noise
        margin = 0.0 if noise is None else noise  # a change inside the survey margin is "on par"
        up = moved[moved["change"] > margin].sort_values("change", ascending=False).head(2)
        down = moved[moved["change"] < -margin].sort_values("change").head(2)
        par = moved[moved["change"].abs() <= margin] if noise is not None else moved.iloc[0:0]

        def named(frame):
            return join_words([t("br_dim_gap", lang, name=dim_name(r["number"], lang),
                            gap=signed(r["change"], lang)) for r in frame.to_dict("records")], lang)
        if len(up):
            s.md(t("br_change_up_most", lang, dims=named(up)))
        if len(down):
            s.md(t("br_change_down_most", lang, dims=named(down)))
        if len(par):
            s.md(t("br_change_on_par", lang, a=a, noise=fmt_num(noise, lang), dims=named(par)))
        reason_key = {"missing": "br_reason_missing", "not_comparable": "br_reason_not_comparable",
                      "restructured_labels": "br_reason_restructured", "restructured_maxima": "br_reason_restructured"}
        frame = pd.DataFrame({
            t("dimension", lang): [f"{int(r['number'])}. {dim_name(r['number'], lang)}" for r in bd.to_dict("records")],
            str(a): [fmt_num(_num(x), lang) for x in bd["from_score"]],
            str(b.year): [fmt_num(_num(x), lang) for x in bd["to_score"]],
            t("br_col_change", lang): [signed(_num(x), lang) for x in bd["change"]],
            t("br_col_note", lang): [t(reason_key[r], lang) if isinstance(r, str) and r in reason_key else ""
                                     for r in bd["reason"]],
        })
        s.table(frame, caption=t("br_cap_change", lang, a=a, b=b.year))
    sub = ch.by_subdimension
    if sub is not None and len(sub):
        sub = sub.copy()
        sub["abs"] = sub["change"].abs()
        top = sub.sort_values(["abs", "dimension"], ascending=[False, True]).head(5)
        label = "label_vi" if lang == "vi" else "label_en"
        frame = pd.DataFrame({
            t("subdimension", lang): [f"{int(r['dimension'])}. {r[label]}" for r in top.to_dict("records")],
            str(a): [fmt_num(x, lang) for x in top["from_score"]],
            str(b.year): [fmt_num(x, lang) for x in top["to_score"]],
            t("br_col_change", lang): [signed(x, lang) for x in top["change"]],
        })
        s.table(frame, caption=t("br_cap_change_sub", lang, a=a, b=b.year))
    for n in getattr(ch, "notes", []) or []:
        s.note(n.text(lang))
    return s


# --- sections: analysis (drivers report) ---------------------------------------------------------

def _analysis_sections(b: Briefing) -> dict[str, Section]:
    if b.report is None:
        out = {}
        for key in ("drivers", "priorities", "target", "peers"):
            sec = Section(key, t(f"br_h_{key}", b.lang))
            sec.note(t("br_analysis_unavailable", b.lang))
            out[key] = sec
        return out
    return {"drivers": drivers_section(b), "priorities": priorities_section(b), "target": target_section(b),
            "peers": peers_section(b)}


def _outcome_name(b: Briefing, outcome: str) -> str:
    lang = b.lang
    if outcome == "total":
        return t("br_outcome_total", lang)
    if outcome == "pci_weighted":
        return t("br_outcome_pci", lang)
    if outcome.startswith("D") and outcome[1:].isdigit():
        return dim_name(int(outcome[1:]), lang)
    try:
        return b.data.codebook.label(b.year, outcome, lang)
    except KeyError:
        return outcome


def _term_name(term: str, lang: str) -> str:
    if term.startswith("D") and term[1:].isdigit():
        return dim_name(int(term[1:]), lang)
    key = f"br_term_{term}"
    try:
        return t(key, lang)
    except KeyError:
        return term


def _ci(r: dict, lang: str, decimals: int = 3) -> str:
    return t("br_ci", lang, est=fmt_num(_num(r["estimate"]), lang, decimals, sign=True),
             lo=fmt_num(_num(r["ci_low"]), lang, decimals, sign=True),
             hi=fmt_num(_num(r["ci_high"]), lang, decimals, sign=True))


def drivers_section(b: Briefing) -> Section:
    """Regression results in plain words (trend, context, momentum, PCI) and a compact table."""
    lang, rep = b.lang, b.report
    s = Section("drivers", t("br_h_drivers", lang))
    models = rep.models
    s.md(t("br_drivers_intro", lang))
    # what separates provinces this year
    var = rep.variance.by_dimension.sort_values("share", ascending=False)
    top = var.head(2)
    s.md(t("br_variance", lang, year=b.year, n=rep.variance.n,
           dims=join_words([t("br_dim_share", lang, name=dim_name(r["number"], lang), share=fmt_num(100 * r["share"], lang, 0))
                       for r in top.to_dict("records")], lang)))
    chosen = []
    for f in models.fits:
        if f.kind == "trend" and f.outcome != "total":
            continue
        if f.kind in ("context", "momentum") and f.outcome != "total":
            continue
        chosen.append(f)
    for f in chosen:
        if f.reading(lang):
            s.md("- " + f.reading(lang))
    ctx = models.context
    if ctx is not None:
        r = ctx.table[ctx.table["outcome"] == "total"]
        if not r.empty and _num(r["residual"].iloc[0]) is not None:
            r = r.iloc[0]
            if bool(r["signal"]):  # an expected score only when the context model has signal
                key = "br_context_above" if r["residual"] >= 0 else "br_context_below"
                s.md(t(key, lang, province=b.province.name(lang), expected=fmt_num(r["expected"], lang),
                       lo=fmt_num(_num(r["pi_low"]), lang), hi=fmt_num(_num(r["pi_high"]), lang),
                       actual=fmt_num(r["score"], lang), gap=fmt_num(abs(r["residual"]), lang)))
            else:
                s.md(t("br_context_no_signal", lang))
        if ctx.vif and max(ctx.vif.values()) >= 5:
            term, v = max(ctx.vif.items(), key=lambda kv: kv[1])
            s.note(t("br_context_collinear", lang, vif=fmt_num(v, lang, 1), term=_term_name(term, lang)))
    rows = []
    for f in chosen:
        if f.kind == "pci":  # many dimension terms: said in words above, not tabulated
            continue
        coefs = f.coefficients[~f.coefficients["term"].str.contains(":") & (f.coefficients["term"] != "const")]
        for r in coefs.to_dict("records"):
            rows.append({t("br_col_model", lang): t(f"br_model_{f.kind}", lang),
                         t("br_col_outcome", lang): _outcome_name(b, f.outcome),
                         t("br_col_term", lang): _term_name(r["term"], lang),
                         t("br_col_estimate", lang): _ci(r, lang),
                         "n": fmt_int(f.n, lang),
                         "R²": fmt_num(f.r2_within if f.r2_within is not None else f.r2, lang)})
    if rows:
        s.table(pd.DataFrame(rows), caption=t("br_cap_models", lang))
        s.md(t("br_models_how", lang))
    return s


def priorities_section(b: Briefing) -> Section:
    """Action-plan lines and their table (score, median, gap, trend, rank gain, lead agency, peers)."""
    lang, rep = b.lang, b.report
    s = Section("priorities", t("br_h_priorities", lang))
    lines = rep.priorities.lines
    if not lines:
        if rep.priorities.table["priority"].notna().any():  # scored, but nothing beyond the survey noise
            s.note(t("an_priority_none_beyond_noise", lang, year=b.year))
        else:
            s.note(t("br_priorities_none", lang, year=b.year))
        for n in rep.priorities.notes:
            s.note(n.text(lang))
        return s
    s.md(t("br_priorities_intro", lang, k=len(lines), year=b.year))
    s.md("\n".join(f"{i}. {ln[f'sentence_{lang}']}" for i, ln in enumerate(lines, 1)))
    frame = pd.DataFrame({
        t("ab_col_no", lang): [str(i) for i in range(1, len(lines) + 1)],  # the priority's rank, nothing else
        t("subdimension", lang): [t("ab_priority_label", lang, label=ln[f"label_{lang}"],
                                    dimension=dim_name(ln["dimension"], lang)) for ln in lines],
        t("score", lang): [fmt_num(ln["score"], lang) for ln in lines],
        t("national_median", lang): [fmt_num(ln["national_median"], lang) for ln in lines],
        t("br_col_gap_short", lang): [signed(None if ln["gap_to_median"] is None else -ln["gap_to_median"], lang)
                                      for ln in lines],
        t("br_col_trend", lang): [_trend_ci(b, ln["code"], lang) for ln in lines],
        t("br_col_rank_gain", lang): [fmt_int(ln["rank_gain_at_median"], lang) for ln in lines],
        t("br_col_stability", lang): [fmt_num(100 * ln["stability"], lang, 0) + "%" if ln.get("stability") is not None
                                      else "–" for ln in lines],
    })  # lead agencies are in the action plan, provinces to learn from in their own section: 8 columns that fit
    s.table(frame, caption=t("br_cap_priorities", lang, year=b.year))
    s.md(t("br_priorities_how", lang))
    s.md(t("br_priorities_stability", lang, n=fmt_int(_priority_draws(), lang), k=len(lines)))
    fragile = [ln for ln in lines if ln.get("stability") is not None and ln["stability"] < _fragile()]
    if fragile:
        s.note(t("br_priorities_fragile", lang, threshold=int(100 * _fragile()),
                 items=join_words([ln[f"label_{lang}"] for ln in fragile], lang)), warning=True)
    for n in rep.priorities.notes:
        if n.key in ("an_priority_agency_suggested", "an_priority_no_trend", "an_priority_no_rank_gain"):
            s.note(n.text(lang))
    return s


def _priority_draws() -> int:
    from papi_research.analysis.priorities import N_WEIGHTINGS
    return N_WEIGHTINGS


def _fragile() -> float:
    from papi_research.analysis.priorities import FRAGILE
    return FRAGILE


def _trend_ci(b: Briefing, code: str, lang: str) -> str:
    """The sub-dimension's trend against the median with its 95 % interval ("–" without a trend)."""
    tab = b.report.models.trend.table
    hit = tab[tab["outcome"] == code]
    if hit.empty or _num(hit["slope"].iloc[0]) is None:
        return "–"
    r = hit.iloc[0]
    return t("br_ci", lang, est=signed(r["slope"], lang, 3), lo=signed(r["ci_low"], lang, 3),
             hi=signed(r["ci_high"], lang, 3))


def target_section(b: Briefing) -> Section:
    """Points needed for the target, the path, the counterfactual rank and the momentum outlook."""
    lang, plan = b.lang, b.report.target
    s = Section("target", t("br_h_target", lang))
    label = b.report.target.spec.label(b.lang)
    if plan.needed_points is None:
        s.note(t("br_target_no_total", lang, year=b.year, target=label))
    elif plan.already_met:
        s.md(t("br_target_met", lang, province=b.province.name(lang), target=label, year=b.year,
               total=fmt_num(plan.total, lang), cutoff=fmt_num(plan.cutoff, lang)))
    else:
        s.md(t("br_target_needed", lang, province=b.province.name(lang), target=label,
               points=fmt_num(plan.needed_shown, lang), total=fmt_num(plan.total, lang),
               goal=fmt_num(round_up(plan.goal), lang), cutoff=fmt_num(plan.cutoff, lang)))
        if plan.margin is not None:
            key = "br_target_margin_within" if plan.needed_points <= plan.margin else "br_target_margin_beyond"
            s.md(t(key, lang, points=fmt_num(plan.needed_shown, lang), margin=fmt_num(plan.margin, lang)))
        if len(plan.path):
            share = float(plan.path["share"].iloc[0])
            s.md(t("br_target_path", lang, k=len(plan.path), share=fmt_num(100 * share, lang, 0)))
            label_col = f"label_{lang}"
            frame = pd.DataFrame({
                t("subdimension", lang): plan.path[label_col].tolist(),
                t("br_col_gap_target", lang): [fmt_num(x, lang) for x in plan.path["gap"]],
                t("br_col_share", lang): [fmt_num(100 * x, lang, 0) + "%" for x in plan.path["share"]],
                t("br_col_points", lang): [signed(x, lang) for x in plan.path["points"]],
            })
            s.table(frame, caption=t("br_cap_target", lang, target=label))
        if plan.rank_after is not None:
            s.md(t("br_target_rank_after", lang, rank_now=plan.rank_now, rank_after=plan.rank_after,
                   n=plan.n_ranked, group=group_name(plan.group_after, lang) or "–"))
        if plan.reachable is False:
            s.note(t("br_target_unreachable", lang, points=fmt_num(plan.needed_points - (plan.path_points or 0), lang)),
                   warning=True)
    s.note(t("br_target_others_held", lang, year=b.year))
    mom = b.report.models.momentum.table
    r = mom[mom["outcome"] == "total"]
    if not r.empty and _num(r["expected_next"].iloc[0]) is not None:
        r = r.iloc[0]
        s.md(t("br_momentum", lang, expected=fmt_num(r["expected_next"], lang), lo=fmt_num(r["pi_low"], lang),
               hi=fmt_num(r["pi_high"], lang)))
        goal = _num(r["cutoff"])
        if _num(r["p_clear"]) is not None and goal is not None and not plan.already_met:
            s.md(t("br_momentum_clear", lang, p=fmt_num(100 * r["p_clear"], lang, 0), cutoff=fmt_num(round_up(goal), lang)))
    return s


def peers_section(b: Briefing) -> Section:
    """Provinces to learn from on each priority sub-dimension (top quartile; same region first)."""
    lang, rep = b.lang, b.report
    s = Section("peers", t("br_h_peers", lang))
    lines = rep.priorities.lines
    sub = year_scores(b.data, b.year).subdimensions
    rows = []
    for ln in lines:
        for code in ln["learn_from"]:
            p = b.data.provinces.by_code(code)
            rows.append({t("subdimension", lang): ln[f"label_{lang}"], t("province", lang): p.name(lang),
                         t("region", lang): p.region(lang) + (t("br_same_region", lang)
                                                               if p.region_en == b.province.region_en else ""),
                         t("score", lang): fmt_num(_num(sub.at[code, ln["code"]]), lang),
                         t("br_col_yours", lang): fmt_num(ln["score"], lang)})
    if not rows:
        s.note(t("br_peers_none", lang, year=b.year))
        return s
    s.md(t("br_peers_intro", lang))
    s.table(pd.DataFrame(rows), caption=t("br_cap_peers", lang, year=b.year))
    # the best province of each dimension, nationally and in the region
    dt = b.card.dimension_table()
    reg_codes = [p.code for p in b.data.provinces if p.region_en == b.province.region_en and p.code != b.province.code]
    ys = year_scores(b.data, b.year)
    best_rows = []
    for r in dt.to_dict("records"):
        d = int(r["number"])
        col = ys.dimensions[d]
        reg = col.loc[reg_codes].dropna()
        reg_best = reg.idxmax() if len(reg) else None
        best_rows.append({t("dimension", lang): f"{d}. {r['short_' + lang]}",
                          t("br_col_best_nat", lang): f"{b.data.provinces.by_code(r['best_province']).name(lang)} "
                                                      f"({fmt_num(r['national_best'], lang)})",
                          t("br_col_best_reg", lang): "–" if reg_best is None else
                          f"{b.data.provinces.by_code(reg_best).name(lang)} ({fmt_num(reg[reg_best], lang)})"})
    s.table(pd.DataFrame(best_rows), caption=t("br_cap_best", lang, year=b.year))
    return s


# --- sections: data notes --------------------------------------------------------------------------

def notes_section(b: Briefing) -> Section:
    """Regime and breaks, gaps of the year with their official status, sources, versions."""
    lang, c = b.lang, b.card
    ys = c.ys
    s = Section("notes", t("br_h_notes", lang))
    s.md(t(f"br_notes_regime_{regime_of(b.year).key}", lang, year=b.year))
    s.md("\n".join("- " + line for line in comparability_notes(lang)))
    if ys.rule.basis == "computed":
        s.md(t("br_notes_groups_computed", lang, year=b.year))
    elif ys.rule.tie_rule == "strictly_above":
        s.md(t("br_notes_groups_strict", lang, year=b.year, counts=ys.rule.official_counts or ""))
    else:
        s.md(t("br_notes_groups_default", lang, year=b.year))
    s.md(" ".join(uncertainty_notes(b)))
    gaps = ys.provinces[ys.provinces["status"] != "complete"]
    if len(gaps):
        rows = []
        for code, r in gaps.iterrows():
            p = b.data.provinces.by_code(code)
            rows.append({t("province", lang): p.name(lang), t("status", lang): t("status_" + r["status"], lang),
                         t("br_col_official", lang): b.data.gap_summary(b.year, code, lang) or t("br_no_reason", lang)})
        s.md(t("br_notes_gaps", lang, year=b.year, n=len(gaps), ranked=ys.n_ranked))
        s.table(pd.DataFrame(rows), caption=t("br_cap_gaps", lang, year=b.year))
    else:
        s.md(t("br_notes_no_gaps", lang, year=b.year, ranked=ys.n_ranked))
    if b.report is not None:
        extra = [n.text(lang) for n in b.report.notes.items if not n.key.startswith(_NOTES_SHOWN_ELSEWHERE)]
        if extra:
            s.md(t("br_notes_analysis", lang))
            s.md("\n".join("- " + x for x in extra))
    s.md(t("boundaries_note", lang))
    s.md(t("map_credit", lang))  # the locator map's boundaries
    s.md(t("citation", lang, year=b.year))
    if b.report is not None and _uses_companion(b.report):
        s.md(t("br_notes_companion", lang))
    s.md(versions_line(lang, b.data.version))  # package version, commit, data version
    return s


def uncertainty_notes(b: Briefing) -> list[str]:
    """How the survey margins are set (the interval's basis, how a dimension's and a sub-dimension's
    margin follow from the total's) and which verdicts the rule for years without intervals decides."""
    lang, c = b.lang, b.card
    u = c.uncertainty()
    if u.get("se") is None:
        return []
    out = [u["ci_basis_text"][lang],
           t("unc_margins_derived", lang, n_dims=c.ys.regime.n_dimensions, dim_margin=fmt_num(u["dimension_margin"], lang))]
    sens = c.sensitivity()
    if sens is None:
        return out
    items = []
    labels = dict(zip(c.ys.structure["code"], c.ys.structure[f"label_{lang}"]))
    for f in sens["flips"]:
        if f["kind"] == "total_change":
            name, pre = t("unc_flip_total_change", lang), "unc_verdict_change_"
        elif f["kind"] == "dimension":
            name, pre = dim_name(int(f["item"][1:]), lang), "unc_verdict_"
        else:
            name, pre = labels.get(f["item"], f["item"]), "unc_verdict_"
        items.append(t("unc_flip_item", lang, item=name, a=t(pre + f["verdict_national"], lang),
                       b=t(pre + f["verdict_own"], lang)))
    fields = dict(margin=fmt_num(sens["margin"], lang), margin_main=fmt_num(u["margin"], lang))
    out.append(t("unc_sensitivity_flips", lang, k=len(items), items="; ".join(items), **fields) if items
               else t("unc_sensitivity_none", lang, **fields))
    return out


_NOTES_SHOWN_ELSEWHERE = ("an_change_", "an_boundaries", "an_status_", "an_groups_computed", "an_target_",
                          "an_priority_agency_suggested", "an_priority_no_trend", "an_priority_no_rank_gain")


def _uses_companion(report) -> bool:
    """Whether the drivers report fitted models on the companion panels (PCI, statistical yearbook)."""
    models = report.models
    return models.context is not None or bool(models.pci)


# --- the record: what the title, the site and the manifest read from the executed notebook ----------

FIGURE_TEXT = {**{name: (f"br_cap_fig_{name}", f"br_alt_fig_{name}") for name in FIGURES if name != "locator"},
               "locator": ("map_cap_locator", "map_alt_locator")}
"""Catalogue keys of each figure's caption and alt text."""


def title_facts(card: Scorecard, change, lang: str, registry) -> dict[str, str]:
    """The title block and footer sentences of a briefing, in ``lang``.

    The change line follows ``change`` (the decomposition the body uses, so it honours
    ``comparison_year``), not the scorecard's default previous year.
    """
    p = card.province
    name = p.name(lang)
    if card.status == "complete":
        score = t("rd_score_line", lang, total=fmt_num(card.total, lang), max=card.total_max,
                  rank=card.rank, n=card.ys.n_ranked, group=group_name(card.group, lang))
        score = score[:1].upper() + score[1:]
    else:
        score = t("rd_no_total", lang, year=card.year, status=t("status_" + card.status, lang))
    ok = change is not None and change.from_year is not None and change.total_change is not None
    prev = {"year": change.from_year, "rank": change.rank_from, "n_ranked": change.n_ranked_from} if ok else None
    return {**title_common(lang, card.year), "doc_type": t("rd_doc_type", lang),
            "title": t("rd_title", lang, province=name, year=card.year), "region": p.region(lang),
            "score_line": score, "change_line": change_line(lang, prev, change.total_change if ok else None),
            "merged": _merger_sentence(p, registry, lang), "contents_note": t("rd_contents_note", lang)}


def _province_record(b: Briefing) -> dict:
    c = b.card
    complete = c.total is not None
    return {"schema": RECORD_SCHEMA, "kind": "province_briefing", "province": record_subject(b.province),
            "year": int(b.year), "lang": b.lang, "comparison_year": b.comparison_year, "target": b.target_spec,
            "status": c.status, "total": _num(c.total), "total_max": int(c.total_max),
            "rank": None if c.rank is None else int(c.rank),
            "n_ranked": int(c.ys.n_ranked) if complete else None, "group": c.group,
            "region_rank": None if c.region_rank is None else int(c.region_rank),
            "n_region_ranked": None if c.region_rank is None else int(c.n_region_ranked),
            "data_version": b.data.version,
            "title": title_facts(c, b.change_result, b.lang, b.data.provinces)}
