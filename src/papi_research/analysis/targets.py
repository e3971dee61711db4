"""Target planner: points needed for a group, a top-N place or a score, and a plausible path to it.

Targets: ``group:best``, ``group:high_average``, ``group:low_average``, ``top:N`` or a plain score
(``"45.5"``). Everything is computed against the latest year's totals with every other province
held where it is: a group target is solved exactly (the quartile cut-offs are recomputed with the
province's new total, as PAPI would), a ``top:N`` target needs the N-th best of the other totals, a
score needs the score. No amount lands on a tie: a group or top-N target not yet met needs the new
total to clear the re-ranked cut-off by at least ``CLEAR`` (0.005, half the display precision), under
the year's tie rule. The path closes the same share of the gap to the
target group's level on the top priority sub-dimensions (at least the top three, more only when
needed), and its counterfactual rank is recomputed by brute force.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.scores import GROUPS, YearScores, group_name
from papi_research.data.i18n import fmt_num, t
from papi_research.errors import ParameterError

TARGET_GROUPS = ("best", "high_average", "low_average")
MIN_PATH = 3
MIN_GAP = 0.01  # gaps smaller than this (points) are not worth a line of the path
SHOWN_DECIMALS = 2  # the precision points are printed at
CLEAR = 0.5 * 10 ** -SHOWN_DECIMALS  # how far a new total must clear a cut-off (no ties at the display precision)
TOLERANCE = 1e-9  # floating-point slack when a path's total is checked against its target


def round_up(x: float, decimals: int = SHOWN_DECIMALS) -> float:
    """``x`` rounded up at ``decimals`` (a hair of floating-point noise above a round value is ignored)."""
    f = 10 ** decimals
    return math.ceil(x * f - 1e-7) / f


@dataclass(frozen=True)
class TargetSpec:
    """A parsed target: kind "group" (value a group key), "top" (value N) or "score" (value points)."""

    kind: str
    value: str | int | float
    text: str

    def label(self, lang: str) -> str:
        """The target in words: the group's official name, "the top N" or "a total of X"."""
        if self.kind == "group":
            return group_name(str(self.value), lang)
        if self.kind == "top":
            return t("target_top", lang, n=self.value)
        return t("target_score", lang, score=fmt_num(float(self.value), lang))

    def members(self, ys: YearScores) -> list[str]:
        """The provinces whose level defines "the target group's level" on each part."""
        prov = ys.provinces[ys.provinces["total"].notna()]
        if self.kind == "group":
            return prov.index[prov["group"] == self.value].tolist()
        if self.kind == "top":
            return prov.index[prov["rank"] <= int(self.value)].tolist()
        return prov.index[prov["total"] >= float(self.value)].tolist()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value, "text": self.text}


def parse_target(text: str, ys: YearScores) -> TargetSpec:
    """Parse and check a target string against ``ys`` (its regime's maximum, its number ranked)."""
    raw = str(text).strip()
    m = re.fullmatch(r"group:([a-z_]+)", raw)
    if m:
        g = m.group(1)
        if g not in TARGET_GROUPS:
            raise ParameterError("target", f"unknown group {g!r}; use group:best, group:high_average or "
                                           f"group:low_average")
        return TargetSpec("group", g, raw)
    m = re.fullmatch(r"top:(\d+)", raw)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= max(ys.n_ranked, 1):
            raise ParameterError("target", f"top:N needs 1 ≤ N ≤ {ys.n_ranked} (provinces ranked in {ys.year}); "
                                           f"got {raw!r}")
        return TargetSpec("top", n, raw)
    try:
        score = float(raw.replace(",", "."))
    except ValueError:
        raise ParameterError("target", f"{raw!r} is not group:best, group:high_average, group:low_average, "
                                       f"top:N or a score") from None
    if not 0 < score <= ys.regime.total_max:
        raise ParameterError("target", f"a score target must lie in (0, {ys.regime.total_max}] for {ys.year}; "
                                       f"got {raw!r}")
    return TargetSpec("score", score, raw)


def default_target(group: str | None) -> str:
    """The target when none is given: the next group up; for a province already in the best group (or
    without a group), ``group:best`` resp. ``group:high_average``."""
    step = {"poor": "low_average", "low_average": "high_average", "high_average": "best", "best": "best"}
    return "group:" + step.get(group or "", "high_average")


def counterfactual_rank(totals: pd.Series, code: str, new_total: float) -> int:
    """Rank of ``code`` if its total were ``new_total`` and every other province stayed put
    (1 = highest; ties share the best rank, as ``scores.rank_desc``)."""
    return int((_others(totals, code) > new_total).sum()) + 1


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """numpy's own linear interpolation (``np.percentile``'s), so cut-offs match it to the last bit."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def _cut_values(others: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The 25th/50th/75th percentiles (rows) of ``others`` plus each candidate total in ``xs``
    (columns), by inserting each candidate into the sorted totals (vectorised over candidates; the
    same arithmetic as ``np.percentile`` in ``scores.assign_groups``)."""
    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    o = np.sort(others)
    n = o.size + 1
    k = np.searchsorted(o, xs)  # the candidate's position in the merged sorted array

    def merged(j: int) -> np.ndarray:
        lower = o[min(j, o.size - 1)] if o.size else np.nan
        upper = o[j - 1] if j >= 1 else np.nan
        return np.where(j < k, lower, np.where(j == k, xs, upper))

    out = np.empty((3, xs.size))
    for row, q in enumerate((0.25, 0.5, 0.75)):
        h = (n - 1) * q
        i = int(np.floor(h))
        t = h - i
        out[row] = merged(i) if i + 1 >= n else _lerp(merged(i), merged(i + 1), t)
    return out


def _group_index(others: np.ndarray, xs: np.ndarray, tie_rule: str) -> np.ndarray:
    """Group index (0 = best … 3 = poor, as ``GROUPS``) of each candidate total in ``xs`` among
    ``others``, the cut-offs recomputed with it (``_cut_values``)."""
    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    cut = _cut_values(others, xs)
    above = (xs[None, :] >= cut) if tie_rule == "at_or_above" else (xs[None, :] > cut)
    return 3 - above.sum(axis=0)


def _group_of(others: np.ndarray, x: float, tie_rule: str) -> str:
    return GROUPS[int(_group_index(others, np.array([x]), tie_rule)[0])]


def _others(totals: pd.Series, code: str) -> np.ndarray:
    """Every other province's total (missing ones left out), as an array."""
    v = totals.to_numpy(dtype=float)
    return v[(totals.index != code) & ~np.isnan(v)]


def counterfactual_group(totals: pd.Series, code: str, new_total: float, tie_rule: str) -> str:
    """Group of ``code`` with its total replaced (cut-offs recomputed with the new total)."""
    return _group_of(_others(totals, code), float(new_total), tie_rule)


def _group_ok(group: str, target: str) -> bool:
    return GROUPS.index(group) <= GROUPS.index(target)


CUT_ROW = {"low_average": 0, "high_average": 1, "best": 2}  # the row of ``_cut_values`` a group starts at


def points_needed(spec: TargetSpec, ys: YearScores, code: str) -> float:
    """Minimum points to add to the province's total to meet the target, others held (0 if met).

    No ties at the cut-off: a group or ``top:N`` target that is not yet met needs the new total to
    clear the (re-ranked) cut-off — the group's quartile recomputed with the new total, or the N-th
    best of the other totals — by at least ``CLEAR`` (half the display precision), so the amount shown,
    rounded up, is never a tie that the year's tie rule could send the other way. A score target needs
    the score itself."""
    totals = ys.provinces["total"]
    total = float(totals[code])
    if spec.kind == "score":
        return max(0.0, float(spec.value) - total)
    others = _others(totals, code)
    if spec.kind == "top":
        ranked = np.sort(others)[::-1]
        n = int(spec.value)
        if n > len(ranked) or total >= ranked[n - 1]:
            return 0.0
        return float(ranked[n - 1]) + CLEAR - total
    goal = GROUPS.index(str(spec.value))
    rule = ys.rule.tie_rule
    if _group_index(others, np.array([total]), rule)[0] <= goal:
        return 0.0
    row = CUT_ROW[str(spec.value)]

    def clears(xs: np.ndarray) -> np.ndarray:  # monotone in xs: a cut-off moves at most as fast as the total
        return xs - _cut_values(others, xs)[row] >= CLEAR

    lo, hi = 0.0, float(ys.regime.total_max) - total
    if not clears(np.array([total + hi]))[0]:
        return hi
    for _ in range(8):  # 64 candidates a round: the bracket shrinks to ~1e-13 of the range
        grid = np.linspace(lo, hi, 65)
        ok = clears(total + grid)  # False … False True … True
        first = int(np.argmax(ok))
        lo, hi = float(grid[max(first - 1, 0)]), float(grid[first])
    return hi


@dataclass
class TargetPlan:
    """The plan towards one target. ``path``: code, label_vi, label_en, gap, share, points.

    ``needed_points`` is the least amount that clears the cut-off by ``CLEAR``; ``needed_shown`` is it rounded up at the printed precision and
    ``goal`` (= total + needed) the total at which the target is reached, others held: the moving
    cut-off, since the province's own total moves the quartiles. ``margin`` is the province's
    survey margin (1.96 × its standard error, see ``uncertainty``) for comparison with the points
    needed."""

    spec: TargetSpec
    year: int
    total: float | None
    cutoff: float | None
    needed_points: float | None
    already_met: bool
    reachable: bool | None
    path: pd.DataFrame
    path_points: float | None
    rank_now: int | None
    rank_after: int | None
    group_after: str | None
    n_ranked: int
    notes: list[Note] = field(default_factory=list)
    margin: float | None = None

    @property
    def needed_shown(self) -> float | None:
        return None if self.needed_points is None else round_up(self.needed_points)

    @property
    def goal(self) -> float | None:
        return None if self.needed_points is None else self.total + self.needed_points

    def to_frame(self) -> pd.DataFrame:
        return self.path.copy()

    def to_dict(self) -> dict:
        return {"kind": self.spec.kind, "target": self.spec.text, "value": self.spec.value, "year": self.year,
                "total": self.total, "cutoff": self.cutoff, "needed_points": self.needed_points,
                "needed_shown": self.needed_shown, "goal": self.goal, "survey_margin": self.margin,
                "already_met": self.already_met, "reachable": self.reachable,
                "path": [{"code": r["code"], "label_vi": r["label_vi"], "label_en": r["label_en"],
                          "gap": float(r["gap"]), "share": float(r["share"]), "points": float(r["points"])}
                         for r in self.path.to_dict("records")],
                "path_points": self.path_points, "rank_now": self.rank_now, "rank_after": self.rank_after,
                "group_after": self.group_after, "n_ranked": self.n_ranked, "others_held": True,
                "notes": [n.to_dict() for n in self.notes]}


PATH_COLUMNS = ["code", "label_vi", "label_en", "gap", "share", "points"]


def static_cutoff(spec: TargetSpec, ys: YearScores) -> float | None:
    """The computed threshold as the year's figures stand: the group's lower cut-off (quartile of the
    ranked totals), the N-th total, or the score."""
    if spec.kind == "group":
        return ys.cutoffs["total"][{"best": "p75", "high_average": "p50", "low_average": "p25"}[str(spec.value)]]
    if spec.kind == "top":
        ranked = ys.provinces["total"].dropna().sort_values(ascending=False)
        return float(ranked.iloc[min(int(spec.value), len(ranked)) - 1])
    return float(spec.value)


def target_levels(spec: TargetSpec, ys: YearScores) -> pd.Series:
    """The target group's level on each sub-dimension: the median of ``spec.members`` (NaN if none)."""
    members = spec.members(ys)
    sub = ys.subdimensions
    if not members:
        return pd.Series(np.nan, index=sub.columns)
    return sub.loc[members].median()


def gap_candidates(spec: TargetSpec, ys: YearScores, code: str, levels: pd.Series | None = None) -> pd.DataFrame:
    """Every sub-dimension with the province's gap to the target group's level (``levels``, default
    ``target_levels``), largest gap first: the columns ``plan_target`` reads (the briefing passes the
    priority order instead)."""
    st = ys.structure
    levels = target_levels(spec, ys) if levels is None else levels
    codes = st["code"].to_numpy()
    gap = levels.reindex(codes).to_numpy(dtype=float) - ys.subdimensions.loc[code].reindex(codes).to_numpy(dtype=float)
    order = np.lexsort((codes, np.nan_to_num(-gap, nan=np.inf)))  # largest gap first, then code
    return pd.DataFrame({"code": codes[order], "label_vi": st["label_vi"].to_numpy()[order],
                         "label_en": st["label_en"].to_numpy()[order], "gap_to_target": gap[order]})


def plan_target(spec: TargetSpec, ys: YearScores, code: str, priorities: pd.DataFrame,
                margin: float | None = None) -> TargetPlan:
    """Points needed and a path through ``priorities`` (ordered; columns code, label_vi, label_en,
    gap_to_target); ``margin``: the province's survey margin, kept beside the points needed."""
    totals = ys.provinces["total"]
    total = totals.get(code)
    notes = [make_note("an_target_others_held", year=ys.year)]
    cut = static_cutoff(spec, ys)
    if total is None or pd.isna(total):
        notes.append(make_note("an_target_no_total", year=ys.year))
        return TargetPlan(spec, ys.year, None, cut, None, False, None, pd.DataFrame(columns=PATH_COLUMNS), None,
                          None, None, None, ys.n_ranked, notes, margin=margin)
    total = float(total)
    needed = points_needed(spec, ys, code)
    others = _others(totals, code)
    rule = ys.rule.tie_rule
    rank_now = int((others > total).sum()) + 1
    if spec.kind == "group" and ys.rule.tie_rule == "strictly_above":
        notes.append(make_note("an_target_strict", year=ys.year))
    if needed <= 0:
        notes.append(make_note("an_target_met", target=spec.text))
        return TargetPlan(spec, ys.year, total, cut, 0.0, True, True, pd.DataFrame(columns=PATH_COLUMNS), 0.0,
                          rank_now, rank_now, _group_of(others, total, rule),
                          ys.n_ranked, notes, margin=margin)
    cand = priorities[priorities["gap_to_target"].fillna(0) >= MIN_GAP]
    chosen, cum = [], 0.0
    for r in zip(cand["code"], cand["label_vi"], cand["label_en"], cand["gap_to_target"]):
        if len(chosen) >= MIN_PATH and cum >= needed:
            break
        chosen.append(dict(zip(("code", "label_vi", "label_en", "gap_to_target"), r)))
        cum += float(r[3])
    reachable = cum >= needed
    share = 1.0 if not reachable or cum == 0 else needed / cum
    path = pd.DataFrame([{"code": r["code"], "label_vi": r["label_vi"], "label_en": r["label_en"],
                          "gap": float(r["gap_to_target"]), "share": share,
                          "points": share * float(r["gap_to_target"])} for r in chosen], columns=PATH_COLUMNS)
    gained = float(path["points"].sum()) if len(path) else 0.0
    # a reaching path sums to ``needed`` up to floating-point error: evaluate it at total + needed
    new_total = total + (max(gained, needed) + TOLERANCE if reachable else gained)
    if not reachable:
        notes.append(make_note("an_target_unreachable", short=float(needed - gained)))
    return TargetPlan(spec, ys.year, total, cut, needed, False, reachable, path, gained, rank_now,
                      int((others > new_total).sum()) + 1, _group_of(others, new_total, rule), ys.n_ranked, notes,
                      margin=margin)
