"""What separates provinces: each part's share of the cross-province variance of the total.

For the ranked provinces of a year, the total T is the sum of its dimensions x_d (and of its
sub-dimensions), so var(T) = Σ_d cov(x_d, T) and the shares cov(x_d, T) / var(T) sum to 1 exactly
(a share can be negative when a part moves against the total). The same holds for sub-dimensions.
The province's percentile in each part is the share of provinces (with that score) scoring at or
below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from papi_research.analysis.scores import YearScores, year_scores
from papi_research.data.codebook import dimensions
from papi_research.data.loader import PapiData
from papi_research.data.provinces import Province
from papi_research.data.values import num as _num


def percentile_at_or_below(values: pd.Series, x: float | None) -> float | None:
    """Percent (0–100) of the non-missing values that are at or below x."""
    if x is None or pd.isna(x):
        return None
    v = values.dropna().to_numpy(dtype=float)
    if v.size == 0:
        return None
    return float(100.0 * np.mean(v <= x + 1e-12))


def variance_shares(parts: pd.DataFrame) -> pd.Series:
    """cov(part, total) / var(total) for each column of ``parts`` (rows: provinces with every part),
    total = row sum. Uses the n-1 denominator in both (it cancels)."""
    total = parts.sum(axis=1)
    dev_t = total - total.mean()
    var_t = float((dev_t ** 2).sum())
    if var_t == 0.0:
        raise ValueError("the total does not vary across provinces")
    return (parts - parts.mean()).mul(dev_t, axis=0).sum() / var_t


@dataclass
class VarianceResult:
    """Shares of the cross-province variance of the total in ``year``, with a province's percentiles.

    ``by_dimension``: number, name_vi, name_en, share, sd, score, percentile.
    ``by_subdimension``: code, dimension, label_vi, label_en, share, sd, score, percentile.
    """

    year: int
    n: int
    var_total: float
    province: Province | None
    by_dimension: pd.DataFrame
    by_subdimension: pd.DataFrame
    notes: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.by_dimension.copy()

    def to_dict(self) -> dict:
        def rec(df, keys):
            return [{k: (_num(r[k]) if k in ("share", "sd", "score", "percentile") else
                         (int(r[k]) if k in ("number", "dimension") else r[k])) for k in keys}
                    for r in df.to_dict("records")]
        return {"year": self.year, "n": self.n, "var_total": self.var_total,
                "by_dimension": rec(self.by_dimension, ["number", "name_vi", "name_en", "share", "sd", "score",
                                                        "percentile"]),
                "by_subdimension": rec(self.by_subdimension, ["code", "dimension", "label_vi", "label_en", "share",
                                                              "sd", "score", "percentile"]),
                "notes": [n.to_dict() for n in self.notes]}


_NATIONAL: dict[tuple[str, str, int], tuple[pd.DataFrame, pd.DataFrame, int, float]] = {}


def _national(data: PapiData, ys: YearScores) -> tuple[pd.DataFrame, pd.DataFrame, int, float]:
    key = (str(data.directory), data.version, ys.year)
    if key in _NATIONAL:
        return _NATIONAL[key]
    ranked = ys.provinces.index[ys.provinces["total"].notna()]
    dims = ys.dimensions.loc[ranked]
    subs = ys.subdimensions.loc[ranked]
    dshare = variance_shares(dims)
    sshare = variance_shares(subs)
    names = dimensions()
    bd = pd.DataFrame({"number": [int(d) for d in dims.columns],
                       "name_vi": [names[int(d)].name_vi for d in dims.columns],
                       "name_en": [names[int(d)].name_en for d in dims.columns],
                       "share": dshare.to_numpy(), "sd": dims.std().to_numpy()})
    st = ys.structure.set_index("code")
    bs = pd.DataFrame({"code": list(subs.columns), "dimension": [int(st.at[c, "dimension"]) for c in subs.columns],
                       "label_vi": [st.at[c, "label_vi"] for c in subs.columns],
                       "label_en": [st.at[c, "label_en"] for c in subs.columns],
                       "share": sshare.to_numpy(), "sd": subs.std().to_numpy()})
    total = dims.sum(axis=1)
    out = (bd, bs, int(len(ranked)), float(total.var()))
    _NATIONAL[key] = out
    return out


def variance_decomposition(data: PapiData, year: int, province: Province | str | None = None) -> VarianceResult:
    """Variance shares for ``year`` (national, cached) and the province's percentile in each part."""
    ys = year_scores(data, data.check_year(int(year)))
    bd, bs, n, var_t = _national(data, ys)
    bd, bs = bd.copy(), bs.copy()
    p = None
    if province is not None:
        p = province if isinstance(province, Province) else data.provinces.lookup(province)
        bd["score"] = [_num(ys.dimensions.at[p.code, d]) for d in bd["number"]]
        bd["percentile"] = [percentile_at_or_below(ys.dimensions[d], s) for d, s in zip(bd["number"], bd["score"])]
        bs["score"] = [_num(ys.subdimensions.at[p.code, c]) for c in bs["code"]]
        bs["percentile"] = [percentile_at_or_below(ys.subdimensions[c], s) for c, s in zip(bs["code"], bs["score"])]
    else:
        for df in (bd, bs):
            df["score"] = None
            df["percentile"] = None
    return VarianceResult(year=ys.year, n=n, var_total=var_t, province=p, by_dimension=bd, by_subdimension=bs)
