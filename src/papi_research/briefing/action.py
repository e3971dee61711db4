"""The action brief: the first pages of a province briefing, in plain words for the leader who acts on it.

Four parts, each from numbers the rest of the briefing already holds (the scorecard, the change since the
comparison year, the priorities and the target plan of :mod:`papi_research.analysis.drivers`); only the
words differ from the evidence that follows:

1. where the province stands: score, rank, group and change, each with the survey margin in plain words,
   and its position on the dimensions said together with whether the gaps are beyond that margin;
2. what cost it points: the dimensions (and their sub-dimensions) whose fall since the comparison year is
   beyond the survey margin;
3. the priorities: one line each with its reason in one sentence, the lead and supporting agencies and
   what reaching the median (or the target group's level) takes — the action plan table;
4. the target: the points needed, against the margin, and how likely it is to be reached (or kept).

No statistical terms, codes or file paths appear here (``ab_*`` entries of ``resources/i18n/action.yml``).
"""

from __future__ import annotations

import pandas as pd

from papi_research.analysis.scores import group_name
from papi_research.analysis.targets import round_up
from papi_research.analysis.uncertainty import difference_noise, p_at_or_above, within_noise, year_uncertainty
from papi_research.briefing.base import Section, dim_name, join_words, rank_text, signed
from papi_research.data.i18n import fmt_num, t
from papi_research.data.values import num as _num

SHOWN = 0.005  # a difference that prints as 0,00 is no difference
WIDE_SE = 1.5  # a province's survey error this many times the national median's makes its margin "wide"
MAX_SUBS = 2  # sub-dimensions named under each dimension that lost points
PLAN_WIDTHS = [4, 21, 30, 15, 14, 16]  # the action plan's columns in the PDF: the reason gets the most room


def action_section(b) -> Section:
    """The action brief of province briefing ``b`` (a ``province.Briefing``)."""
    lang = b.lang
    s = Section("action", t("ab_h_action", lang))
    s.md(t("ab_intro", lang))
    _standing(b, s)
    _losses(b, s)
    _priorities(b, s)
    _target(b, s)
    s.md("*" + t("ab_more", lang) + "*")
    s.add("pagebreak")  # the evidence starts on a page of its own: pages 1–2 are the brief alone
    return s


# --- 1. where the province stands ------------------------------------------------------------------

def _move(ch, lang: str, short: bool = False) -> str:
    if ch is None or ch.rank_change is None:
        return ""
    key = "ab_move_short_" if short else "ab_move_"
    k = "up" if ch.rank_change > 0 else "down" if ch.rank_change < 0 else "same"
    return t(key + k, lang, places=abs(ch.rank_change), before=rank_text(ch.rank_from, ch.n_ranked_from, lang),
             after=rank_text(ch.rank_to, ch.n_ranked_to, lang))


def _standing(b, s: Section) -> None:
    from papi_research.briefing.province import dimension_frame, status_tiles
    lang, c, p = b.lang, b.card, b.province
    name = p.name(lang)
    s.add("heading", text=t("ab_h_standing", lang), level=3)
    ys = c.ys
    median = ys.national.at["total", "median"]
    if c.status != "complete":
        present = [int(d) for d in ys.dimensions.columns if pd.notna(ys.dimensions.at[p.code, d])]
        reason = b.data.gap_summary(b.year, p.code, lang) or t("br_no_reason", lang)
        s.add("tiles", items=status_tiles(b))
        s.md(t("ab_status_missing" if c.status == "missing" else "ab_status_partial", lang, year=b.year,
               province=name, k=len(present), n=ys.regime.n_dimensions, reason=reason))
        return
    u = c.uncertainty()
    has_ci = u.get("ci_low") is not None
    tone = {"best": "good", "poor": "bad"}.get(c.group, "neutral")
    tiles = [
        {"label": t("br_tile_total", lang), "value": fmt_num(c.total, lang),
         "sub": (t("ab_tile_total_sub", lang, max=c.total_max, median=fmt_num(median, lang),
                   margin=fmt_num(u["margin"], lang)) if has_ci else
                 t("ab_tile_total_sub_plain", lang, max=c.total_max, median=fmt_num(median, lang))), "tone": tone},
        {"label": t("br_tile_rank", lang), "value": rank_text(c.rank, ys.n_ranked, lang),
         "sub": (t("ab_tile_rank_sub", lang, n=ys.n_ranked, best=u["rank_range"][0], worst=u["rank_range"][1])
                 if has_ci else t("br_tile_rank_sub", lang, n=ys.n_ranked)), "tone": tone},
        {"label": t("br_tile_group", lang), "value": t(f"br_group_{c.group}", lang),
         "sub": (t("ab_tile_group_sub", lang, p=fmt_num(100 * u["p_keep_group"], lang, 0)) if has_ci
                 else t("br_tile_group_sub", lang)), "tone": tone},
    ]
    ch = b.change_result
    if ch is not None and ch.total_change is not None:
        within = within_noise(ch.total_change, ch.total_change_noise)
        tone = "neutral" if within or round(ch.total_change, 2) == 0 else "good" if ch.total_change > 0 else "bad"
        sub = _move(ch, lang, short=True)
        if ch.total_change_noise is not None:
            sub = t("ab_tile_change_within" if within else "ab_tile_change_beyond", lang, move=sub)
        tiles.append({"label": t("br_tile_change", lang, year=ch.from_year), "value": signed(ch.total_change, lang),
                      "sub": sub, "tone": tone})
    s.add("tiles", items=tiles)
    s.md(t("ab_standing", lang, year=b.year, province=name, total=fmt_num(c.total, lang), max=c.total_max,
           rank=c.rank, n=ys.n_ranked, group=group_name(c.group, lang), median=fmt_num(median, lang)))
    if has_ci:
        s.md(t("ab_margin", lang, margin=fmt_num(u["margin"], lang), best=u["rank_range"][0],
               worst=u["rank_range"][1], p=fmt_num(100 * u["p_keep_group"], lang, 0)))
    s.md(_change_words(b))
    s.md(position_words(b, dimension_frame(c)))


def _change_words(b) -> str:
    lang, ch = b.lang, b.change_result
    if ch is None or ch.from_year is None or ch.total_change is None:
        return t("ab_no_comparison", lang, year=b.year)
    d = ch.total_change
    fields = dict(a=ch.from_year, delta=fmt_num(abs(d), lang), before=fmt_num(ch.total_from, lang),
                  after=fmt_num(ch.total_to, lang), move=_move(ch, lang),
                  noise=fmt_num(ch.total_change_noise, lang))
    if round(d, 2) == 0:
        return t("ab_change_none", lang, **fields)
    way = "up" if d > 0 else "down"
    if ch.total_change_noise is None:
        return t(f"ab_change_beyond_{way}", lang, **fields).split(". ")[0] + "."
    within = within_noise(d, ch.total_change_noise)
    return t(f"ab_change_{'within' if within else 'beyond'}_{way}", lang, **fields)


def position_words(b, dt: pd.DataFrame) -> str:
    """The dimensions' position (group) said together with whether their gaps to the median are beyond
    the survey margin, so the two never contradict."""
    lang = b.lang
    have = dt[dt["score"].notna()].copy()
    if have.empty:
        return ""
    noise = _num(have["noise"].iloc[0])
    have["gap"] = have["score"].astype(float) - have["national_median"].astype(float)
    name = "short_" + lang
    poor = have[have["group"] == "poor"]
    best = have[have["group"] == "best"]
    out = []

    def named(frame, gaps: bool = False) -> str:
        return join_words([(t("ab_dim_delta", lang, name=r[name], delta=signed(r["gap"], lang)) if gaps else r[name])
                           for r in frame.to_dict("records")], lang)
    if noise is None:
        if len(poor):
            out.append(t("br_profile_poor_group", lang, dims=named(poor)))
    else:
        below = have[have["gap"] < -noise]
        if len(poor):
            beyond = poor[poor["gap"] < -noise]
            if len(beyond):
                out.append(t("ab_position_poor_beyond", lang, k=len(poor), n=len(dt), dims=named(poor),
                             noise=fmt_num(noise, lang), beyond=named(beyond, gaps=True)))
            else:
                wide = ""
                u = year_uncertainty(b.data, b.year)
                if u is not None and u.table.at[b.province.code, "se"] > WIDE_SE * u.table["se"].median():
                    wide = t("ab_position_wide", lang, province=b.province.name(lang))
                out.append(t("ab_position_poor_within", lang, k=len(poor), n=len(dt), dims=named(poor),
                             noise=fmt_num(noise, lang), wide=wide))
            below = below[below["group"] != "poor"]
        if len(below):
            key = "ab_position_below_also" if len(poor) else "ab_position_below_only"
            out.append(t(key, lang, noise=fmt_num(noise, lang), dims=named(below, gaps=True)))
    if len(best):
        out.append(t("ab_position_best", lang, dims=named(best)))
    return " ".join(out)


# --- 2. what cost points ---------------------------------------------------------------------------

def _sub_noise(b, code_from: str, code_to: str, a: int) -> float | None:
    ua, ub = year_uncertainty(b.data, a), year_uncertainty(b.data, b.year)
    if ua is None or ub is None:
        return None
    pc = b.province.code
    return difference_noise(float(ua.sub_se.at[pc, code_from]), float(ub.sub_se.at[pc, code_to]))


def losses(b) -> list[dict]:
    """The dimensions whose fall since the comparison year is beyond the survey margin, largest first, each
    with its sub-dimensions that fell beyond theirs: number, name, change, from/to, subs (label, change)."""
    ch = b.change_result
    if ch is None or ch.from_year is None or ch.by_dimension is None or not len(ch.by_dimension) \
            or ch.dimension_noise is None or b.card.status == "missing":
        return []
    bd = ch.by_dimension.copy()
    bd["change"] = pd.to_numeric(bd["change"], errors="coerce")
    lost = bd[bd["change"] < -ch.dimension_noise].sort_values(["change", "number"])
    subs = ch.by_subdimension if ch.by_subdimension is not None else pd.DataFrame()
    out = []
    for r in lost.to_dict("records"):
        d = int(r["number"])
        items = []
        if len(subs):
            for sr in subs[subs["dimension"] == d].sort_values(["change", "code_to"]).to_dict("records"):
                noise = _sub_noise(b, sr["code_from"], sr["code_to"], ch.from_year)
                if noise is not None and sr["change"] < -noise:
                    items.append({"label_vi": sr["label_vi"], "label_en": sr["label_en"], "code": sr["code_to"],
                                  "change": float(sr["change"])})
        out.append({"number": d, "change": float(r["change"]), "from": _num(r["from_score"]),
                    "to": _num(r["to_score"]), "subs": items[:MAX_SUBS]})
    return out


def _losses(b, s: Section) -> None:
    lang, ch = b.lang, b.change_result
    s.add("heading", text=t("ab_h_losses", lang, year=b.year), level=3)
    if ch is None or ch.from_year is None or ch.by_dimension is None or not len(ch.by_dimension) \
            or b.card.status == "missing":
        s.md(t("ab_losses_no_comparison", lang))
        return
    noise = ch.dimension_noise
    lost = losses(b) if noise is not None else []
    bd = ch.by_dimension.copy()
    bd["change"] = pd.to_numeric(bd["change"], errors="coerce")
    bd = bd[bd["change"].notna()]

    def delta(frame) -> str:
        return join_words([t("ab_dim_delta", lang, name=dim_name(r["number"], lang), delta=signed(r["change"], lang))
                           for r in frame.to_dict("records")], lang)
    if lost:
        s.md(t("ab_losses_intro", lang, a=ch.from_year, noise=fmt_num(noise, lang)))
        items = []
        for x in lost:
            line = t("ab_loss_item", lang, name=dim_name(x["number"], lang), loss=fmt_num(-x["change"], lang),
                     before=fmt_num(x["from"], lang), after=fmt_num(x["to"], lang))
            if x["subs"]:
                line += t("ab_loss_subs", lang, subs=join_words(
                    [t("ab_loss_sub", lang, label=sx[f"label_{lang}"], loss=fmt_num(-sx["change"], lang))
                     for sx in x["subs"]], lang))
            items.append("- " + line)
        s.md("\n".join(items))
    elif noise is not None:
        s.md(t("ab_losses_none", lang, a=ch.from_year, noise=fmt_num(noise, lang)))
        falls = bd[bd["change"] <= -SHOWN].sort_values(["change", "number"]).head(3)
        if len(falls):
            s.md(t("ab_losses_largest_within", lang, dims=delta(falls)))
    else:
        falls = bd[bd["change"] <= -SHOWN].sort_values(["change", "number"]).head(3)
        if len(falls):
            s.md(t("br_change_down_most", lang, dims=delta(falls)))
    if noise is not None:
        gains = bd[bd["change"] > noise].sort_values(["change", "number"], ascending=[False, True])
        if len(gains):
            s.md(t("ab_gains_beyond", lang, dims=delta(gains)))


# --- 3. priorities ---------------------------------------------------------------------------------

def line_reasons(b, line: dict) -> list[str]:
    """Why a line is a priority: ``line["reasons"]`` (the priority rule's own, most important first) or,
    where the rule gives none, from the line's fields: "loss" (a fall beyond the margin), "gap" (below the
    national median as printed), "trend" (slipping against the median), else "target" or "rank"."""
    given = line.get("reasons")
    if given:
        return list(given)
    out = []
    if line.get("decline_beyond_noise") or _loss(b, line)[1]:
        out.append("loss")
    if printed_gap(line) is not None:
        out.append("gap")
    if line.get("trend") is not None and line["trend"] < 0:
        out.append("trend")
    if not out:
        gt = line.get("gap_to_target")
        out.append("target" if gt is not None and gt >= SHOWN else "rank")
    return out


def _loss(b, line: dict) -> tuple[float | None, bool]:
    """This year's change of the line's sub-dimension since the comparison year, and whether the fall is
    beyond its survey margin (the line's own ``loss``/``loss_margin`` when the priority rule gives them)."""
    if "loss" in line:
        loss, margin = line.get("loss"), line.get("loss_margin")
        beyond = line.get("decline_beyond_noise")
        if beyond is None:
            beyond = loss is not None and margin is not None and loss < -margin
        return loss, bool(beyond) and loss is not None and loss < 0
    ch = b.change_result
    if ch is None or ch.from_year is None or ch.by_subdimension is None or not len(ch.by_subdimension):
        return None, False
    hit = ch.by_subdimension[ch.by_subdimension["code_to"] == line["code"]]
    if hit.empty:
        return None, False
    r = hit.iloc[0]
    noise = _sub_noise(b, r["code_from"], r["code_to"], ch.from_year)
    change = float(r["change"])
    return change, noise is not None and change < -noise


def printed_gap(line: dict) -> float | None:
    """The gap to the national median as printed (2 decimals) when the province is below it, else None:
    a score and a median that print alike are level, never "0,00 below"."""
    score, median = line.get("score"), line.get("national_median")
    if score is None or median is None:
        return None
    gap = round(round(median, 2) - round(score, 2), 2)  # the difference of the printed numbers, as a reader checks it
    return gap if gap >= 0.01 else None


def _gap_beyond(b, line: dict) -> bool | None:
    """Whether the gap to the national median (the one the sentence prints) exceeds the line's margin;
    ``gap_beyond_noise`` may rest on the gap to the target group's level instead, so it is not used here."""
    if line.get("margin") is not None and line.get("gap_to_median") is not None:
        return line["gap_to_median"] > line["margin"]
    u = year_uncertainty(b.data, b.year)
    if u is None or line.get("gap_to_median") is None:
        return None
    noise = difference_noise(float(u.sub_se.at[b.province.code, line["code"]]))
    return line["gap_to_median"] > noise


def _target_driven(b, line: dict) -> bool:
    """Whether the line is in the plan for its gap to the target group's level alone: beyond the noise on
    that gap, within it on the gap to the national median, and no fall beyond the margin this year (then the
    reason and what it takes name the target level; a line with such a fall keeps the median as its aim)."""
    gt = line.get("gap_to_target")
    return bool(line.get("gap_beyond_noise")) and gt is not None and gt >= SHOWN \
        and line.get("target_level") is not None and _gap_beyond(b, line) is False and not _loss(b, line)[1]


def reason_sentence(b, line: dict) -> str:
    """The line's reason in one sentence (its two most important reasons)."""
    lang = b.lang
    target = b.report.target.spec.label(lang)
    parts = []
    for why in line_reasons(b, line)[:2]:
        if why == "loss":
            loss, _ = _loss(b, line)
            if loss is None or loss >= 0:
                continue
            parts.append(t("ab_reason_loss", lang, loss=fmt_num(-loss, lang), a=b.comparison_year))
        elif why == "gap":
            gap = printed_gap(line)
            if _target_driven(b, line):  # the gap that counts is the one to the target group's level
                parts.append(t("ab_reason_target_beyond", lang, gap=fmt_num(round_up(line["gap_to_target"]), lang),
                               target=target))
                continue
            if gap is None:
                parts.append(t("ab_reason_at_median", lang, score=fmt_num(line["score"], lang)))
                continue
            beyond = _gap_beyond(b, line)
            parts.append(t("ab_reason_gap_within" if beyond is False else "ab_reason_gap_beyond", lang,
                           gap=fmt_num(gap, lang), score=fmt_num(line["score"], lang),
                           median=fmt_num(line["national_median"], lang)))
        elif why == "trend" and line.get("trend") is not None and line["trend"] < 0:
            parts.append(t("ab_reason_trend", lang, slope=fmt_num(-line["trend"], lang)))
        elif why == "target" and line.get("gap_to_target") is not None and line["gap_to_target"] >= SHOWN:
            parts.append(t("ab_reason_target", lang, gap=fmt_num(line["gap_to_target"], lang), target=target))
        else:
            parts.append(t("ab_reason_rank", lang))
    if not parts:
        parts.append(t("ab_reason_rank", lang))
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def takes(b, line: dict) -> str:
    """What reaching the national median (else the target group's level) on the line takes."""
    lang = b.lang
    score = line.get("score")
    if score is None:
        return "–"
    gap = printed_gap(line)
    if gap is not None and not _target_driven(b, line):
        return t("ab_takes_median", lang, score=fmt_num(score, lang), median=fmt_num(line["national_median"], lang),
                 gap=fmt_num(gap, lang))
    gt = line.get("gap_to_target")
    if gt is not None and gt >= SHOWN and line.get("target_level") is not None:
        return t("ab_takes_target", lang, score=fmt_num(score, lang), level=fmt_num(line["target_level"], lang),
                 gap=fmt_num(round_up(gt), lang), target=b.report.target.spec.label(lang))
    loss, beyond = _loss(b, line)
    if loss is not None and loss < 0 and beyond:
        return t("ab_takes_recover", lang, loss=fmt_num(-loss, lang), score=fmt_num(score, lang),
                 before=fmt_num(score - loss, lang))
    return t("ab_takes_hold", lang, score=fmt_num(score, lang))


def plan_frame(b) -> pd.DataFrame:
    """The action plan (one row per priority): number, priority, reason, lead, support, what it takes."""
    lang = b.lang
    lines = b.report.priorities.lines if b.report is not None else []
    return pd.DataFrame({
        t("ab_col_no", lang): [str(i) for i in range(1, len(lines) + 1)],
        t("ab_col_priority", lang): [t("ab_priority_label", lang, label=ln[f"label_{lang}"],
                                       dimension=dim_name(ln["dimension"], lang)) for ln in lines],
        t("ab_col_reason", lang): [reason_sentence(b, ln) for ln in lines],
        t("ab_col_lead", lang): [(ln.get("lead_agency") or {}).get(lang) or "–" for ln in lines],
        t("ab_col_support", lang): [(ln.get(f"support_{lang}") or "–").replace(";", ",") for ln in lines],
        t("ab_col_takes", lang): [takes(b, ln) for ln in lines],
    })


def _priorities(b, s: Section) -> None:
    lang = b.lang
    s.add("heading", text=t("ab_h_priorities", lang), level=3)
    if b.report is None or not b.report.priorities.lines:
        s.md(t("ab_priorities_none", lang, year=b.year))
        return
    frame = plan_frame(b)
    s.md(t("ab_priorities_intro", lang, k=len(frame)))
    s.table(frame, caption=t("ab_cap_plan", lang, province=b.province.name(lang), year=b.year),
            widths=PLAN_WIDTHS)
    watch = getattr(b.report.priorities, "watch", None) or []
    if watch:
        s.md(t("ab_watch", lang, items=join_words([w.get(f"label_{lang}", "") for w in watch], lang)))


# --- 4. target -------------------------------------------------------------------------------------

def _target(b, s: Section) -> None:
    lang, c = b.lang, b.card
    s.add("heading", text=t("ab_h_target", lang), level=3)
    if b.report is None:
        return
    plan = b.report.target
    label = plan.spec.label(lang)
    if b.target_given:
        s.md(t("ab_target_given", lang, target=label))
    elif c.group == "best":
        s.md(t("ab_target_default_keep", lang, target=label))
    else:
        s.md(t("ab_target_default", lang, target=label))
    if plan.needed_points is None:
        s.md(t("ab_target_no_total", lang, year=b.year, target=label))
        return
    u = c.uncertainty()
    margin = plan.margin
    if plan.already_met:
        above = plan.total - plan.cutoff
        p = p_at_or_above(plan.total, u.get("se"), plan.cutoff)
        if margin is None or p is None:
            s.md(t("ab_target_met_plain", lang, total=fmt_num(plan.total, lang), cutoff=fmt_num(plan.cutoff, lang)))
        else:
            key = "ab_target_met_within" if above <= margin else "ab_target_met_beyond"
            s.md(t(key, lang, total=fmt_num(plan.total, lang), cutoff=fmt_num(plan.cutoff, lang),
                   above=fmt_num(above, lang), margin=fmt_num(margin, lang), p=fmt_num(100 * p, lang, 0)))
    else:
        fields = dict(points=fmt_num(plan.needed_shown, lang), goal=fmt_num(round_up(plan.goal), lang),
                      cutoff=fmt_num(plan.cutoff, lang), margin=fmt_num(margin, lang))
        if margin is None:
            s.md(t("ab_target_needed_plain", lang, **fields))
        else:
            key = "ab_target_needed_within" if plan.needed_points <= margin else "ab_target_needed_beyond"
            s.md(t(key, lang, **fields))
        lines = b.report.priorities.lines
        gain = sum(max(ln["gap_to_median"] or 0.0, 0.0) for ln in lines)
        if lines and gain >= SHOWN:
            key = "ab_target_priorities_enough" if gain >= plan.needed_points else "ab_target_priorities_short"
            s.md(t(key, lang, k=len(lines), sum=fmt_num(gain, lang)))
        mom = b.report.models.momentum.table
        r = mom[mom["outcome"] == "total"]
        if not r.empty and _num(r["p_clear"].iloc[0]) is not None:
            s.md(t("ab_target_likely", lang, p=fmt_num(100 * float(r["p_clear"].iloc[0]), lang, 0)))
    s.md(t("ab_target_others_held", lang, year=b.year))
