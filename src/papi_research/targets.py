"""Target planner: points needed for a group, a top-N place or a score, and a plausible path to it.

Targets: ``group:best``, ``group:high_average``, ``group:low_average``, ``top:N`` or a plain score
(``"45.5"``). Everything is computed against the latest year's totals with every other province
held where it is: a group target is solved exactly (the quartile cut-offs are recomputed with the
province's new total, as PAPI would), a ``top:N`` target needs the N-th best of the other totals
(ties share a rank), a score needs the score. The path closes the same share of the gap to the
target group's level on the top priority sub-dimensions (at least the top three, more only when
needed), and its counterfactual rank is recomputed by brute force.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from .change import Note, make_note
from .errors import ParameterError
from .scores import GROUPS, YearScores, assign_groups

TARGET_GROUPS = ("best", "high_average", "low_average")
MIN_PATH = 3
MIN_GAP = 0.01  # gaps smaller than this (points) are not worth a line of the path


@dataclass(frozen=True)
class TargetSpec:
    """A parsed target: kind "group" (value a group key), "top" (value N) or "score" (value points)."""

    kind: str
    value: str | int | float
    text: str

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


def counterfactual_rank(totals: pd.Series, code: str, new_total: float) -> int:
    """Rank of ``code`` if its total were ``new_total`` and every other province stayed put
    (1 = highest; ties share the best rank, as ``scores.rank_desc``)."""
    others = totals.drop(code).dropna()
    return int((others > new_total).sum()) + 1


def counterfactual_group(totals: pd.Series, code: str, new_total: float, tie_rule: str) -> str:
    """Group of ``code`` with its total replaced (cut-offs recomputed with the new total)."""
    s = totals.dropna().copy()
    s[code] = new_total
    return assign_groups(s, tie_rule)[code]


def _group_ok(group: str, target: str) -> bool:
    return GROUPS.index(group) <= GROUPS.index(target)


def points_needed(spec: TargetSpec, ys: YearScores, code: str) -> float:
    """Minimum points to add to the province's total to meet the target, others held (0 if met)."""
    totals = ys.provinces["total"]
    total = float(totals[code])
    if spec.kind == "score":
        return max(0.0, float(spec.value) - total)
    if spec.kind == "top":
        others = totals.drop(code).dropna().sort_values(ascending=False)
        n = int(spec.value)
        if n > len(others):
            return 0.0
        return max(0.0, float(others.iloc[n - 1]) - total)
    target = str(spec.value)
    rule = ys.rule.tie_rule
    if _group_ok(counterfactual_group(totals, code, total, rule), target):
        return 0.0
    lo, hi = 0.0, float(ys.regime.total_max) - total
    if not _group_ok(counterfactual_group(totals, code, total + hi, rule), target):
        return hi
    for _ in range(60):  # bisection to ~1e-15 of the range: exact for reporting
        mid = (lo + hi) / 2
        if _group_ok(counterfactual_group(totals, code, total + mid, rule), target):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass
class TargetPlan:
    """The plan towards one target. ``path``: code, label_vi, label_en, gap, share, points."""

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

    def to_frame(self) -> pd.DataFrame:
        return self.path.copy()

    def to_dict(self) -> dict:
        return {"kind": self.spec.kind, "target": self.spec.text, "value": self.spec.value, "year": self.year,
                "total": self.total, "cutoff": self.cutoff, "needed_points": self.needed_points,
                "already_met": self.already_met, "reachable": self.reachable,
                "path": [{"code": r["code"], "label_vi": r["label_vi"], "label_en": r["label_en"],
                          "gap": float(r["gap"]), "share": float(r["share"]), "points": float(r["points"])}
                         for r in self.path.to_dict("records")],
                "path_points": self.path_points, "rank_now": self.rank_now, "rank_after": self.rank_after,
                "group_after": self.group_after, "n_ranked": self.n_ranked, "others_held": True,
                "notes": [n.to_dict() for n in self.notes]}


PATH_COLUMNS = ["code", "label_vi", "label_en", "gap", "share", "points"]


def static_cutoff(spec: TargetSpec, ys: YearScores) -> float | None:
    """The published-style threshold: the group's lower cut-off, the N-th total, or the score."""
    if spec.kind == "group":
        return ys.cutoffs["total"][{"best": "p75", "high_average": "p50", "low_average": "p25"}[str(spec.value)]]
    if spec.kind == "top":
        ranked = ys.provinces["total"].dropna().sort_values(ascending=False)
        return float(ranked.iloc[min(int(spec.value), len(ranked)) - 1])
    return float(spec.value)


def plan_target(spec: TargetSpec, ys: YearScores, code: str, priorities: pd.DataFrame) -> TargetPlan:
    """Points needed and a path through ``priorities`` (ordered; columns code, label_vi, label_en,
    gap_to_target)."""
    totals = ys.provinces["total"]
    total = totals.get(code)
    notes = [make_note("an_target_others_held", year=ys.year)]
    cut = static_cutoff(spec, ys)
    if total is None or pd.isna(total):
        notes.append(make_note("an_target_no_total", year=ys.year))
        return TargetPlan(spec, ys.year, None, cut, None, False, None, pd.DataFrame(columns=PATH_COLUMNS), None,
                          None, None, None, ys.n_ranked, notes)
    total = float(total)
    needed = points_needed(spec, ys, code)
    rank_now = counterfactual_rank(totals, code, total)
    if spec.kind == "group" and ys.rule.tie_rule == "strictly_above":
        notes.append(make_note("an_target_strict", year=ys.year))
    if needed <= 0:
        notes.append(make_note("an_target_met", target=spec.text))
        return TargetPlan(spec, ys.year, total, cut, 0.0, True, True, pd.DataFrame(columns=PATH_COLUMNS), 0.0,
                          rank_now, rank_now, counterfactual_group(totals, code, total, ys.rule.tie_rule),
                          ys.n_ranked, notes)
    cand = priorities[priorities["gap_to_target"].fillna(0) >= MIN_GAP]
    chosen, cum = [], 0.0
    for r in cand.to_dict("records"):
        if len(chosen) >= MIN_PATH and cum >= needed:
            break
        chosen.append(r)
        cum += float(r["gap_to_target"])
    reachable = cum >= needed
    share = 1.0 if not reachable or cum == 0 else needed / cum
    path = pd.DataFrame([{"code": r["code"], "label_vi": r["label_vi"], "label_en": r["label_en"],
                          "gap": float(r["gap_to_target"]), "share": share,
                          "points": share * float(r["gap_to_target"])} for r in chosen], columns=PATH_COLUMNS)
    gained = float(path["points"].sum()) if len(path) else 0.0
    new_total = total + gained
    if not reachable:
        notes.append(make_note("an_target_unreachable", short=float(needed - gained)))
    return TargetPlan(spec, ys.year, total, cut, needed, False, reachable, path, gained, rank_now,
                      counterfactual_rank(totals, code, new_total),
                      counterfactual_group(totals, code, new_total, ys.rule.tie_rule), ys.n_ranked, notes)
