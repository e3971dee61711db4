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
from papi_research.analysis.targets import default_target
from papi_research.analysis.uncertainty import difference_noise, within_noise, year_uncertainty
from papi_research.briefing.base import (RECORD_SCHEMA, TONE, Section, SectionAccess, change_line, dim_name,
                                         join_words, library_warnings, rank_text, record_subject, signed, title_common)
from papi_research.briefing.evidence import analysis_sections
from papi_research.briefing.provenance import records_parameters, versions_line
from papi_research.data.codebook import comparability_notes, regime_of, same_regime
from papi_research.data.i18n import check_lang, fmt_num, t
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
    b.sections.update(analysis_sections(b))
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
