"""Survey uncertainty: standard errors, 95 % intervals, plausible rank ranges and group stability.

PAPI is a citizen survey. Its 2019 indicator file (``scores_2019_with_ci.csv``) gives each
province's interval twice: for the *weighted* score (with the "PAPI Standard Error" column) and for
the *unweighted* score. The published totals are the unweighted scores (the unweighted interval's
midpoint, to 2e-6), so the standard error used here is the unweighted one. The workbook's "95 %"
intervals are ±1.645 standard errors (in every row, the weighted high − low is 3.2899 × its
"PAPI Standard Error"), i.e. 90 % intervals, so the unweighted pair is read the same way:
SE = (high − low) / 3.29 (median ≈ 0.37, range 0.22–1.99). Every interval shown here is a true
95 % interval, ±1.96 SE. The weighted column belongs to another score and is not used.

The data here holds intervals for 2019 only (PAPI's yearly reports show intervals, but they are not
in these files). For other years a standard error must be assumed, and every result says how
(``basis``). The rule (``RULE``) is the **national median of the 2019 standard errors**:

* ``survey_2019`` — 2019 itself: the province's own unweighted interval;
* ``national_2019`` — 2018 and 2020 onward (the same 8-dimension scale): the median of the 63
  provinces' 2019 SEs, for every province;
* ``national_2019_scaled`` — 2011–2017 (6 dimensions, total out of 60): that median × √(6/8),
  assuming the dimensions' errors are independent and of equal size.

Why the median and not the province's own 2019 SE: one survey year's SE mixes the province's
sample size (stable) with that year's spread of answers (not); the 2019 SEs are skewed (Sơn La's
1.99 is 5.4× the median and the largest), and carrying one province's 2019 noise into every other
year made a single year's accident decide its verdicts everywhere (Sơn La 2021: a rank range of
19–60, "on par" on all eight dimensions while six sat in the bottom group). The median is the
typical sampling error of a PAPI province; the province's own 2019 SE (``carried_2019`` /
``scaled_2019``, the previous rule) is kept as the **sensitivity** rule: ``verdict_flips`` runs
the verdicts under both and lists every one that flips, and the scorecard and the briefing say so.

Margins. A dimension's SE is the total's divided by √(number of dimensions), and a
sub-dimension's the dimension's divided by √(number of its sub-dimensions) (independent parts of
equal error). Each verdict uses its own margin (1.96 × its own SE): the total's for the total, a
dimension's for a dimension, a sub-dimension's for a sub-dimension; against a fixed reference (the
national median) the margin is 1.96 SE, for a change between two independent years
1.96 √(SE₁² + SE₂²).

The rank range, the national and regional rank ranges, the probability of keeping the group and of
holding the published regional rank come from ``N_DRAWS`` seeded draws of every ranked province's
total from N(total, SE²), independent across provinces, with the quartile cut-offs recomputed in
each draw under the year's tie rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from papi_research.analysis.scores import GROUPS, year_scores
from papi_research.data.codebook import regime_of
from papi_research.data.files import number_cell, read_table
from papi_research.data.i18n import t
from papi_research.data.loader import PapiData
from papi_research.errors import DataValidationError

CI_FILE = "scores_2019_with_ci.csv"
CI_YEAR = 2019
Z95 = 1.959963984540054
Z90 = 1.6448536269514722
SE_FROM_WIDTH = 2 * 1.645  # the workbook's "95 %" pair is ±1.645 SE (see the module docstring)
N_DRAWS = 2000
SEED = 20190
CI_COLUMNS = ("code", "Unweighted 95% CI Low", "Unweighted 95% CI High")
RULE = "national"  # years without intervals: the national median 2019 SE ("own": the province's, the sensitivity)
RULES = ("national", "own")


@lru_cache(maxsize=4)
def _read_ci(path: str, mtime: float) -> pd.Series:
    p = Path(path)
    df = read_table(p, CI_COLUMNS, whole_lines=True)  # encoding, separator, columns, fields per row
    out = {}
    for i, r in enumerate(df.to_dict("records"), start=2):
        lo = number_cell(r["Unweighted 95% CI Low"], p, i, "Unweighted 95% CI Low")
        hi = number_cell(r["Unweighted 95% CI High"], p, i, "Unweighted 95% CI High")
        if not hi > lo:
            raise DataValidationError("the interval's high end must exceed its low end", file=p, row=i,
                                      column="Unweighted 95% CI High", value=r["Unweighted 95% CI High"])
        if r["code"] in out:
            raise DataValidationError("province listed twice", file=p, row=i, column="code", value=r["code"])
        out[r["code"]] = (hi - lo) / SE_FROM_WIDTH
    return pd.Series(out, name="se", dtype=float)


def survey_se_2019(data: PapiData) -> pd.Series | None:
    """Each province's 2019 standard error of the (unweighted, published) total; None when the
    indicator file is not in the data folder."""
    path = data.directory / CI_FILE
    if not path.is_file():
        return None
    se = _read_ci(str(path), path.stat().st_mtime)
    unknown = sorted(set(se.index) - set(data.provinces.codes))
    if unknown:
        raise DataValidationError("unknown province code", file=path, column="code", value=unknown[0])
    return se


def basis_of(year: int, rule: str = RULE) -> str:
    """How the standard errors of ``year`` are obtained under ``rule`` (see the module docstring)."""
    if year == CI_YEAR:
        return "survey_2019"
    if rule == "own":
        return "carried_2019" if year >= 2018 else "scaled_2019"
    return "national_2019" if year >= 2018 else "national_2019_scaled"


def year_se(data: PapiData, year: int, rule: str = RULE) -> pd.Series | None:
    """Each province's SE of the total in ``year`` under ``rule`` (index: the 63 codes); None
    without the 2019 indicator file."""
    se19 = survey_se_2019(data)
    if se19 is None:
        return None
    codes = data.provinces.codes
    n_dims = regime_of(year).n_dimensions
    scale = 1.0 if n_dims == 8 else math.sqrt(n_dims / 8)
    median = float(se19.median())
    if year == CI_YEAR or rule == "own":
        # a province absent from the 2019 file (none in the real data) gets the median SE
        se = se19.reindex(codes).fillna(median)
    else:
        se = pd.Series(median, index=codes)
    return (se * scale).rename("se")


def basis_text(basis: str, lang: str, year: int) -> str:
    return t(f"unc_basis_{basis}", lang, year=year)


@dataclass
class YearUncertainty:
    """Uncertainty of every province's total in one year (index: province code).

    ``table``: se, ci_low, ci_high, margin (1.96·SE), rank_best, rank_worst, p_keep_group,
    near_cutoff (a cut-off lies inside the interval), region_rank_best, region_rank_worst,
    p_region_rank (the share of draws holding the published regional rank); ``dim_se``: the SE of
    one dimension score; ``sub_se``: per sub-dimension code, the SE of its score."""

    year: int
    basis: str
    table: pd.DataFrame
    dim_se: pd.Series
    sub_se: pd.DataFrame
    n_draws: int = N_DRAWS
    seed: int = SEED
    rule: str = RULE

    def row(self, code: str) -> dict:
        r = self.table.loc[code]
        has = pd.notna(r["ci_low"])
        has_region = has and pd.notna(r.get("region_rank_best"))
        return {"se": _f(r["se"]), "ci_low": _f(r["ci_low"]), "ci_high": _f(r["ci_high"]),
                "margin": _f(r["margin"]), "ci_level": 0.95, "ci_basis": self.basis, "ci_rule": self.rule,
                "ci_basis_text": {lang: basis_text(self.basis, lang, self.year) for lang in ("vi", "en")},
                "dimension_margin": _f(Z95 * self.dim_se[code]),
                "rank_range": [int(r["rank_best"]), int(r["rank_worst"])] if has else None,
                "p_keep_group": _f(r["p_keep_group"]) if has else None,
                "near_cutoff": bool(r["near_cutoff"]) if has else None,
                "region_rank_range": ([int(r["region_rank_best"]), int(r["region_rank_worst"])]
                                      if has_region else None),
                "p_region_rank": _f(r["p_region_rank"]) if has_region else None,
                "simulation": {"draws": self.n_draws, "seed": self.seed} if has else None}

    def margin(self, code: str) -> float | None:
        return _f(self.table.at[code, "margin"])

    def sub_margin(self, code: str, sub: str) -> float | None:
        """The 95 % margin of one sub-dimension score against a fixed reference (1.96 × its SE)."""
        if sub not in self.sub_se.columns or code not in self.sub_se.index:
            return None
        return _f(Z95 * self.sub_se.at[code, sub])


def _f(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


_CACHE: dict[tuple, YearUncertainty | None] = {}


def year_uncertainty(data: PapiData, year: int, rule: str = RULE) -> YearUncertainty | None:
    """The uncertainty of ``year`` under ``rule`` (cached per data version); None without the 2019
    indicator file, and for a year on the 34 (the 2019 survey errors are the 63 former provinces')."""
    if int(year) in data.years34:
        return None
    key = (str(data.directory), data.version, int(year), rule)
    if key not in _CACHE:
        _CACHE[key] = _compute(data, int(year), rule)
    return _CACHE[key]


def _ranks(draws: np.ndarray) -> np.ndarray:
    """Rank (1 = highest) of each column in each row of ``draws``."""
    order = np.argsort(-draws, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, draws.shape[1] + 1)[None, :].repeat(draws.shape[0], axis=0), axis=1)
    return ranks


def _compute(data: PapiData, year: int, rule: str = RULE) -> YearUncertainty | None:
    se = year_se(data, year, rule)
    if se is None:
        return None
    ys = year_scores(data, year)
    basis = basis_of(year, rule)
    n_dims = ys.regime.n_dimensions
    se = se.reindex(ys.provinces.index)
    total = ys.provinces["total"].astype(float)
    tab = pd.DataFrame({"se": se, "ci_low": total - Z95 * se, "ci_high": total + Z95 * se,
                        "margin": Z95 * se}, index=ys.provinces.index)
    tab.loc[total.isna(), ["ci_low", "ci_high"]] = np.nan
    ranked = total.dropna()
    codes = ranked.index
    rng = np.random.default_rng([SEED, year])
    draws = ranked.to_numpy()[None, :] + rng.standard_normal((N_DRAWS, len(codes))) * se[codes].to_numpy()[None, :]
    ranks = _ranks(draws)
    best = np.quantile(ranks, 0.025, axis=0, method="lower")
    worst = np.quantile(ranks, 0.975, axis=0, method="higher")
    rank_now = ys.provinces.loc[codes, "rank"].astype(int).to_numpy()
    cut = np.percentile(draws, [25, 50, 75], axis=1)  # (3, draws)
    above = (draws[None] >= cut[:, :, None]) if ys.rule.tie_rule == "at_or_above" else (draws[None] > cut[:, :, None])
    group_idx = 3 - above.sum(axis=0)  # draws × provinces
    now_idx = np.array([GROUPS.index(g) for g in ys.provinces.loc[codes, "group"]])
    keep = (group_idx == now_idx[None, :]).mean(axis=0)
    c = ys.cutoffs["total"]
    lo, hi = tab.loc[codes, "ci_low"].to_numpy(), tab.loc[codes, "ci_high"].to_numpy()
    near = np.zeros(len(codes), dtype=bool)
    for q in ("p25", "p50", "p75"):
        near |= (lo <= c[q]) & (c[q] <= hi)
    # the published rank is always within the range shown
    tab.loc[codes, "rank_best"] = np.minimum(best, rank_now)
    tab.loc[codes, "rank_worst"] = np.maximum(worst, rank_now)
    tab.loc[codes, "p_keep_group"] = keep
    tab.loc[codes, "near_cutoff"] = near
    # the regional rank in the same draws (ranked among the ranked members of the region)
    region = ys.provinces.loc[codes, "region_en"].to_numpy()
    region_now = ys.provinces.loc[codes, "region_rank"].astype(int).to_numpy()
    for reg in sorted(set(region)):
        idx = np.flatnonzero(region == reg)
        rr = _ranks(draws[:, idx])
        members = codes[idx]
        tab.loc[members, "region_rank_best"] = np.minimum(np.quantile(rr, 0.025, axis=0, method="lower"),
                                                          region_now[idx])
        tab.loc[members, "region_rank_worst"] = np.maximum(np.quantile(rr, 0.975, axis=0, method="higher"),
                                                           region_now[idx])
        tab.loc[members, "p_region_rank"] = (rr == region_now[idx][None, :]).mean(axis=0)
    dim_se = se / math.sqrt(n_dims)
    n_sub = ys.structure.groupby("dimension")["code"].transform("count").to_numpy()
    sub_se = pd.DataFrame({c_: dim_se / math.sqrt(k) for c_, k in zip(ys.structure["code"], n_sub)})
    return YearUncertainty(year=year, basis=basis, table=tab, dim_se=dim_se, sub_se=sub_se, rule=rule)


def difference_noise(se_a: float | None, se_b: float | None = None) -> float | None:
    """Half-width of the 95 % interval of a difference between two independent estimates (one
    estimate against a fixed reference when ``se_b`` is None)."""
    if se_a is None:
        return None
    return Z95 * math.sqrt(se_a ** 2 + (se_b or 0.0) ** 2)


def within_noise(diff: float | None, noise: float | None) -> bool:
    """Whether a difference is inside its noise band (then it reads "on par", not a gain or a lead)."""
    return diff is not None and noise is not None and abs(diff) <= noise


def _verdict(diff: float, margin: float) -> str:
    return "on_par" if abs(diff) <= margin else "above" if diff > 0 else "below"


_FLIPS: dict[tuple, pd.DataFrame] = {}
FLIP_COLUMNS = ["code", "kind", "item", "difference", "margin_national", "margin_own", "verdict_national",
                "verdict_own"]


def verdict_flips(data: PapiData, year: int) -> pd.DataFrame:
    """The verdicts of ``year`` that change between the two rules for years without intervals
    (``RULE`` = "national" against the sensitivity "own"): for every province, the total's change
    against its previous comparable year (up / on par / down), each dimension and each
    sub-dimension against the national median (above / on par / below), each with its own margin.
    One row per flipped verdict (``FLIP_COLUMNS``); empty in 2019 (both rules use the survey)."""
    key = (str(data.directory), data.version, int(year))
    if key in _FLIPS:
        return _FLIPS[key]
    from papi_research.analysis.scores import previous_year
    rows = []
    ys = year_scores(data, year)
    se = {r: year_se(data, year, r) for r in RULES}
    if se["national"] is not None and year != CI_YEAR:
        n_dims = ys.regime.n_dimensions
        n_sub = dict(zip(ys.structure["code"], ys.structure.groupby("dimension")["code"].transform("count")))
        for code in ys.provinces.index:
            total = ys.provinces.at[code, "total"]
            prev = previous_year(data, code, year) if pd.notna(total) else None
            items = []
            if prev is not None:
                diff = float(total) - float(year_scores(data, prev).provinces.at[code, "total"])
                m = {r: difference_noise(float(se[r][code]), float(year_se(data, prev, r)[code])) for r in RULES}
                items.append(("total_change", "total", diff, m))
            for d in ys.dimensions.columns:
                v = ys.dimensions.at[code, d]
                if pd.notna(v):
                    m = {r: Z95 * float(se[r][code]) / math.sqrt(n_dims) for r in RULES}
                    items.append(("dimension", f"D{int(d)}", float(v) - float(ys.national.at[int(d), "median"]), m))
            for c in ys.structure["code"]:
                v = ys.subdimensions.at[code, c]
                if pd.notna(v):
                    m = {r: Z95 * float(se[r][code]) / math.sqrt(n_dims) / math.sqrt(int(n_sub[c])) for r in RULES}
                    items.append(("subdimension", c, float(v) - float(ys.subdimensions[c].median()), m))
            for kind, item, diff, m in items:
                a, b = _verdict(diff, m["national"]), _verdict(diff, m["own"])
                if a != b:
                    rows.append({"code": code, "kind": kind, "item": item, "difference": diff,
                                 "margin_national": m["national"], "margin_own": m["own"],
                                 "verdict_national": a, "verdict_own": b})
    out = pd.DataFrame(rows, columns=FLIP_COLUMNS)
    _FLIPS[key] = out
    return out


def sensitivity(data: PapiData, code: str, year: int) -> dict | None:
    """For one province-year: the sensitivity rule, its interval and margin, and the verdicts that
    flip (``verdict_flips``); None in 2019 or without the indicator file."""
    if year == CI_YEAR:
        return None
    u = year_uncertainty(data, year, "own")
    if u is None:
        return None
    r = u.row(code)
    flips = verdict_flips(data, year)
    mine = flips[flips["code"] == code].drop(columns="code")
    return {"rule": "own", "basis": u.basis, "se": r["se"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
            "margin": r["margin"], "rank_range": r["rank_range"],
            "flips": [{k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in f.items()}
                      for f in mine.to_dict("records")]}


def p_at_or_above(score: float | None, se: float | None, threshold: float | None) -> float | None:
    """Chance that a province whose measured score is ``score`` (survey standard error ``se``) truly
    lies at or above ``threshold`` (normal sampling error); None when a value is missing."""
    if score is None or se is None or threshold is None or not se > 0:
        return None
    from statistics import NormalDist
    return float(1.0 - NormalDist(score, se).cdf(threshold))
