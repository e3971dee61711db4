"""Model diagnostics for researchers: leverage and influence, serial correlation, sensitivity of the
priorities to their weights, and the survey-measurement-error view of the models.

Every function takes what ``models``/``drivers`` already fitted (nothing is re-estimated differently)
and returns a frame or a dict for ``notebooks/drivers_research.ipynb``:

* ``influence(data, year, model)``: hat values (leverage), Cook's distance and externally
  studentised residuals of every observation of the context or persistence model of the total;
  influence measures come from the plain OLS fit (the coefficients are the same; the clustered
  errors are not used here);
* ``serial_correlation(data, report)``: Durbin–Watson and the lag-1 autocorrelation of the residuals of
  the province's trend fits, and the correlation of consecutive residuals of the same province in
  the national persistence model (pooled pairs assume independent years);
* ``weight_sensitivity(report)``: each sub-dimension's priority rank under the default weights,
  under named alternatives, its mean rank and its stability over the random weightings;
* ``measurement_error(data, year)``: per outcome, the cross-province variance, the average survey
  noise variance (``uncertainty``), the reliability ratio λ = 1 − noise/variance, the persistence
  coefficient and its errors-in-variables correction b/λ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.outliers_influence import OLSInfluence
from statsmodels.stats.stattools import durbin_watson

from papi_research.analysis.models import context_national, momentum_national
from papi_research.analysis.priorities import N_WEIGHTINGS, WEIGHT_SEED, WEIGHTS, rank_under, stability
from papi_research.analysis.scores import year_scores
from papi_research.analysis.uncertainty import year_uncertainty
from papi_research.data.loader import PapiData

ALTERNATIVE_WEIGHTS = {
    "equal": dict.fromkeys(WEIGHTS, 1.0),
    "gaps_only": {"gap_to_median": 1.0, "gap_to_target": 1.0},
    "no_rank_gain": {**WEIGHTS, "rank_gain": 0.0},
    "no_trend_no_context": {**WEIGHTS, "decline": 0.0, "below_context": 0.0},
}


def influence(data: PapiData, year: int, model: str = "context", outcome: str = "total") -> pd.DataFrame:
    """Leverage, Cook's distance and studentised residual per observation (code, year), largest
    Cook's distance first; ``model`` is "context" or "persistence"."""
    if model == "context":
        rows, X = context_national(data, year).designs[outcome]
        y, year_col = rows["score"], rows["year"]
    elif model == "persistence":
        rows, X = momentum_national(data, year).designs[outcome]
        y, year_col = rows["score_next"], rows["year_next"]
    else:
        raise ValueError(f"model must be 'context' or 'persistence'; got {model!r}")
    res = sm.OLS(y.to_numpy(dtype=float), X.to_numpy(dtype=float)).fit()
    inf = OLSInfluence(res)
    out = pd.DataFrame({"code": rows["code"].to_numpy(), "year": year_col.to_numpy(),
                        "leverage": inf.hat_matrix_diag, "cooks_d": inf.cooks_distance[0],
                        "student_resid": inf.resid_studentized_external})
    out["high_leverage"] = out["leverage"] > 2 * X.shape[1] / len(out)
    out["influential"] = out["cooks_d"] > 4 / len(out)
    return out.sort_values("cooks_d", ascending=False, kind="mergesort").reset_index(drop=True)


def serial_correlation(data: PapiData, report) -> dict:
    """Residual serial correlation: the province's trend fits (Durbin–Watson, lag-1 autocorrelation)
    and the national persistence model of the total (correlation of a province's consecutive residuals)."""
    rows = []
    for f in report.models.trend.fits:
        if f.outcome.startswith("SC") or len(f.residuals) < 3:
            continue
        e = np.asarray(f.residuals)
        rows.append({"outcome": f.outcome, "n": len(e), "durbin_watson": float(durbin_watson(e)),
                     "lag1_autocorrelation": float(np.corrcoef(e[:-1], e[1:])[0, 1]) if len(e) > 3 else np.nan})
    out = {"trend": pd.DataFrame(rows)}
    nat = momentum_national(data, report.year)
    if "total" in nat.designs:
        pairs, X = nat.designs["total"]
        res = sm.OLS(pairs["score_next"].to_numpy(dtype=float), X.to_numpy(dtype=float)).fit()
        e = pd.DataFrame({"code": pairs["code"], "t": pairs["year_next"], "e": res.resid})
        lagged = e.merge(e.assign(t=e["t"] + 1), on=["code", "t"], suffixes=("", "_prev"))
        out["persistence"] = {"pairs": int(len(lagged)),
                              "residual_correlation": float(lagged["e"].corr(lagged["e_prev"]))
                              if len(lagged) > 2 else None}
    return out


def weight_sensitivity(report) -> pd.DataFrame:
    """Priority rank of every scored sub-dimension under the default and alternative weights, its mean
    rank over the random weightings and its stability (share in the top k)."""
    tab = report.priorities.table
    scored = tab[tab["priority"].notna()].reset_index(drop=True)
    if scored.empty:
        return pd.DataFrame()
    k = len(report.priorities.lines)
    out = pd.DataFrame({"code": scored["code"], "label_en": scored["label_en"],
                        "rank_default": rank_under(scored, WEIGHTS).to_numpy()})
    for name, w in ALTERNATIVE_WEIGHTS.items():
        out[f"rank_{name}"] = rank_under(scored, w).to_numpy()
    draws = np.random.default_rng(WEIGHT_SEED).dirichlet(np.ones(len(WEIGHTS)), size=200) * sum(WEIGHTS.values())
    ranks = np.stack([rank_under(scored, dict(zip(WEIGHTS, d))).to_numpy() for d in draws])
    out["mean_rank_random"] = ranks.mean(axis=0)
    st = stability(scored, k, n=N_WEIGHTINGS)
    out[f"stability_top{k}"] = [st[c] for c in scored["code"]]
    return out.sort_values("rank_default").reset_index(drop=True)


def measurement_error(data: PapiData, year: int) -> pd.DataFrame:
    """Reliability of each outcome's cross-province differences and the persistence coefficient
    corrected for the survey error in this year's score (classical errors in the regressor). A
    reliability at or below 0 (the assumed noise as large as the spread across provinces: 2019's
    dimension 5) gets no correction (NaN)."""
    u = year_uncertainty(data, year)
    ys = year_scores(data, year)
    nat = momentum_national(data, year)
    rows = []
    for outcome in ["total", *[f"D{d}" for d in ys.dimensions.columns]]:
        vals = ys.provinces["total"] if outcome == "total" else ys.dimensions[int(outcome[1:])]
        vals = vals.dropna()
        var = float(vals.var())
        if u is None:
            noise = np.nan
        else:
            se = u.table["se"] if outcome == "total" else u.dim_se
            noise = float((se[vals.index] ** 2).mean())
        lam = 1 - noise / var if var > 0 else np.nan
        fit = nat.fits.get(outcome)
        b = float(fit.coef("score_this_year")["estimate"]) if fit is not None else np.nan
        rows.append({"outcome": outcome, "variance": var, "noise_variance": noise, "reliability": lam,
                     "persistence": b, "persistence_corrected": b / lam if lam and lam > 0 else np.nan})
    return pd.DataFrame(rows)
