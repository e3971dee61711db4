"""Priorities: rank a province's sub-dimensions on visible components and write action-plan lines.

Each sub-dimension of the report year gets six components, each shown with its value, its
standardised form and its weighted contribution (nothing hidden):

================  ===========================================================  ======
component         standardised as (each capped at 3)                            weight
================  ===========================================================  ======
gap_to_median     max(national median − score, 0) / cross-province SD           1.0
gap_to_target     max(target group's median − score, 0) / SD                    0.5
rank_gain         places gained at the median (others unchanged) / n × 10       1.0
decline           max(−trend slope against the yearly median, 0) / SD           0.5
loss              max(−this year's change, 0) / SD, when the loss exceeds its   1.0
                  survey noise (otherwise 0)
below_context     max(−context residual, 0) / SD (only when that context        0.5
                  model has signal after Holm; otherwise 0)
================  ===========================================================  ======

How sure the order is: each line's ``stability`` is the share of ``N_WEIGHTINGS`` random weightings
(seeded; weights drawn uniformly on the simplex and scaled to the default total) under which the
sub-dimension stays among the top lines; a line below ``FRAGILE`` is called fragile.

SD is the cross-province standard deviation of the sub-dimension in the report year; the cap
keeps one component (e.g. a steep but noisy trend on a sub-dimension where provinces hardly
differ) from outweighing the rest. ``priority`` is the sum of contributions. Lines beyond the survey
noise come first (their gap, this year's loss or their multi-year decline exceeds it); among them,
sub-dimensions that call for action (``calls``: below the national median or the target group's level,
or fell this year by more than the noise, even when still near the median) come first, then the rest,
each by ``priority``; ties are broken by sub-dimension code, so the order is
deterministic. The top lines (3 to 5: those with a positive priority, at least three) become
action-plan lines with a suggested lead agency (from ``resources/reference/lead_agencies.csv``, keyed
by the sub-dimension's English label, so valid across years) and provinces to learn from (top
quartile on that sub-dimension; same region first, then provinces that improved over several years
beyond the survey noise: the latest score against the national median minus the average of the
earlier comparable years' (at least two), counted as an improvement only above its 95 % noise band).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from papi_research.analysis.models import ContextResult
from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.scores import year_scores
from papi_research.analysis.series import subdimension_years
from papi_research.analysis.targets import TargetSpec, counterfactual_rank, target_levels
from papi_research.analysis.trend import TrendResult
from papi_research.analysis.uncertainty import CI_YEAR, RULE, Z95, difference_noise, year_uncertainty
from papi_research.data.codebook import dimensions
from papi_research.data.i18n import fmt_int, fmt_num, t
from papi_research.data.loader import PapiData
from papi_research.data.paths import resource_file
from papi_research.data.provinces import Province
from papi_research.data.text import lookup_key
from papi_research.data.values import num as _num
from papi_research.errors import DataValidationError

WEIGHTS = {"gap_to_median": 1.0, "gap_to_target": 0.5, "rank_gain": 1.0, "decline": 0.5, "below_context": 0.5,
           "loss": 1.0}
N_WEIGHTINGS = 2000
WEIGHT_SEED = 20251
FRAGILE = 0.5
MIN_EARLIER = 2  # earlier comparable years an improvement must rest on
CAP = 3.0
MIN_LINES, MAX_LINES, N_LEARN = 3, 5, 3
AGENCY_COLUMNS = ("label_en", "dimension", "lead_vi", "lead_en", "support_vi", "support_en")


@dataclass(frozen=True)
class Agency:
    lead_vi: str
    lead_en: str
    support_vi: str
    support_en: str


@lru_cache(maxsize=4)
def _agencies_cached(path: str, mtime: float) -> dict[str, Agency]:
    p = Path(path)
    with p.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in AGENCY_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataValidationError(f"required column {missing[0]!r} is missing", file=p, row=1, column=missing[0])
        out: dict[str, Agency] = {}
        for i, r in enumerate(reader, start=2):
            for col in ("label_en", "dimension", "lead_vi", "lead_en"):
                if not (r[col] or "").strip():
                    raise DataValidationError("empty value", file=p, row=i, column=col, value=r[col])
            if not r["dimension"].strip().isdigit() or not 1 <= int(r["dimension"]) <= 8:
                raise DataValidationError("dimension must be 1–8", file=p, row=i, column="dimension",
                                          value=r["dimension"])
            key = lookup_key(r["label_en"])
            if key in out:
                raise DataValidationError("sub-dimension listed twice", file=p, row=i, column="label_en",
                                          value=r["label_en"])
            out[key] = Agency(r["lead_vi"].strip(), r["lead_en"].strip(), (r["support_vi"] or "").strip(),
                              (r["support_en"] or "").strip())
    return out


def lead_agencies(path: Path | None = None) -> dict[str, Agency]:
    """The editable lead-agency table, keyed by ``lookup_key`` of the English sub-dimension label."""
    path = path or resource_file("reference", "lead_agencies.csv")
    if not path.is_file():
        raise DataValidationError("required file is missing", file=path)
    return _agencies_cached(str(path), path.stat().st_mtime)



@dataclass
class Priorities:
    """All sub-dimensions scored (``table``, in priority order) and the action-plan ``lines``."""

    province: Province
    year: int
    target: TargetSpec
    table: pd.DataFrame
    lines: list[dict]
    notes: list[Note] = field(default_factory=list)
    watch: list[dict] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return {"year": self.year, "target": self.target.text, "weights": dict(WEIGHTS), "cap": CAP,
                "lines": self.lines, "watch": self.watch,
                "table": [{k: (_num(v) if isinstance(v, (float, np.floating)) else
                               (int(v) if isinstance(v, (np.integer,)) else v)) for k, v in r.items()}
                          for r in self.table.to_dict("records")],
                "notes": [n.to_dict() for n in self.notes]}


_IMPROVEMENT: dict[tuple, pd.Series] = {}


def _improvement(data: PapiData, year: int, code: str) -> pd.Series:
    """Change in the sub-dimension since the previous comparable year, for every province (cached)."""
    key = (str(data.directory), data.version, year, code)
    if key not in _IMPROVEMENT:
        _IMPROVEMENT[key] = _improvement_uncached(data, year, code)
    return _IMPROVEMENT[key]


def _improvement_uncached(data: PapiData, year: int, code: str) -> pd.Series:
    """Latest score against the national median minus the mean of the earlier comparable years'
    (at least ``MIN_EARLIER``), kept only where it exceeds its 95 % survey noise (else NaN)."""
    yrs = subdimension_years(data, year, code)
    earlier = [y for y in yrs if y < year]
    cur = year_scores(data, year).subdimensions[code]
    if len(earlier) < MIN_EARLIER:
        return pd.Series(np.nan, index=cur.index)
    rel = [year_scores(data, y).subdimensions[yrs[y]] for y in earlier]
    past = pd.concat([r - r.median() for r in rel], axis=1).mean(axis=1, skipna=False)
    imp = (cur - cur.median()) - past
    u = year_uncertainty(data, year)
    if u is None:
        return imp
    noise = Z95 * u.sub_se[code] * np.sqrt(1 + 1 / len(earlier))
    return imp.where(imp > noise)


def _loss(data: PapiData, year: int, code: str, sub: str, score: float | None,
          se: float | None, rule: str = RULE) -> tuple[float | None, float | None]:
    """This year's change of sub-dimension ``sub`` against the latest earlier comparable year in which
    the province has it (negative = a loss), and the change's 95 % noise margin 1.96 √(SE₁² + SE₂²)
    (each year's own sub-dimension SE under ``rule``); (None, None) without an earlier comparable score."""
    if score is None:
        return None, None
    yrs = subdimension_years(data, year, sub)
    for y in sorted((y for y in yrs if y < year), reverse=True):
        before = _num(year_scores(data, y).subdimensions.at[code, yrs[y]])
        if before is None:
            continue
        u = year_uncertainty(data, y, rule)
        se_b = None if u is None else _num(u.sub_se.at[code, yrs[y]])
        return score - before, difference_noise(se, se_b) if se is not None and se_b is not None else None
    return None, None


def _trend_none(trend: TrendResult | None, sub: str) -> str | None:
    """Why the sub-dimension has no trend ("too_few_years", "interval_wider_than_scale") or None."""
    if trend is None:
        return "too_few_years"
    row = trend._rows.get(sub)
    reason = None if row is None else row.get("no_trend")
    return reason if isinstance(reason, str) else None


def learn_from(data: PapiData, province: Province, year: int, code: str, n: int = N_LEARN) -> list[str]:
    """Provinces in the top quartile on sub-dimension ``code``: same region first, then those with a
    multi-year improvement beyond the noise (largest first), then the highest score."""
    s = year_scores(data, year).subdimensions[code].drop(province.code).dropna()
    if s.empty:
        return []
    p75 = float(np.percentile(year_scores(data, year).subdimensions[code].dropna(), 75))
    top = s[s >= p75]
    imp = _improvement(data, year, code)
    region = {p.code: p.region_en for p in data.provinces}
    keyed = sorted(top.index, key=lambda c: (region[c] != province.region_en,
                                             -(imp[c] if pd.notna(imp[c]) else -np.inf), -top[c], c))
    return keyed[:n]


def score_priorities(data: PapiData, province: Province, year: int, target: TargetSpec,
                     trend: TrendResult | None, context: ContextResult | None) -> Priorities:
    """Score every sub-dimension of ``year`` for the province and build the action-plan lines."""
    ys = year_scores(data, year)
    code = province.code
    sub = ys.subdimensions
    totals = ys.provinces["total"]
    total = _num(totals[code])
    levels = target_levels(target, ys)
    st = ys.structure.set_index("code")
    agencies = lead_agencies()
    unc = year_uncertainty(data, year)
    unc_own = year_uncertainty(data, year, "own")
    notes: list[Note] = []
    rows = []
    for c in st.index:
        score = _num(sub.at[code, c])
        col = sub[c].dropna()
        med = float(col.median())
        sd = float(col.std())
        tgt = float(levels[c])
        gap_m = None if score is None else med - score
        gap_t = None if score is None or np.isnan(tgt) else tgt - score
        gain = None
        if score is not None and total is not None:
            gain = 0 if gap_m <= 0 else int(counterfactual_rank(totals, code, total)
                                             - counterfactual_rank(totals, code, total + gap_m))
        slope = trend.slope(c) if trend is not None else None
        tci = trend.interval(c) if trend is not None else (None, None)
        se = _num(unc.sub_se.at[code, c]) if unc is not None else None
        margin = None if se is None else Z95 * se
        loss, loss_margin = _loss(data, year, code, c, score, se)
        gap_ref = None if score is None else max(gap_m, gap_t if gap_t is not None else -np.inf)
        gap_beyond = bool(gap_ref is not None and margin is not None and gap_ref > margin)
        loss_beyond = bool(loss is not None and loss_margin is not None and loss < -loss_margin)
        trend_beyond = bool(trend is not None and trend.declines(c))
        # the same flags under the sensitivity rule (the province's own 2019 SE in other years)
        se_own = _num(unc_own.sub_se.at[code, c]) if unc_own is not None else None
        _, loss_margin_own = _loss(data, year, code, c, score, se_own, "own")
        beyond_own = bool((gap_ref is not None and se_own is not None and gap_ref > Z95 * se_own)
                          or (loss is not None and loss_margin_own is not None and loss < -loss_margin_own)
                          or trend_beyond)
        resid = context.residual(c) if context is not None and context.signal(c) else None
        comp = {
            "gap_to_median": None if gap_m is None else min(max(gap_m, 0.0) / sd, CAP),
            "gap_to_target": None if gap_t is None else min(max(gap_t, 0.0) / sd, CAP),
            "rank_gain": None if gain is None else min(gain / ys.n_ranked * 10.0, CAP),
            "decline": None if slope is None else min(max(-slope, 0.0) / sd, CAP),
            "below_context": None if resid is None else min(max(-resid, 0.0) / sd, CAP),
            "loss": None if loss is None else min(max(-loss, 0.0) / sd, CAP) if loss_beyond else 0.0,
        }
        contrib = {k: (0.0 if v is None else WEIGHTS[k] * v) for k, v in comp.items()}
        lab_en = st.at[c, "label_en"]
        ag = agencies.get(lookup_key(lab_en))
        dim = int(st.at[c, "dimension"])
        rows.append({
            "code": c, "dimension": dim, "dimension_vi": dimensions()[dim].name_vi,
            "dimension_en": dimensions()[dim].name_en, "label_vi": st.at[c, "label_vi"], "label_en": lab_en,
            "max": float(st.at[c, "max"]), "score": score, "national_median": med, "sd": sd,
            "target_level": None if np.isnan(tgt) else tgt, "gap_to_median": gap_m, "gap_to_target": gap_t,
            "rank_gain_at_median": gain, "trend": slope, "trend_ci_low": tci[0], "trend_ci_high": tci[1],
            "context_residual": resid, "trend_p_holm": trend.p_holm(c) if trend is not None else None,
            "trend_none": _trend_none(trend, c),
            "se": se, "margin": margin, "gap_to_reference": gap_ref, "loss": loss, "loss_margin": loss_margin,
            "gap_beyond_noise": gap_beyond, "decline_beyond_noise": loss_beyond or trend_beyond,
            "loss_beyond_noise": loss_beyond, "trend_beyond_noise": trend_beyond,
            "reasons": [k for k, f in (("loss", loss_beyond), ("gap", gap_beyond), ("trend", trend_beyond)) if f],
            "beyond_noise_own_se": beyond_own,
            **{f"c_{k}": v for k, v in comp.items()}, **{f"w_{k}": v for k, v in contrib.items()},
            "priority": None if score is None else float(sum(contrib.values())),
            "lead_agency_vi": ag.lead_vi if ag else None, "lead_agency_en": ag.lead_en if ag else None,
            "support_vi": ag.support_vi if ag else None, "support_en": ag.support_en if ag else None,
        })
        if ag is None:
            notes.append(make_note("an_priority_no_agency", label=lab_en))
    table = pd.DataFrame(rows)
    # beyond the noise first, then below the national median or the target group's level, then by priority
    ref = table[["national_median", "target_level"]].astype(float).max(axis=1)
    table["below_reference"] = table["score"].astype(float) < ref
    table["beyond_noise"] = table["gap_beyond_noise"] | table["decline_beyond_noise"]
    table["calls"] = table["below_reference"] | table["loss_beyond_noise"]  # a loss this year calls for action too
    table["_p"] = table["priority"].fillna(-np.inf)
    table = table.sort_values(["beyond_noise", "calls", "_p", "code"], ascending=[False, False, False, True],
                              kind="mergesort").drop(columns="_p")
    table = table.reset_index(drop=True)
    table.insert(0, "priority_rank", [i + 1 if pd.notna(p) else None for i, p in enumerate(table["priority"])])
    scored = table[table["priority"].notna()]
    if scored.empty:
        notes.append(make_note("an_priority_no_scores", year=year))
    if total is None and not scored.empty:
        notes.append(make_note("an_priority_no_rank_gain", year=year))
    if scored["trend"].isna().all() and not scored.empty:
        notes.append(make_note("an_priority_no_trend", year=year))
    beyond = scored[scored["beyond_noise"]]
    k = min(MAX_LINES, len(beyond))
    lines = [_line(data, province, year, r) for r in beyond.head(k).to_dict("records")]
    # the watch list: what the ranking alone would have made a line (the top 3–5 by the components,
    # below the reference first), left out because neither its gap nor its decline exceeds the noise
    old_order = scored.sort_values(["calls", "priority", "code"], ascending=[False, False, True],
                                   kind="mergesort")
    k_old = min(MAX_LINES, max(MIN_LINES, int((scored["priority"] > 0).sum())), len(scored))
    watch = [_line(data, province, year, r) for r in old_order.head(k_old).to_dict("records")
             if not r["beyond_noise"]]
    stab = stability(scored, k)
    for line in lines:
        line["stability"] = stab[line["code"]]
    for line in watch:
        line["stability"] = None
    if not scored.empty and not lines:
        notes.append(make_note("an_priority_none_beyond_noise", year=year))
    if watch:
        notes.append(make_note("an_priority_watch", codes=", ".join(w["code"] for w in watch)))
    line_codes = {ln["code"] for ln in lines}
    flips = [ln["code"] for ln in lines + watch if ln["beyond_noise_own_se"] != (ln["code"] in line_codes)]
    if flips and year != CI_YEAR:
        notes.append(make_note("an_priority_sensitivity", codes=", ".join(flips)))
    fragile = [ln["code"] for ln in lines if ln["stability"] < FRAGILE]
    if fragile:
        notes.append(make_note("an_priority_fragile", codes=", ".join(fragile), threshold=int(100 * FRAGILE)))
    if context is not None and not any(context.signal(c) for c in st.index):
        notes.append(make_note("an_priority_no_context_signal"))
    notes.append(make_note("an_priority_agency_suggested"))
    return Priorities(province=province, year=year, target=target, table=table, lines=lines, notes=notes,
                      watch=watch)


def rank_under(scored: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """Each scored sub-dimension's priority rank (1 = first) under other ``weights`` of the same
    components, with the table's ordering rule (beyond the noise first, then what calls for action, then
    priority, then code)."""
    comp = scored[[f"c_{c}" for c in WEIGHTS]].astype(float).fillna(0.0).to_numpy()
    p = comp @ np.array([float(weights.get(c, 0.0)) for c in WEIGHTS])
    beyond = scored["beyond_noise"].to_numpy(dtype=bool) if "beyond_noise" in scored else np.zeros(len(p), bool)
    calls = scored["calls"] if "calls" in scored else scored["below_reference"]
    order = np.lexsort((scored["code"].to_numpy(), -p, ~calls.to_numpy(dtype=bool), ~beyond))
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = np.arange(1, len(order) + 1)
    return pd.Series(ranks, index=scored["code"].to_numpy())


def _col(frame: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def stability(scored: pd.DataFrame, k: int, n: int = N_WEIGHTINGS, seed: int = WEIGHT_SEED) -> dict[str, float]:
    """Share of ``n`` seeded draws under which each sub-dimension stays among the top ``k`` lines.

    Each draw takes a random weighting of the components (uniform on the simplex, scaled to the default
    total weight) **and** redraws the province's scores within their survey noise (score + N(0, SE²),
    each sub-dimension's own SE): the gap components, the context shortfall, this year's loss and its
    component, the calls-for-action split, the gap's and the loss's beyond-the-noise flags follow the drawn
    score (the rank gain and the trend are held). The ordering rule is the table's: beyond the noise first,
    then what calls for action, then by priority, then by code."""
    if scored.empty or k == 0:
        return {}
    keys = list(WEIGHTS)
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(len(keys)), size=n) * sum(WEIGHTS.values())  # draws × components
    m = len(scored)
    se = np.nan_to_num(_col(scored, "se", 0.0))
    e = rng.standard_normal((n, m)) * se[None, :]  # draws × subs
    score = _col(scored, "score")[None, :] + e
    sd = _col(scored, "sd", 1.0)
    med, tgt = _col(scored, "national_median"), _col(scored, "target_level")
    gap_m, gap_t = med[None, :] - score, tgt[None, :] - score
    comp = {"gap_to_median": np.minimum(np.maximum(gap_m, 0) / sd, CAP),
            "gap_to_target": np.where(np.isnan(gap_t), 0.0, np.minimum(np.maximum(np.nan_to_num(gap_t), 0) / sd, CAP)),
            "rank_gain": np.broadcast_to(np.nan_to_num(_col(scored, "c_rank_gain", 0.0)), (n, m)),
            "decline": np.broadcast_to(np.nan_to_num(_col(scored, "c_decline", 0.0)), (n, m))}
    resid = _col(scored, "context_residual")
    has_resid = ~np.isnan(resid)
    comp["below_context"] = np.where(has_resid[None, :],
                                     np.minimum(np.maximum(-(np.nan_to_num(resid)[None, :] + e), 0) / sd, CAP), 0.0)
    ref = np.fmax(med, tgt)
    gap_ref = np.fmax(gap_m, np.where(np.isnan(gap_t), -np.inf, gap_t))
    margin, loss, loss_margin = _col(scored, "margin"), _col(scored, "loss"), _col(scored, "loss_margin")
    gap_beyond = gap_ref > np.where(np.isnan(margin), np.inf, margin)[None, :]
    drawn_loss = np.nan_to_num(loss, nan=np.inf)[None, :] + e
    loss_beyond = drawn_loss < -np.where(np.isnan(loss_margin), np.inf, loss_margin)
    comp["loss"] = np.where(loss_beyond, np.minimum(np.maximum(-drawn_loss, 0) / sd, CAP), 0.0)
    p = sum(w[:, [i]] * comp[c] for i, c in enumerate(keys))  # draws × subs
    below = (score < ref[None, :]) | loss_beyond  # calls for action
    trend_beyond = scored["trend_beyond_noise"].to_numpy(dtype=bool) if "trend_beyond_noise" in scored \
        else np.zeros(m, dtype=bool)
    beyond = gap_beyond | loss_beyond | trend_beyond[None, :]
    codes = scored["code"].to_numpy()
    code_rank = np.argsort(np.argsort(codes, kind="stable"), kind="stable")
    order = np.lexsort((np.broadcast_to(code_rank, p.shape), -p, ~below, ~beyond), axis=1)
    top = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(top, order[:, :k], True, axis=1)
    share = top.mean(axis=0)
    return {c: float(v) for c, v in zip(codes, share)}


def _line(data: PapiData, province: Province, year: int, r: dict) -> dict:
    learn = learn_from(data, province, year, r["code"])
    line = {k: r[k] for k in ("code", "dimension", "dimension_vi", "dimension_en", "label_vi", "label_en", "max",
                              "score", "national_median", "target_level", "gap_to_median", "gap_to_target",
                              "trend", "trend_ci_low", "trend_ci_high", "trend_p_holm", "trend_none",
                              "rank_gain_at_median", "context_residual", "priority", "priority_rank",
                              "lead_agency_vi", "lead_agency_en", "support_vi", "support_en",
                              "margin", "gap_to_reference", "loss", "loss_margin")}
    line = {k: (_num(v) if isinstance(v, (float, np.floating)) else (int(v) if isinstance(v, np.integer) else v))
            for k, v in line.items()}
    line["gap_beyond_noise"] = bool(r["gap_beyond_noise"])
    line["decline_beyond_noise"] = bool(r["decline_beyond_noise"])
    line["reasons"] = list(r["reasons"])
    line["beyond_noise_own_se"] = bool(r["beyond_noise_own_se"])
    line["lead_agency"] = {"vi": r["lead_agency_vi"], "en": r["lead_agency_en"], "suggested": True}
    line["learn_from"] = learn
    line["learn_from_names"] = {"vi": [data.provinces.by_code(c).name_vi for c in learn],
                                "en": [data.provinces.by_code(c).name_en for c in learn]}
    for lang in ("vi", "en"):
        line[f"sentence_{lang}"] = action_sentence(province, line, lang)
    return line


def action_sentence(province: Province, line: dict, lang: str) -> str:
    """One action-plan sentence from the ``an_line_*`` catalogue entries."""
    label = line[f"label_{lang}"]
    parts = []
    gap = line["gap_to_median"]
    fields = dict(province=province.name(lang), label=label, score=fmt_num(line["score"], lang),
                  max=fmt_num(line["max"], lang), median=fmt_num(line["national_median"], lang),
                  gap=fmt_num(abs(gap) if gap is not None else None, lang))
    below = gap is not None and round(gap, 2) > 0  # a gap that prints as 0,00 is level: never "0,00 below"
    parts.append(t("an_line_below" if below else "an_line_above", lang, **fields))
    if line["trend"] is None:
        parts.append(t("an_line_trend_too_wide" if line.get("trend_none") == "interval_wider_than_scale"
                       else "an_line_trend_none", lang))
    else:
        parts.append(t("an_line_trend", lang, slope=fmt_num(line["trend"], lang, 3, sign=True),
                       lo=fmt_num(line.get("trend_ci_low"), lang, 3, sign=True),
                       hi=fmt_num(line.get("trend_ci_high"), lang, 3, sign=True)))
    if "loss" in line.get("reasons", []):
        parts.append(t("an_line_loss_beyond", lang, loss=fmt_num(-line["loss"], lang),
                       margin=fmt_num(line["loss_margin"], lang)))
    if line.get("margin") is not None and line.get("gap_to_reference") is not None and line["gap_to_reference"] > 0:
        key = "an_line_gap_beyond" if line["gap_beyond_noise"] else "an_line_gap_within"
        parts.append(t(key, lang, gap=fmt_num(line["gap_to_reference"], lang), margin=fmt_num(line["margin"], lang)))
    g = line["rank_gain_at_median"]
    if g is not None and g > 0:
        parts.append(t("an_line_gain", lang, gain=fmt_int(g, lang)))
    if line["lead_agency"][lang]:
        support = line[f"support_{lang}"]
        parts.append(t("an_line_lead_support" if support else "an_line_lead", lang,
                       lead=line["lead_agency"][lang], support=support or ""))
    if line["learn_from"]:
        sep = ", "
        parts.append(t("an_line_learn", lang, provinces=sep.join(line["learn_from_names"][lang])))
    return " ".join(parts)
