"""The action brief of a new province's briefing: its first pages, in plain words, like a province's.

The estimate's standing (the headline's tiles move here), what fell most since the previous estimate (an
estimate has no survey margin of its own, so the words say "estimate" and claim no more), the priorities as
an action plan (reason, lead and supporting agencies, what reaching the median of the new provinces or the
target group's level takes) and the target; then a page break, so the evidence starts on a page of its own.
Numbers come from :mod:`papi_research.briefing.unit` (the estimate, its priorities and target plan).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from papi_research.analysis.scores import group_name
from papi_research.analysis.targets import round_up
from papi_research.briefing.action import printed_gap
from papi_research.briefing.base import Section, dim_name, join_words, signed
from papi_research.data.codebook import comparable_dimensions
from papi_research.data.i18n import fmt_num, t
from papi_research.data.text import lookup_key

MAX_FALLS = 3
PLAN_WIDTHS = [4, 22, 28, 15, 15, 16]


def unit_action_section(b, pr: pd.DataFrame) -> Section:
    """The action brief of the new-province briefing ``b`` (a ``unit.UnitBriefing``) with its priorities ``pr``."""
    lang, c = b.lang, b.card
    s = Section("action", t("ab_h_action", lang))
    from papi_research.briefing.unit import _k
    s.md(t(_k(c, "un_ab_intro"), lang))
    s.add("heading", text=t("ab_h_standing", lang), level=3)
    head = b.sections["headline"]
    for blk in [x for x in head.blocks if x.kind == "tiles"]:  # the headline numbers open the brief
        head.blocks.remove(blk)
        s.blocks.append(blk)
    name = b.province.name(lang)
    if c.status != "complete":
        s.md(t("un_ab_no_estimate", lang, province=name, year=b.year))
        s.add("pagebreak")
        return s
    ys, u = c.ys, c.uncertainty()
    lo, hi = fmt_num(u.get("ci_low"), lang), fmt_num(u.get("ci_high"), lang)
    if c.partial:  # part of the new province only: its interval, no rank (as the headline says)
        s.md(t("un_partial_headline", lang, year=b.year, province=name, total=fmt_num(c.total, lang),
               max=c.total_max, lo=lo, hi=hi, share=fmt_num(100 * c.coverage, lang, 1)))
    else:
        s.md(t(_k(c, "un_headline"), lang, year=b.year, province=name, total=fmt_num(c.total, lang),
               max=c.total_max, rank=c.rank, n=ys.n_ranked, group=group_name(c.group, lang),
               region=b.province.region(lang), region_rank=c.region_rank, n_region=c.n_region_ranked))
    if c.official:  # PAPI's own figure; only the year it is compared with is an estimate
        if c.previous is not None:
            s.md(t("y34_against_estimate", lang, year=c.previous["year"], province=name))
    else:
        s.md(t("un_ab_estimate", lang, lo=lo, hi=hi) if u else t("un_ab_estimate_no_interval", lang))
    _falls(b, s)
    _plan(b, s, pr)
    _target(b, s, pr)
    s.add("pagebreak")
    return s


def _falls(b, s: Section) -> None:
    """What fell since the previous estimate: with the estimates' margins, the dimensions that fell beyond
    their margin (else the largest falls, said to be within it) and the clear gains; without, the largest falls."""
    from papi_research.analysis.uncertainty import difference_noise
    from papi_research.analysis.units import unit_year_scores
    lang, c = b.lang, b.card
    pv = c.previous
    s.add("heading", text=t("un_ab_h_falls", lang, year=b.year), level=3)
    if pv is None:
        s.md(t("ab_no_comparison", lang, year=b.year))
        return
    a = pv["year"]
    then = unit_year_scores(b.data, a)
    before = then.ys.dimensions
    code = c.unit.code
    ok = set(comparable_dimensions(a, b.year))
    moves = []  # (change, dimension, noise or None)
    for d in c.ys.dimensions.columns:
        if int(d) in ok and d in before.columns and pd.notna(before.at[code, d]) and pd.notna(c.ys.dimensions.at[code, d]):
            noise = None
            if c.uy.dim_se is not None and then.dim_se is not None and d in then.dim_se.columns:
                se1, se0 = c.uy.dim_se.at[code, d], then.dim_se.at[code, d]
                if pd.notna(se1) and pd.notna(se0):
                    noise = difference_noise(float(se1), float(se0))
            moves.append((float(c.ys.dimensions.at[code, d] - before.at[code, d]), int(d), noise))
    d = c.total - pv["total"]
    key = "br_total_up" if d > 0 else "br_total_down" if d < 0 else "br_total_same"
    s.md(t(key, lang, a=a, delta=fmt_num(abs(d), lang), before=fmt_num(pv["total"], lang), after=fmt_num(c.total, lang)))

    def named(items) -> str:
        return join_words([t("ab_dim_delta", lang, name=dim_name(n, lang), delta=signed(x, lang)) for x, n, _ in items],
                          lang)
    falls = sorted(m for m in moves if round(m[0], 2) < 0)
    if moves and all(m[2] is not None for m in moves):  # every change has its margin: judge each by its own
        noise = max(m[2] for m in moves)  # the same for every dimension unless a former province lacks one
        beyond = [m for m in falls if m[0] < -m[2]]
        if beyond:
            s.md(t("un_ab_falls_beyond", lang, a=a, noise=fmt_num(noise, lang), dims=named(beyond)))
        else:
            s.md(t("ab_losses_none", lang, a=a, noise=fmt_num(noise, lang)))
            if falls:
                s.md(t("ab_losses_largest_within", lang, dims=named(falls[:MAX_FALLS])))
        gains = sorted((m for m in moves if m[0] > m[2]), key=lambda m: (-m[0], m[1]))
        if gains:
            s.md(t("ab_gains_beyond", lang, dims=named(gains)))
    elif falls:
        s.md(t("un_ab_falls", lang, a=a, dims=named(falls[:MAX_FALLS])))
    else:
        s.md(t("un_ab_no_falls", lang, a=a))


def _target_driven(r: dict) -> bool:
    """A line in the plan for its gap to the target group's level alone: beyond the noise on that gap, within
    the estimate's margin on the gap to the median, and no fall beyond the margin (then the reason and what it
    takes name the target level; a line with such a fall keeps the median as its aim)."""
    return bool(r.get("gap_beyond_noise")) and not r.get("loss_beyond_noise") and pd.notna(r["target_level"]) \
        and r["target_level"] - r["score"] >= 0.005 and pd.notna(r.get("margin", np.nan)) \
        and not r["gap_to_median"] > r["margin"]


def _reason(b, r: dict, label: str, n: int) -> str:
    """The line's reason in one sentence: a fall beyond the margin, then the gap that makes it a priority (to
    the median of the new provinces, beyond or within the margin where the estimate has one, or to the target
    group's level), else the gap to the target level."""
    lang, parts = b.lang, []
    gap = printed_gap(r)  # the gap to the median of the new provinces as printed; None when level or above
    if r.get("loss_beyond_noise"):
        parts.append(t("un_ab_reason_loss", lang, loss=fmt_num(-r["change"], lang), a=b.card.previous["year"]))
    if _target_driven(r):
        parts.append(t("ab_reason_target_beyond", lang, gap=fmt_num(round_up(r["target_level"] - r["score"]), lang),
                       target=label))
    elif gap is not None:
        args = dict(n=n, gap=fmt_num(gap, lang), score=fmt_num(r["score"], lang), median=fmt_num(r["national_median"], lang))
        if pd.isna(r.get("margin", np.nan)):
            parts.append(t("un_ab_reason_median", lang, **args).rstrip("."))
        else:
            parts.append(t("un_ab_reason_gap_beyond" if r["gap_to_median"] > r["margin"] else "un_ab_reason_gap_within",
                           lang, **args))
    elif pd.notna(r["target_level"]) and r["target_level"] - r["score"] >= 0.005 and not parts:
        parts.append(t("ab_reason_target", lang, gap=fmt_num(round_up(r["target_level"] - r["score"]), lang),
                       target=label))
    if not parts:
        parts.append(t("ab_reason_at_median", lang, score=fmt_num(r["score"], lang)))
    text = "; ".join(parts[:2])
    return text[:1].upper() + text[1:] + "."


def _takes(b, r: dict, label: str, n: int) -> str:
    """What reaching the median of the new provinces (else the target group's level) takes; for a line that is
    there for its fall alone, winning the fall back."""
    lang, score = b.lang, r["score"]
    gap = printed_gap(r)
    if gap is not None and not _target_driven(r):
        return t("un_ab_takes_median", lang, n=n, score=fmt_num(score, lang), median=fmt_num(r["national_median"], lang),
                 gap=fmt_num(gap, lang))
    tgt = r["target_level"]
    if pd.notna(tgt) and tgt - score >= 0.005:
        return t("ab_takes_target", lang, score=fmt_num(score, lang), level=fmt_num(tgt, lang),
                 gap=fmt_num(round_up(tgt - score), lang), target=label)
    if r.get("loss_beyond_noise"):
        return t("ab_takes_recover", lang, loss=fmt_num(-r["change"], lang), score=fmt_num(score, lang),
                 before=fmt_num(score - r["change"], lang))
    return t("ab_takes_hold", lang, score=fmt_num(score, lang))


def plan_frame(b, pr: pd.DataFrame) -> pd.DataFrame:
    """The new province's action plan: number, priority, reason, lead, support, what it takes."""
    from papi_research.analysis.priorities import lead_agencies
    from papi_research.briefing.unit import N_PRIORITIES
    lang = b.lang
    top = pr[pr["below"]].head(N_PRIORITIES) if len(pr) else pr
    agencies = lead_agencies()
    label = pr.attrs["spec"].label(lang) if "spec" in pr.attrs else b.target_spec
    n = b.card.ys.n_ranked
    rows = []
    for i, r in enumerate(top.to_dict("records"), 1):
        ag = agencies.get(lookup_key(r["label_en"]))
        rows.append({t("ab_col_no", lang): str(i),
                     t("ab_col_priority", lang): t("ab_priority_label", lang, label=r[f"label_{lang}"],
                                                   dimension=dim_name(r["dimension"], lang)),
                     t("ab_col_reason", lang): _reason(b, r, label, n),
                     t("ab_col_lead", lang): (ag.lead_vi if lang == "vi" else ag.lead_en) if ag else "–",
                     t("ab_col_support", lang): ((ag.support_vi if lang == "vi" else ag.support_en) or "–").replace(";", ",")
                     if ag else "–",
                     t("ab_col_takes", lang): _takes(b, r, label, n)})
    return pd.DataFrame(rows)


def watch_lines(pr: pd.DataFrame) -> pd.DataFrame:
    """The lines the ranking alone would have made priorities (the first few below as printed) whose gap and
    fall are both within the estimate's margin: the list to watch."""
    from papi_research.briefing.unit import N_PRIORITIES
    if not len(pr) or "watch" not in pr or not pr.attrs.get("noise"):
        return pr.iloc[0:0]
    first = pr[pr["below"] | pr["watch"]].sort_values(["priority", "code"], ascending=[False, True],
                                                      kind="mergesort").head(N_PRIORITIES)
    return first[first["watch"]]


def _plan(b, s: Section, pr: pd.DataFrame) -> None:
    lang = b.lang
    s.add("heading", text=t("ab_h_priorities", lang), level=3)
    frame = plan_frame(b, pr)
    if frame.empty:
        noise = bool(len(pr)) and pr.attrs.get("noise")
        s.md(t("un_priorities_none_noise" if noise else "un_priorities_none", lang, year=b.year))
    else:
        s.md(t("ab_priorities_intro", lang, k=len(frame)))
        s.table(frame, caption=t("ab_cap_plan", lang, province=b.province.name(lang), year=b.year), widths=PLAN_WIDTHS)
    watch = watch_lines(pr)
    if len(watch):
        s.md(t("ab_watch", lang, items=join_words(list(watch[f"label_{lang}"]), lang)))


def _target(b, s: Section, pr: pd.DataFrame) -> None:
    from papi_research.briefing.unit import unit_plan
    lang, c = b.lang, b.card
    s.add("heading", text=t("ab_h_target", lang), level=3)
    plan = unit_plan(b, pr)
    label = plan.spec.label(lang)
    s.md(t("ab_target_default_keep" if c.group == "best" else "ab_target_default", lang, target=label))
    if plan.needed_points is None:
        s.md(t("ab_target_no_total", lang, year=b.year, target=label))
    elif plan.already_met:
        s.md(t("ab_target_met_plain", lang, total=fmt_num(plan.total, lang), cutoff=fmt_num(plan.cutoff, lang)))
    else:
        s.md(t("ab_target_needed_plain", lang, points=fmt_num(plan.needed_shown, lang),
               goal=fmt_num(round_up(plan.goal), lang), cutoff=fmt_num(plan.cutoff, lang)))
    s.md(t("un_target_among", lang, n=c.ys.n_ranked, year=b.year))
