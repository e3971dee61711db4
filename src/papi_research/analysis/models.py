"""Regression evidence (statsmodels OLS): the fit record and the context and momentum models.

The trend models (``trend.py``) and the PCI models (``pci.py``) build on the fit record and the
conventions here; the score series they all read are in ``series.py``.

Every fit becomes a ``ModelFit``: n, years used, coefficients with standard errors, 95 % intervals
(t distribution), p-values, R² and a plain-language reading in Vietnamese and English.

* ``trend`` (``trend.py``): one province's score *minus that year's national median*, on year, per dimension,
  sub-dimension and total, over the current regime's comparable years up to the report year (a
  rebuilt dimension only over the years of its current construct). Measuring against the yearly
  median keeps a national drift (the median fell 44.08 → 42.27 over 2018–2021) out of the
  province's trend. A single province gives one short series, so errors are HC3 (not clustered).
* ``context``: dimension (and sub-dimension) scores on context — log GRDP per head, log population
  density, monthly income per head, each taken at the row's own year where the companion data has
  it (else the nearest year, said in the notes), region — with year effects, pooled over the
  regime's comparable years; errors clustered by province. Collinearity is reported (VIF, computed
  with the region and year terms). Gives
  each province's expected score with a 95 % prediction interval, and its residual; ``has_signal``
  says whether any context term survives the Holm correction.
* ``momentum`` (persistence): next year's score on this year's with year effects, pairs inside the
  report year's regime only (and, for a dimension, only pairs measured the same way); a
  coefficient below 1 is regression to the mean, not momentum. Gives an expected next score with a
  95 % prediction interval and the probability of reaching a goal, with the province's own survey
  error in place of the average one.
* ``pci`` (``pci.py``): the PCI composite (VCCI, weighted) on PAPI dimensions with province and year fixed
  effects, over windows where the dimensions keep their construct: 2011–2017 (2, 4, 6), 2011–2019
  (4, 6: 2 changed in 2018) and 2016–2019 (1, 4, 5, 6: 2 and 3 changed in 2018).

Significance: "significant" means a Holm-adjusted p-value below 0.05 within each family of tests
(the trend slopes of one report, the context terms of all outcomes of one year, the persistence
coefficients of one year, the PCI terms), column ``p_holm``; the 95 % intervals stay unadjusted.

National models are fitted once per (data version, companion version, report year) and cached in
module-level dictionaries (here, in ``series.py`` and ``pci.py``: ``NATIONAL_CACHES``), so a long-lived process (batch runner, notebook kernel) reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.outliers_influence import variance_inflation_factor

from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.series import _outcome_names, _panel, comparable_years, subdimension_panel
from papi_research.data.codebook import comparable_dimensions, dimensions, regime_of, same_regime
from papi_research.data.companion import BaselineContext, Companion, baseline_context, load_companion
from papi_research.data.i18n import fmt_num, t
from papi_research.data.loader import PapiData
from papi_research.data.provinces import Province
from papi_research.data.values import num as _num

if TYPE_CHECKING:
    from papi_research.analysis.trend import TrendResult

SMALL_N = 30          # fewer observations than this: the reading says the sample is small
SMALL_CLUSTERS = 30   # fewer clusters than this: clustered errors are unreliable, said so
CONTEXT_TERMS = ("log_grdp_per_head", "log_density", "income")



# --------------------------------------------------------------------------------------------- fits

@dataclass
class ModelFit:
    """One fitted regression, ready for a table, a sentence or JSON."""

    name: str
    kind: str
    outcome: str
    n: int
    n_clusters: int | None
    years: list[int]
    cov_type: str
    coefficients: pd.DataFrame  # term, estimate, se, ci_low, ci_high, p (fixed effects left out)
    r2: float
    r2_within: float | None = None
    small_sample: bool = False
    reading_vi: str = ""
    reading_en: str = ""
    notes: list[Note] = field(default_factory=list)
    absorbed: list[str] = field(default_factory=list)  # e.g. ["year effects", "province effects"]
    reading_args: dict = field(default_factory=dict, repr=False)  # to re-word the reading after Holm
    residuals: list[float] = field(default_factory=list, repr=False)  # in fit order (trend fits; diagnostics)

    def reword(self) -> None:
        """Re-write the reading from ``reading_args`` (after the family's Holm adjustment)."""
        if self.reading_args:
            self.reading_vi, self.reading_en = _reading(coefs=self.coefficients, **self.reading_args)

    def coef(self, term: str) -> pd.Series:
        c = self.coefficients
        found = np.flatnonzero(c["term"].to_numpy() == term)
        if not found.size:
            raise KeyError(term)
        row = c.iloc[found[0]].drop("term")
        row.name = term
        return row

    def reading(self, lang: str) -> str:
        return self.reading_vi if lang == "vi" else self.reading_en

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients.copy()

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "outcome": self.outcome, "n": self.n,
                "n_clusters": self.n_clusters, "years": [int(y) for y in self.years], "cov_type": self.cov_type,
                "r2": _num(self.r2), "r2_within": _num(self.r2_within), "small_sample": self.small_sample,
                "absorbed": list(self.absorbed),
                "coefficients": [{"term": r["term"], "estimate": _num(r["estimate"]), "se": _num(r["se"]),
                                  "ci_low": _num(r["ci_low"]), "ci_high": _num(r["ci_high"]), "p": _num(r["p"]),
                                  "p_holm": _num(r.get("p_holm"))}
                                 for r in self.coefficients.to_dict("records")],
                "reading_vi": self.reading_vi, "reading_en": self.reading_en,
                "notes": [n.to_dict() for n in self.notes]}


def fit_ols(y: pd.Series, X: pd.DataFrame, cov: str = "cluster", groups: pd.Series | None = None):
    """OLS of y on X (X includes its constant). ``cov``: "cluster" (by ``groups``, statsmodels'
    small-sample correction G/(G-1)·(N-1)/(N-K), t with G-1 df) or "HC1"/"HC3" (t with N-K df)."""
    model = sm.OLS(y.to_numpy(dtype=float), X.to_numpy(dtype=float))
    if cov == "cluster":
        codes = pd.factorize(groups)[0]
        res = model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    else:
        res = model.fit(cov_type=cov, use_t=True)
    return res


def _coef_table(res, names: list[str], keep: list[str] | None = None) -> pd.DataFrame:
    ci = np.asarray(res.conf_int(0.05))
    df = pd.DataFrame({"term": names, "estimate": res.params, "se": res.bse, "ci_low": ci[:, 0],
                       "ci_high": ci[:, 1], "p": res.pvalues})
    if keep is not None:
        df = df[df["term"].isin(keep)]
    return df.reset_index(drop=True)


def term_label(term: str, lang: str) -> str:
    if term.startswith("D") and term[1:].isdigit():
        return dimensions()[int(term[1:])].name(lang, short=True)
    if term == "score_this_year":
        return t("an_term_score_this_year", lang)
    return t(f"an_term_{term}", lang)


ALPHA = 0.05


def is_significant(r: dict) -> bool:
    """Holm-adjusted p below ``ALPHA`` when the family was adjusted, else the unadjusted 95 % interval."""
    ph = r.get("p_holm")
    if ph is not None and not pd.isna(ph):
        return float(ph) < ALPHA
    return r["ci_low"] > 0 or r["ci_high"] < 0


def holm(fits: list[ModelFit], terms: list[str]) -> None:
    """Holm-adjust the p-values of ``terms`` across ``fits`` (one family of tests), in place (``p_holm``)."""
    where, ps = [], []
    for i, f in enumerate(fits):
        for j, (term, p) in enumerate(zip(f.coefficients["term"], f.coefficients["p"])):
            if term in terms and pd.notna(p):
                where.append((i, j))
                ps.append(float(p))
    columns = [np.full(len(f.coefficients), np.nan) for f in fits]
    if ps:
        for (i, j), a in zip(where, multipletests(ps, method="holm")[1]):
            columns[i][j] = float(a)
    for f, col in zip(fits, columns):
        f.coefficients["p_holm"] = col


def has_signal(fit: ModelFit | None, terms: list[str]) -> bool:
    """Whether any of ``terms`` is significant in ``fit`` (after Holm when adjusted)."""
    if fit is None:
        return False
    c = fit.coefficients
    holm_p = c["p_holm"] if "p_holm" in c.columns else [None] * len(c)
    return any(is_significant({"p_holm": p, "ci_low": lo, "ci_high": hi})
               for term, p, lo, hi in zip(c["term"], holm_p, c["ci_low"], c["ci_high"]) if term in terms)


def _significant(coefs: pd.DataFrame, terms: list[str], lang: str) -> str:
    parts = []
    for r in coefs[coefs["term"].isin(terms)].to_dict("records"):
        if is_significant(r):
            parts.append(f"{term_label(r['term'], lang)} ({fmt_num(r['estimate'], lang, 3, sign=True)})")
    return "; ".join(parts)


def _reading(kind: str, outcome_vi: str, outcome_en: str, coefs: pd.DataFrame, n: int, r2: float,
             terms: list[str], small: bool, **extra) -> tuple[str, str]:
    """The fit's reading in Vietnamese and English (significance after Holm when adjusted)."""
    out = []
    for lang, outcome in (("vi", outcome_vi), ("en", outcome_en)):
        sig = _significant(coefs, terms, lang)
        key = f"an_reading_{kind}" + ("" if sig else "_none")
        s = t(key, lang, outcome=outcome, n=n, r2=fmt_num(r2, lang, 2), terms=sig, **extra)
        if small:
            s += " " + t("an_small_sample", lang, n=n)
        out.append(s)
    return out[0], out[1]


# ------------------------------------------------------------------------------------- results

class RowsByOutcome:
    """A result whose ``table`` has one row per ``outcome``: ``_rows`` looks a row up by outcome (the
    first of each), built once, for the look-ups priorities make dozens of times per province."""

    table: pd.DataFrame

    @cached_property
    def _rows(self) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for r in self.table.to_dict("records"):
            rows.setdefault(r["outcome"], r)
        return rows


# -------------------------------------------------------------------------------------- context

@dataclass
class ContextNational:
    year: int
    baseline: BaselineContext
    fits: dict[str, ModelFit]
    predicted: pd.DataFrame   # index code, columns outcome: expected score in ``year``
    actual: pd.DataFrame      # index code, columns outcome: actual score in ``year``
    notes: list[Note]
    pred_se: pd.DataFrame | None = None  # index code, columns outcome: prediction standard error
    pred_df: dict | None = None          # outcome → degrees of freedom of the t interval
    vif: dict | None = None              # context term → variance inflation factor (total model)
    designs: dict = field(default_factory=dict)  # outcome → (rows, X) of the dimension/total fits (diagnostics)


@dataclass
class ContextResult(RowsByOutcome):
    """Expected score from context and the residual (actual − expected) per outcome for one province.

    ``table``: outcome, level, dimension, score, expected, pi_low, pi_high (95 % prediction
    interval), residual, residual_rank (1 = furthest above what context predicts), signal (the
    outcome's context model has a term significant after Holm). ``vif``: variance inflation factor
    of each context term in the total's model."""

    province: Province
    year: int
    table: pd.DataFrame
    fits: list[ModelFit]
    baseline: dict
    notes: list[Note] = field(default_factory=list)
    vif: dict | None = None

    def residual(self, outcome: str) -> float | None:
        row = self._rows.get(outcome)
        return None if row is None else _num(row["residual"])

    def signal(self, outcome: str) -> bool:
        """Whether the outcome's context model has signal (a context term significant after Holm)."""
        row = self._rows.get(outcome)
        return bool(row is not None and row["signal"])

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return {"year": self.year, "baseline": self.baseline, "vif": self.vif,
                "table": [{k: (_num(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                          for r in self.table.to_dict("records")],
                "notes": [n.to_dict() for n in self.notes]}


def _design(frame: pd.DataFrame, regions: list[str], years: list[int], year_col: str = "year") -> pd.DataFrame:
    X = pd.DataFrame({"const": 1.0}, index=frame.index)
    for c in CONTEXT_TERMS:
        X[c] = frame[c].to_numpy(dtype=float)
    for r in regions[1:]:
        X[f"region:{r}"] = (frame["region_en"] == r).astype(float)
    for y in years[1:]:
        X[f"year:{y}"] = (frame[year_col] == y).astype(float)
    return X


_CONTEXT: dict[tuple, ContextNational] = {}


def context_national(data: PapiData, year: int, comp: Companion | None = None) -> ContextNational:
    """Context models for every outcome of ``year``'s structure (cached per data/companion version and year)."""
    comp = comp or load_companion(data.provinces, papi_dir=data.directory)
    key = (str(data.directory), data.version, comp.version, year)
    if key in _CONTEXT:
        return _CONTEXT[key]
    reg = regime_of(year)
    base = baseline_context(comp, year, data.provinces.codes)  # the report year's own (or nearest) values
    bf = base.frame
    notes = []
    for var, wanted, used, n in base.carried:
        notes.append(_carried_note(var, wanted, used, n))
    # every row gets the covariates of its own year where the companion data has them
    by_year = {}
    for y in data.years:
        if same_regime(y, year) and y <= year:
            f_y = baseline_context(comp, y, data.provinces.codes).frame[list(CONTEXT_TERMS)].copy()
            f_y["year"] = y
            by_year[y] = f_y.reset_index()
    ctx_rows = pd.concat(by_year.values(), ignore_index=True)
    lacking = bf.index[bf[list(CONTEXT_TERMS)].isna().any(axis=1)].tolist()
    if lacking:
        notes.append(make_note("an_context_lacking", codes=", ".join(lacking)))
    regions = [en for en, _ in data.provinces.regions()]
    region_of = {p.code: p.region_en for p in data.provinces}
    pt = _panel(data)
    sp = subdimension_panel(data, year)
    outcomes: list[tuple[str, pd.DataFrame]] = []
    yrs = comparable_years(data, year, None)
    f = pt[pt["year"].isin(yrs)][["code", "year", "total"]].rename(columns={"total": "score"})
    outcomes.append(("total", f))
    for d in range(1, reg.n_dimensions + 1):
        yrs = comparable_years(data, year, d)
        f = pt[pt["year"].isin(yrs)][["code", "year", d]].rename(columns={d: "score"})
        outcomes.append((f"D{d}", f))
    for code in data.codebook.codes(year):
        outcomes.append((code, sp[sp["sub"] == code][["code", "year", "score"]]))
    fits: dict[str, ModelFit] = {}
    predicted, actual, pred_se, pred_df = {}, {}, {}, {}
    vif, designs = None, {}
    pred_frame = bf.copy()
    pred_frame["region_en"] = [region_of[c] for c in pred_frame.index]
    pred_frame["year"] = year
    for outcome, f in outcomes:
        f = f.dropna(subset=["score"]).merge(ctx_rows, on=["code", "year"])
        f = f.dropna(subset=list(CONTEXT_TERMS)).sort_values(["year", "code"]).reset_index(drop=True)
        f["region_en"] = f["code"].map(region_of)
        years = sorted(f["year"].unique().tolist())
        X = _design(f, regions, years)
        res = fit_ols(f["score"], X, cov="cluster", groups=f["code"])
        coefs = _coef_table(res, list(X.columns), keep=["const", *CONTEXT_TERMS] +
                            [c for c in X.columns if c.startswith("region:")])
        n_cl = int(f["code"].nunique())
        small = len(f) < SMALL_N or n_cl < SMALL_CLUSTERS
        ovi, oen = _outcome_names(data, year, outcome)
        args = dict(kind="context", outcome_vi=ovi, outcome_en=oen, n=len(f), r2=float(res.rsquared),
                    terms=list(CONTEXT_TERMS), small=small, first=years[0], last=years[-1])
        fits[outcome] = ModelFit(name=f"context:{outcome}", kind="context", outcome=outcome, n=len(f),
                                 n_clusters=n_cl, years=years, cov_type="cluster(province)", coefficients=coefs,
                                 r2=float(res.rsquared), small_sample=small, notes=list(notes),
                                 absorbed=["year effects"], reading_args=args)
        if not outcome.startswith("SC"):
            designs[outcome] = (f, X)
        if outcome == "total":
            # with the model's region and year terms, as the coefficients are estimated
            Xv = X.to_numpy(dtype=float)
            cols = list(X.columns)
            vif = {c: float(variance_inflation_factor(Xv, cols.index(c))) for c in CONTEXT_TERMS}
        Xp = _design(pred_frame.assign(year=years[-1] if year not in years else year), regions, years)
        ok = Xp[list(CONTEXT_TERMS)].notna().all(axis=1)
        xp = Xp[ok].to_numpy(dtype=float)
        pred = pd.Series(np.nan, index=pred_frame.index)
        pred[ok] = xp @ np.asarray(res.params)
        se = pd.Series(np.nan, index=pred_frame.index)
        se[ok] = np.sqrt(np.einsum("ij,jk,ik->i", xp, np.asarray(res.cov_params()), xp) + float(res.scale))
        predicted[outcome], pred_se[outcome], pred_df[outcome] = pred, se, float(n_cl - 1)
        cur = f[f["year"] == year].set_index("code")["score"] if year in years else pd.Series(dtype=float)
        actual[outcome] = cur.reindex(pred_frame.index)
    holm(list(fits.values()), list(CONTEXT_TERMS))
    for fit in fits.values():
        fit.reword()
    nat = ContextNational(year=year, baseline=base, fits=fits, predicted=pd.DataFrame(predicted),
                          actual=pd.DataFrame(actual), notes=notes, pred_se=pd.DataFrame(pred_se), pred_df=pred_df,
                          vif=vif, designs=designs)
    _CONTEXT[key] = nat
    return nat


def _carried_note(var: str, wanted: int, used: int, n: int) -> Note:
    return Note("an_context_carried",
                t("an_context_carried", "vi", variable=t(f"an_var_{var}", "vi"), wanted=wanted, used=used, n=n),
                t("an_context_carried", "en", variable=t(f"an_var_{var}", "en"), wanted=wanted, used=used, n=n))


def context_models(data: PapiData, province: Province, year: int, comp: Companion | None = None) -> ContextResult:
    nat = context_national(data, year, comp)
    code = province.code
    rows = []
    st = data.codebook.table(year).set_index("code")
    for outcome in nat.predicted.columns:
        exp = _num(nat.predicted.at[code, outcome])
        act = _num(nat.actual.at[code, outcome])
        resid_all = nat.actual[outcome] - nat.predicted[outcome]
        res = None if exp is None or act is None else act - exp
        level = "total" if outcome == "total" else ("dimension" if outcome.startswith("D") else "subdimension")
        dim = None if outcome == "total" else (int(outcome[1:]) if outcome.startswith("D")
                                               else int(st.at[outcome, "dimension"]))
        rrank = None if res is None else int((resid_all.dropna() > res + 1e-12).sum() + 1)
        se = _num(nat.pred_se.at[code, outcome]) if nat.pred_se is not None else None
        q = float(stats.t.ppf(0.975, nat.pred_df[outcome])) if nat.pred_df else None
        rows.append({"outcome": outcome, "level": level, "dimension": dim, "score": act, "expected": exp,
                     "pi_low": None if exp is None or se is None else exp - q * se,
                     "pi_high": None if exp is None or se is None else exp + q * se,
                     "residual": res, "residual_rank": rrank, "n_with_residual": int(resid_all.notna().sum()),
                     "signal": has_signal(nat.fits.get(outcome), list(CONTEXT_TERMS))})
    b = nat.baseline.frame.loc[code]
    baseline = {"wanted_year": nat.baseline.wanted_year,
                **{k: _num(b[k]) for k in ("grdp_per_head", "density", "income")},
                **{k: (None if b[k] is None or pd.isna(b[k]) else int(b[k]))
                   for k in ("year_grdp", "year_population", "year_density", "year_income")}}
    fits = [nat.fits[o] for o in nat.fits if not o.startswith("SC")]
    notes = list(nat.notes)
    if any(r["expected"] is None for r in rows):
        notes.append(make_note("an_context_no_covariates", province=province.name_vi))
    if nat.vif:
        term, v = max(nat.vif.items(), key=lambda kv: kv[1])
        notes.append(Note("an_context_vif", *(t("an_context_vif", lang, term=t(f"an_term_{term}", lang),
                                                  vif=fmt_num(v, lang, 1)) for lang in ("vi", "en"))))
    notes.append(make_note("an_context_years", year=year))
    return ContextResult(province=province, year=year, table=pd.DataFrame(rows), fits=fits, baseline=baseline,
                         notes=notes, vif=nat.vif)


# ------------------------------------------------------------------------------------- momentum

@dataclass
class MomentumNational:
    year: int
    fits: dict[str, ModelFit]
    results: dict  # outcome → (params, cov, sigma2, df, mean_year_row)
    latest: pd.DataFrame  # index code, columns outcome: score in ``year``
    noise2: dict = field(default_factory=dict)  # outcome → average squared survey SE of a score
    designs: dict = field(default_factory=dict)  # outcome → (pairs, X) of each fit (diagnostics)


def _survey_se(data: PapiData, year: int, outcome: str) -> pd.Series | None:
    """Each province's survey standard error of ``outcome`` ("total" or "D<n>") in ``year``."""
    from papi_research.analysis.uncertainty import year_uncertainty
    u = year_uncertainty(data, year)
    if u is None:
        return None
    return u.table["se"] if outcome == "total" else u.dim_se


def _mean_noise2(data: PapiData, year: int, outcomes: list[str]) -> dict:
    out = {}
    for o in outcomes:
        se = _survey_se(data, year, o)
        if se is not None:
            out[o] = float((se ** 2).mean())
    return out


@dataclass
class MomentumResult:
    """Expected next-round score per outcome; ``table``: outcome, score, expected_next, pi_low, pi_high,
    cutoff, p_clear (probability of reaching the cut-off, others' cut-off held at its current level)."""

    province: Province
    year: int
    table: pd.DataFrame
    fits: list[ModelFit]
    notes: list[Note] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        return {"year": self.year,
                "table": [{k: (_num(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                          for r in self.table.to_dict("records")],
                "notes": [n.to_dict() for n in self.notes]}


_MOMENTUM: dict[tuple, MomentumNational] = {}


def momentum_national(data: PapiData, year: int) -> MomentumNational:
    key = (str(data.directory), data.version, year)
    if key in _MOMENTUM:
        return _MOMENTUM[key]
    pt = _panel(data)
    reg = regime_of(year)
    fits, results = {}, {}
    latest, designs_m = {}, {}
    for outcome, col, dim in [("total", "total", None)] + [(f"D{d}", d, d) for d in range(1, reg.n_dimensions + 1)]:
        pairs = []
        for y in data.years:
            y1 = y + 1
            # pairs inside the report year's regime only; a dimension only where measured the same way
            if y1 > year or y1 not in data.years or not same_regime(y, y1) or not same_regime(y, year):
                continue
            comp = comparable_dimensions(y, y1)
            if (dim is None and len(comp) < reg.n_dimensions) or (dim is not None and dim not in comp):
                continue
            if dim is not None and not data.codebook.same_construct(y, y1, dim):
                continue
            a = pt[pt["year"] == y].set_index("code")[col]
            b = pt[pt["year"] == y1].set_index("code")[col]
            f = pd.DataFrame({"score_this_year": a, "score_next": b}).dropna()
            f["year_next"] = y1
            pairs.append(f.reset_index())
        latest[outcome] = pt[pt["year"] == year].set_index("code")[col]
        if not pairs:
            continue
        f = pd.concat(pairs, ignore_index=True)
        designs_m[outcome] = f
        years_next = sorted(f["year_next"].unique().tolist())
        X = pd.DataFrame({"const": 1.0, "score_this_year": f["score_this_year"]})
        for y in years_next[1:]:
            X[f"year:{y}"] = (f["year_next"] == y).astype(float)
        res = fit_ols(f["score_next"], X, cov="cluster", groups=f["code"])
        coefs = _coef_table(res, list(X.columns), keep=["const", "score_this_year"])
        n_cl = int(f["code"].nunique())
        small = len(f) < SMALL_N or n_cl < SMALL_CLUSTERS
        ovi, oen = _outcome_names(data, year, outcome)
        b = float(coefs.set_index("term").at["score_this_year", "estimate"])
        args = dict(kind="momentum", outcome_vi=ovi, outcome_en=oen, n=len(f), r2=float(res.rsquared),
                    terms=["score_this_year"], small=small, persistence_vi=fmt_num(b, "vi", 2),
                    persistence_en=fmt_num(b, "en", 2))
        years_used = sorted(set(years_next) | {y - 1 for y in years_next})
        fits[outcome] = ModelFit(name=f"momentum:{outcome}", kind="momentum", outcome=outcome, n=len(f),
                                 n_clusters=n_cl, years=years_used, cov_type="cluster(province)",
                                 coefficients=coefs, r2=float(res.rsquared), small_sample=small,
                                 absorbed=["year effects"] if len(years_next) > 1 else [], reading_args=args)
        mean_row = X.mean(axis=0).to_numpy()
        designs_m[outcome] = (f, X)
        results[outcome] = (np.asarray(res.params), np.asarray(res.cov_params()), float(res.scale),
                            float(res.df_resid), mean_row)
    holm(list(fits.values()), ["score_this_year"])
    for fit in fits.values():
        fit.reword()
    nat = MomentumNational(year=year, fits=fits, results=results, latest=pd.DataFrame(latest),
                           noise2=_mean_noise2(data, year, list(fits)), designs=designs_m)
    _MOMENTUM[key] = nat
    return nat


def predict_next(params: np.ndarray, cov: np.ndarray, sigma2: float, df: float, mean_row: np.ndarray,
                 score: float) -> tuple[float, float]:
    """Expected next score and its prediction standard error, year effects at their sample average."""
    x = mean_row.copy()
    x[1] = score
    pred = float(x @ params)
    se = float(np.sqrt(x @ cov @ x + sigma2))
    return pred, se


def momentum_models(data: PapiData, province: Province, year: int,
                    cutoffs: dict[str, float | None] | None = None) -> MomentumResult:
    """Expected next-round scores for the province; ``cutoffs`` (outcome → level the province must
    reach: for the total, the planner's moving goal) gives p_clear. The pooled residual variance holds
    the average survey noise of a score; it is swapped for the province's own (``uncertainty``)."""
    nat = momentum_national(data, year)
    cutoffs = cutoffs or {}
    rows = []
    for outcome in nat.latest.columns:
        score = _num(nat.latest.at[province.code, outcome])
        row = {"outcome": outcome, "score": score, "expected_next": None, "pi_low": None, "pi_high": None,
               "cutoff": _num(cutoffs.get(outcome)), "p_clear": None, "survey_se": None}
        if score is not None and outcome in nat.results:
            params, cov, s2, df, mean_row = nat.results[outcome]
            own = _survey_se(data, year, outcome)
            if own is not None and outcome in nat.noise2:
                row["survey_se"] = float(own[province.code])
                s2 = max(s2 - nat.noise2[outcome], 0.0) + row["survey_se"] ** 2
            pred, se = predict_next(params, cov, s2, df, mean_row, score)
            q = float(stats.t.ppf(0.975, df))
            row.update(expected_next=pred, pi_low=pred - q * se, pi_high=pred + q * se)
            if row["cutoff"] is not None:
                row["p_clear"] = float(stats.t.sf((row["cutoff"] - pred) / se, df))
        rows.append(row)
    notes = [make_note("an_momentum_cutoff_held", year=year), make_note("an_momentum_persistence")]
    if not nat.fits:
        notes.append(make_note("an_momentum_no_pairs", year=year))
    return MomentumResult(province=province, year=year, table=pd.DataFrame(rows), fits=list(nat.fits.values()),
                          notes=notes)


# ------------------------------------------------------------------------------------- model set

@dataclass
class ModelSet:
    """All models of one province's report."""

    trend: TrendResult
    context: ContextResult | None
    momentum: MomentumResult
    pci: list[ModelFit]
    notes: list[Note] = field(default_factory=list)

    @property
    def fits(self) -> list[ModelFit]:
        ctx = self.context.fits if self.context else []
        return [*self.trend.fits, *ctx, *self.momentum.fits, *self.pci]

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for f in self.fits:
            for r in f.coefficients.to_dict("records"):
                rows.append({"model": f.name, "kind": f.kind, "n": f.n, "r2": f.r2, **r})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"fits": [f.to_dict() for f in self.fits], "trend": self.trend.to_dict(),
                "context": self.context.to_dict() if self.context else None,
                "momentum": self.momentum.to_dict(), "notes": [n.to_dict() for n in self.notes]}


# --- the national fits as one value (kept on disk between runs by the batch pipeline) ------------------

NATIONAL_CACHES = ("_SUBPANEL", "_SUBWIDE", "_SUBMEDIAN", "_PANEL", "_MEDIANS", "_CONTEXT", "_MOMENTUM", "_PCI")
"""The module caches that hold national fits and panels: the same for every province."""


def cache_owner(name: str):
    """The module that keeps the national cache ``name`` (``series``, ``pci`` or this one)."""
    import sys

    from papi_research.analysis import pci, series
    return next((m for m in (series, pci) if name in vars(m)), sys.modules[__name__])


def _national_caches() -> dict[str, dict]:
    """Each of ``NATIONAL_CACHES`` by name, as its module holds it now."""
    return {name: getattr(cache_owner(name), name) for name in NATIONAL_CACHES}


def national_fits() -> dict[str, dict]:
    """Everything this process has fitted and cached for the whole country (keyed as in the caches,
    by data folder, data version, companion version and year), as one picklable value."""
    return {name: dict(cache) for name, cache in _national_caches().items()}


def restore_national_fits(fits: dict[str, dict]) -> int:
    """Put fits saved by :func:`national_fits` back into the caches (entries already present are kept);
    return how many entries were added. Restored fits are the saved objects, so every number that
    comes from them is the one a fresh fit gives."""
    added = 0
    for name, cache in _national_caches().items():
        for key, value in fits.get(name, {}).items():
            if key not in cache:
                cache[key] = value
                added += 1
    return added
