"""The action brief of the national briefing (its first pages): where the country stands, the scores
that put a province in each group, the dimensions on which the country gained or lost, and the
provinces that moved most, in plain words, on the first page; the league table, maps and trends follow as the
evidence."""

from __future__ import annotations

import pandas as pd

from papi_research.briefing.base import Section, dim_name, join_words, signed
from papi_research.data.codebook import comparable_dimensions
from papi_research.data.i18n import fmt_num, t

N_NAMED = 3  # provinces named among the largest gains and falls


def national_action_section(o) -> Section:
    """The brief of the national briefing ``o`` (a ``national.NationalBriefing`` whose overview is built:
    its tiles open the brief)."""
    from papi_research.briefing.national import _previous_regime_year, _ys
    lang = o.lang
    ys = _ys(o.data, o.year, o.year)
    s = Section("action", t("ab_h_action", lang))
    s.md(t("nat_ab_intro", lang))
    s.add("heading", text=t("nat_ab_h_standing", lang), level=3)
    overview = o.sections["overview"]
    for blk in [x for x in overview.blocks if x.kind == "tiles"]:  # the headline numbers open the brief
        overview.blocks.remove(blk)
        s.blocks.append(blk)
    cut = ys.cutoffs["total"]
    strict = ys.rule.tie_rule != "at_or_above"  # 2023, 2024: a province on a cut-off goes to the lower group
    s.md(t("nat_ab_thresholds_strict" if strict else "nat_ab_thresholds", lang, year=o.year, n=ys.n_ranked, max=ys.regime.total_max,
           best=fmt_num(cut["p75"], lang), high=fmt_num(cut["p50"], lang), low=fmt_num(cut["p25"], lang)))
    prev = _previous_regime_year(o.data, o.year)
    s.add("heading", text=t("nat_ab_h_dimensions", lang, year=o.year), level=3)
    if prev is None:
        s.md(t("nat_ab_no_previous", lang, year=o.year))
    else:
        _dimensions(o, s, ys, _ys(o.data, prev, o.year), prev)
        _movers(o, s, prev)
    return s  # about half a page: the evidence follows on the same page, under its own heading


def _dimensions(o, s: Section, ys, before, prev: int) -> None:
    """The change of each comparable dimension's national median since ``prev``, falls and gains apart."""
    lang = o.lang
    moves = []
    for d in comparable_dimensions(prev, o.year):
        if d in ys.dimensions.columns and d in before.dimensions.columns:
            change = round(float(ys.national.at[d, "median"]) - float(before.national.at[d, "median"]), 2)
            if change:
                moves.append((change, int(d)))

    def words(items: list[tuple[float, int]]) -> str:
        return join_words([t("ab_dim_delta", lang, name=dim_name(d, lang), delta=signed(x, lang))
                           for x, d in items], lang)

    falls = sorted(m for m in moves if m[0] < 0)
    gains = sorted((m for m in moves if m[0] > 0), reverse=True)
    s.md(t("nat_ab_dims_down", lang, a=prev, dims=words(falls)) if falls else t("nat_ab_dims_none_down", lang, a=prev))
    if gains:
        s.md(t("nat_ab_dims_up", lang, a=prev, dims=words(gains)))


def _movers(o, s: Section, prev: int) -> None:
    """The provinces whose totals rose and fell most since ``prev`` (the evidence has the full tables)."""
    from papi_research.briefing.national import _place, movers_frame
    lang = o.lang
    mv: pd.DataFrame = movers_frame(o.data, o.year)
    if mv.empty:
        return

    def named(frame: pd.DataFrame) -> str:
        return join_words([f"{_place(o.data, c, o.year).name(lang)} ({signed(x, lang)})"
                           for c, x in zip(frame["code"], frame["change"])], lang)

    up = mv[mv["change"] > 0].head(N_NAMED)
    down = mv[mv["change"] < 0].sort_values(["change", "code"], kind="mergesort").head(N_NAMED)
    s.add("heading", text=t("nat_ab_h_movers", lang, a=prev, b=o.year), level=3)
    if len(up):
        s.md(t("nat_ab_movers_up", lang, names=named(up)))
    if len(down):
        s.md(t("nat_ab_movers_down", lang, names=named(down)))
    if o.year in o.data.years34 and prev not in o.data.years34:
        s.md(t("y34_movers_estimate", lang, a=prev, b=o.year))
    s.md(t("nat_ab_learn", lang))
