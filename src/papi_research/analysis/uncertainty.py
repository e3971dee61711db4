"""Survey uncertainty: standard errors, 95 % intervals, plausible rank ranges and group stability.

PAPI is a citizen survey. Its 2019 indicator file (``scores_2019_with_ci.csv``) gives each
province's 95 % confidence interval twice: for the *weighted* score (with the "PAPI Standard
Error" column) and for the *unweighted* score. The published totals are the unweighted scores
(the unweighted interval's midpoint, to 2e-6), so the standard error used here is the unweighted
one, derived from its interval: SE = (high − low) / 3.92 (median ≈ 0.31, range 0.19–1.67). The
weighted column belongs to another score and is not used.

Other years have no published intervals in the data, so the 2019 standard errors are extended,
and every result says how (``basis``):

* ``survey_2019`` — 2019 itself: the province's own unweighted interval;
* ``carried_2019`` — 2018 and 2020 onward (the same 8-dimension scale): the province's 2019 SE,
  assuming its sample size and the spread of answers stayed as in 2019;
* ``scaled_2019`` — 2011–2017 (6 dimensions, total out of 60): the 2019 SE × √(6/8), assuming the
  dimensions' errors are independent and of equal size.

A dimension's SE is the total's divided by √(number of dimensions), and a sub-dimension's the
dimension's divided by √(number of its sub-dimensions) (the same assumption). The rank range and
the probability of keeping the group come from ``N_DRAWS`` seeded draws of every ranked
province's total from N(total, SE²), independent across provinces, with the quartile cut-offs
recomputed in each draw under the year's tie rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from papi_research.analysis.scores import GROUPS, year_scores
from papi_research.data.files import number_cell, read_table
from papi_research.data.i18n import t
from papi_research.data.loader import PapiData
from papi_research.errors import DataValidationError

CI_FILE = "scores_2019_with_ci.csv"
CI_YEAR = 2019
Z95 = 1.959963984540054
SE_FROM_WIDTH = 2 * 1.96  # the (high − low) / 3.92 of the issue and of PAPI's own reports
N_DRAWS = 2000
SEED = 20190
CI_COLUMNS = ("code", "Unweighted 95% CI Low", "Unweighted 95% CI High")


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


def basis_of(year: int) -> str:
    """How the standard errors of ``year`` are obtained (see the module docstring)."""
    if year == CI_YEAR:
        return "survey_2019"
    return "carried_2019" if year >= 2018 else "scaled_2019"


def basis_text(basis: str, lang: str, year: int) -> str:
    return t(f"unc_basis_{basis}", lang, year=year)


@dataclass
class YearUncertainty:
    """Uncertainty of every province's total in one year (index: province code).

    ``table``: se, ci_low, ci_high, margin (1.96·SE), rank_best, rank_worst, p_keep_group,
    near_cutoff (a cut-off lies inside the interval); ``dim_se``: the SE of one dimension score;
    ``sub_se``: per sub-dimension code, the SE of its score."""

    year: int
    basis: str
    table: pd.DataFrame
    dim_se: pd.Series
    sub_se: pd.DataFrame
    n_draws: int = N_DRAWS
    seed: int = SEED

    def row(self, code: str) -> dict:
        r = self.table.loc[code]
        has = pd.notna(r["ci_low"])
        return {"se": _f(r["se"]), "ci_low": _f(r["ci_low"]), "ci_high": _f(r["ci_high"]),
                "margin": _f(r["margin"]), "ci_basis": self.basis,
                "ci_basis_text": {lang: basis_text(self.basis, lang, self.year) for lang in ("vi", "en")},
                "rank_range": [int(r["rank_best"]), int(r["rank_worst"])] if has else None,
                "p_keep_group": _f(r["p_keep_group"]) if has else None,
                "near_cutoff": bool(r["near_cutoff"]) if has else None,
                "simulation": {"draws": self.n_draws, "seed": self.seed} if has else None}

    def margin(self, code: str) -> float | None:
        return _f(self.table.at[code, "margin"])


def _f(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


_CACHE: dict[tuple, YearUncertainty | None] = {}


def year_uncertainty(data: PapiData, year: int) -> YearUncertainty | None:
    """The uncertainty of ``year`` (cached per data version); None without the 2019 indicator file, and for a
    year on the 34 (the 2019 survey errors are the 63 former provinces')."""
    if int(year) in data.years34:
        return None
    key = (str(data.directory), data.version, int(year))
    if key not in _CACHE:
        _CACHE[key] = _compute(data, int(year))
    return _CACHE[key]


def _compute(data: PapiData, year: int) -> YearUncertainty | None:
    se19 = survey_se_2019(data)
    if se19 is None:
        return None
    ys = year_scores(data, year)
    basis = basis_of(year)
    n_dims = ys.regime.n_dimensions
    scale = 1.0 if n_dims == 8 else math.sqrt(n_dims / 8)
    # a province absent from the 2019 file (none in the real data) gets the median SE
    se = se19.reindex(ys.provinces.index).fillna(float(se19.median())) * scale
    total = ys.provinces["total"].astype(float)
    tab = pd.DataFrame({"se": se, "ci_low": total - Z95 * se, "ci_high": total + Z95 * se,
                        "margin": Z95 * se}, index=ys.provinces.index)
    tab.loc[total.isna(), ["ci_low", "ci_high"]] = np.nan
    ranked = total.dropna()
    codes = ranked.index
    rng = np.random.default_rng([SEED, year])
    draws = ranked.to_numpy()[None, :] + rng.standard_normal((N_DRAWS, len(codes))) * se[codes].to_numpy()[None, :]
    order = np.argsort(-draws, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, len(codes) + 1)[None, :].repeat(N_DRAWS, axis=0), axis=1)
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
    dim_se = se / math.sqrt(n_dims)
    n_sub = ys.structure.groupby("dimension")["code"].transform("count").to_numpy()
    sub_se = pd.DataFrame({c_: dim_se / math.sqrt(k) for c_, k in zip(ys.structure["code"], n_sub)})
    return YearUncertainty(year=year, basis=basis, table=tab, dim_se=dim_se, sub_se=sub_se)


def difference_noise(se_a: float | None, se_b: float | None = None) -> float | None:
    """Half-width of the 95 % interval of a difference between two independent estimates (one
    estimate against a fixed reference when ``se_b`` is None)."""
    if se_a is None:
        return None
    return Z95 * math.sqrt(se_a ** 2 + (se_b or 0.0) ** 2)


def within_noise(diff: float | None, noise: float | None) -> bool:
    """Whether a difference is inside its noise band (then it reads "on par", not a gain or a lead)."""
    return diff is not None and noise is not None and abs(diff) <= noise
