"""The evidence sections of a provincial briefing that read the drivers report: the regression models,
the priority ranking, the target in detail and the provinces to learn from (after the action brief and
the score sections; statistical terms belong here). Each function takes a
:class:`~papi_research.briefing.province.Briefing` and returns one
:class:`~papi_research.briefing.base.Section`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from papi_research.analysis.scores import group_name, year_scores
from papi_research.analysis.targets import round_up
from papi_research.briefing.base import (Section, dim_name, join_words, signed)
from papi_research.data.i18n import fmt_int, fmt_num, t
from papi_research.data.values import num as _num

if TYPE_CHECKING:
    from papi_research.briefing.province import Briefing


def analysis_sections(b: Briefing) -> dict[str, Section]:
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
