"""Trend models: one province's slope per total, dimension and sub-dimension against the yearly
national median (HC3 errors, Holm-adjusted within the report); see ``models`` for the conventions.

A trend needs ``MIN_TREND_YEARS`` comparable years (three points say little: Đồng Tháp's 2021 total
from three years had an interval of ±48 points), and a slope whose 95 % interval is wider than the
outcome's whole scale is not given (``no_trend`` says why)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from papi_research.analysis.models import ALPHA, ModelFit, RowsByOutcome, _coef_table, fit_ols, holm
from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.series import (_outcome_names, _panel, comparable_years, national_medians,
                                           subdimension_medians, subdimension_wide)
from papi_research.data.codebook import regime_of
from papi_research.data.i18n import fmt_num, t
from papi_research.data.loader import PapiData
from papi_research.data.provinces import Province
from papi_research.data.values import num as _num

MIN_TREND_YEARS = 4   # fewer comparable years than this: too few for a trend (three points say little)


@dataclass
class TrendResult(RowsByOutcome):
    """The province's slope (points per year) per series; ``table``: outcome, level (total/dimension/
    subdimension), dimension, n, first_year, last_year, slope, se, ci_low, ci_high, p."""

    province: Province
    year: int
    table: pd.DataFrame
    fits: list[ModelFit]
    notes: list[Note] = field(default_factory=list)

    def slope(self, outcome: str) -> float | None:
        row = self._rows.get(outcome)
        return None if row is None else _num(row["slope"])

    def interval(self, outcome: str) -> tuple[float | None, float | None]:
        """The slope's 95 % interval (None, None without a trend)."""
        row = self._rows.get(outcome)
        if row is None:
            return None, None
        return _num(row["ci_low"]), _num(row["ci_high"])

    def p_holm(self, outcome: str) -> float | None:
        """The slope's Holm-adjusted p-value within the report's family of trend tests."""
        row = self._rows.get(outcome)
        return None if row is None else _num(row.get("p_holm"))

    def declines(self, outcome: str) -> bool:
        """Whether the series falls against the median and the Holm-adjusted test rejects no change."""
        slope, p = self.slope(outcome), self.p_holm(outcome)
        return slope is not None and slope < 0 and p is not None and p < ALPHA

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return {"year": self.year, "cov_type": "HC3", "min_years": MIN_TREND_YEARS,
                "table": [{k: (_num(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                          for r in self.table.to_dict("records")],
                "notes": [n.to_dict() for n in self.notes]}


def _trend_one(data: PapiData, p: Province, year: int, outcome: str, level: str, dim: int | None,
               series: pd.Series, scale: float) -> tuple[dict, ModelFit | None]:
    """The slope of ``series`` on year (HC3), or none (``no_trend`` says why) with fewer than
    ``MIN_TREND_YEARS`` points or a 95 % interval wider than ``scale`` (the outcome's maximum)."""
    s = series.dropna().sort_index()
    row = {"outcome": outcome, "level": level, "dimension": dim, "n": int(s.size),
           "first_year": int(s.index.min()) if s.size else None, "last_year": int(s.index.max()) if s.size else None,
           "slope": None, "se": None, "ci_low": None, "ci_high": None, "p": None, "no_trend": None}
    if s.size < MIN_TREND_YEARS:
        row["no_trend"] = "too_few_years"
        return row, None
    X = pd.DataFrame({"const": 1.0, "year": s.index.to_numpy(dtype=float) - year})
    res = fit_ols(s.reset_index(drop=True), X, cov="HC3")
    coefs = _coef_table(res, ["const", "year"])
    slope = coefs.iloc[1]
    if float(slope["ci_high"]) - float(slope["ci_low"]) > scale:
        row["no_trend"] = "interval_wider_than_scale"  # an interval wider than the scale says nothing
        return row, None
    row.update(slope=float(slope["estimate"]), se=float(slope["se"]), ci_low=float(slope["ci_low"]),
               ci_high=float(slope["ci_high"]), p=float(slope["p"]))
    ovi, oen = _outcome_names(data, year, outcome)
    years = [int(y) for y in s.index]
    readings = []
    for lang, o in (("vi", ovi), ("en", oen)):
        readings.append(t("an_reading_trend", lang, outcome=o, slope=fmt_num(row["slope"], lang, 3, sign=True),
                          lo=fmt_num(row["ci_low"], lang, 3, sign=True), hi=fmt_num(row["ci_high"], lang, 3, sign=True),
                          first=years[0], last=years[-1], n=len(years)))
    fit = ModelFit(name=f"trend:{outcome}", kind="trend", outcome=outcome, n=len(years), n_clusters=None,
                   years=years, cov_type="HC3", coefficients=coefs, r2=float(res.rsquared), small_sample=True,
                   reading_vi=readings[0], reading_en=readings[1], residuals=[float(e) for e in res.resid])
    return row, fit


def trend_models(data: PapiData, province: Province, year: int) -> TrendResult:
    """The province's trend per total, dimension and sub-dimension over the comparable years of the regime."""
    p = province
    pt = _panel(data)
    mine = pt[pt["code"] == p.code].set_index("year")
    rows, fits = [], []
    n_dims = regime_of(year).n_dimensions
    outcomes: list[tuple[str, str, int | None, pd.Series, float]] = []
    med = national_medians(data)
    yrs = comparable_years(data, year, None)
    outcomes.append(("total", "total", None, mine.loc[yrs, "total"] - med.loc[yrs, "total"],
                     float(regime_of(year).total_max)))
    for d in range(1, n_dims + 1):
        yrs = comparable_years(data, year, d)
        outcomes.append((f"D{d}", "dimension", d, mine.loc[yrs, d] - med.loc[yrs, d], 10.0))
    wide, medians = subdimension_wide(data, year), subdimension_medians(data, year)
    st = data.codebook.table(year).set_index("code")
    for code in data.codebook.codes(year):
        w = wide.get(code)
        s = (w.loc[p.code] - medians[code]) if w is not None and p.code in w.index else pd.Series(dtype=float)
        outcomes.append((code, "subdimension", int(st.at[code, "dimension"]), s, float(st.at[code, "max"])))
    for outcome, level, dim, series, scale in outcomes:
        row, fit = _trend_one(data, p, year, outcome, level, dim, series, scale)
        rows.append(row)
        if fit is not None:
            fits.append(fit)
    holm(fits, ["year"])
    table = pd.DataFrame(rows)
    p_holm = {f.outcome: _num(f.coef("year")["p_holm"]) for f in fits}
    table["p_holm"] = [p_holm.get(o) for o in table["outcome"]]
    notes = [make_note("an_trend_short", cov="HC3"), make_note("an_trend_vs_median")]
    short = table[table["no_trend"] == "too_few_years"]["outcome"].tolist()
    if short:
        notes.append(make_note("an_trend_too_few", k=len(short), m=len(table), outcomes=", ".join(short),
                               min=MIN_TREND_YEARS))
    wide = table[table["no_trend"] == "interval_wider_than_scale"]["outcome"].tolist()
    if wide:
        notes.append(make_note("an_trend_too_wide", k=len(wide), m=len(table), outcomes=", ".join(wide)))
    return TrendResult(province=p, year=year, table=table, fits=fits, notes=notes)
