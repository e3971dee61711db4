"""Score series over comparable years: which years a dimension or sub-dimension is comparable in,
the panels of totals and sub-dimensions, and the national medians by year (cached per data version;
the batch pipeline keeps them between runs through ``models.national_fits``)."""

from __future__ import annotations

import pandas as pd

from papi_research.analysis.scores import panel_totals, year_scores
from papi_research.data.codebook import comparable_dimensions, dimensions, regime_of, same_regime
from papi_research.data.i18n import t
from papi_research.data.loader import PapiData
from papi_research.data.text import lookup_key


_COMPARABLE: dict[tuple, list[int]] = {}


def comparable_years(data: PapiData, year: int, dimension: int | None) -> list[int]:
    """Years up to ``year`` in its regime in which ``dimension`` (None: the total) is comparable with ``year``
    (the same for every province: computed once per data version)."""
    key = (str(data.directory), data.version, int(year), dimension)
    if key not in _COMPARABLE:
        _COMPARABLE[key] = _comparable_years(data, year, dimension)
    return list(_COMPARABLE[key])


def _comparable_years(data: PapiData, year: int, dimension: int | None) -> list[int]:
    reg = regime_of(year)
    out = []
    for y in data.years:
        if y > year or not same_regime(y, year):
            continue
        comp = comparable_dimensions(y, year)
        if dimension is None:
            if len(comp) == reg.n_dimensions:
                out.append(y)
        elif dimension in comp and data.codebook.same_construct(y, year, dimension):
            out.append(y)
    return out


_SUBYEARS: dict[tuple, dict[int, str]] = {}


def subdimension_years(data: PapiData, year: int, code: str) -> dict[int, str]:
    """Years (→ position code in that year) up to ``year`` whose structure holds the sub-dimension
    ``code`` of ``year`` with the same label and the same maximum, and whose dimension is comparable."""
    key = (str(data.directory), data.version, year, code)
    if key not in _SUBYEARS:
        _SUBYEARS[key] = _subdimension_years(data, year, code)
    return dict(_SUBYEARS[key])


def _subdimension_years(data: PapiData, year: int, code: str) -> dict[int, str]:
    st = data.codebook.table(year).set_index("code")
    dim = int(st.at[code, "dimension"])
    label, mx = lookup_key(st.at[code, "label_en"]), float(st.at[code, "max"])
    out = {}
    for y in comparable_years(data, year, dim):
        ty = data.codebook.table(y)
        hit = ty[(ty["dimension"] == dim) & (ty["label_en"].map(lookup_key) == label)]
        if not hit.empty and abs(float(hit["max"].iloc[0]) - mx) < 1e-9:
            out[y] = hit["code"].iloc[0]
    return out


_SUBPANEL: dict[tuple, pd.DataFrame] = {}
_SUBWIDE: dict[tuple, dict[str, pd.DataFrame]] = {}


def subdimension_wide(data: PapiData, year: int) -> dict[str, pd.DataFrame]:
    """Per sub-dimension code of ``year``: province × comparable-year table of scores (cached)."""
    key = (str(data.directory), data.version, year)
    if key not in _SUBWIDE:
        sp = subdimension_panel(data, year)
        _SUBWIDE[key] = {c: g.pivot(index="code", columns="year", values="score") for c, g in sp.groupby("sub")}
    return _SUBWIDE[key]


_SUBMEDIAN: dict[tuple, dict[str, pd.Series]] = {}


def subdimension_medians(data: PapiData, year: int) -> dict[str, pd.Series]:
    """Per sub-dimension code of ``year``: the national median of each comparable year (cached)."""
    key = (str(data.directory), data.version, year)
    if key not in _SUBMEDIAN:
        _SUBMEDIAN[key] = {c: w.median(axis=0) for c, w in subdimension_wide(data, year).items()}
    return _SUBMEDIAN[key]


def subdimension_panel(data: PapiData, year: int) -> pd.DataFrame:
    """Long table code, year, sub (the code in ``year``'s structure), score over each sub-dimension's
    comparable years up to ``year`` (cached)."""
    key = (str(data.directory), data.version, year)
    if key in _SUBPANEL:
        return _SUBPANEL[key]
    frames = []
    for code in data.codebook.codes(year):
        for y, c in subdimension_years(data, year, code).items():
            s = year_scores(data, y).subdimensions[c].dropna()
            frames.append(pd.DataFrame({"code": s.index, "year": y, "sub": code, "score": s.to_numpy()}))
    out = pd.concat(frames, ignore_index=True)
    _SUBPANEL[key] = out
    return out


def _outcome_names(data: PapiData, year: int, outcome: str) -> tuple[str, str]:
    if outcome == "total":
        return t("total", "vi"), t("total", "en")
    if outcome.startswith("D"):
        d = dimensions()[int(outcome[1:])]
        return d.name_vi, d.name_en
    return data.codebook.label(year, outcome, "vi"), data.codebook.label(year, outcome, "en")



_PANEL: dict[tuple, pd.DataFrame] = {}
_MEDIANS: dict[tuple, pd.DataFrame] = {}


def national_medians(data: PapiData) -> pd.DataFrame:
    """National median of the total (``"total"``) and of each dimension (1..8) by year (index year)."""
    key = (str(data.directory), data.version)
    if key not in _MEDIANS:
        pt = _panel(data)
        cols = ["total", *[c for c in range(1, 9) if c in pt.columns]]
        _MEDIANS[key] = pt.groupby("year")[cols].median()
    return _MEDIANS[key]


def _panel(data: PapiData) -> pd.DataFrame:
    key = (str(data.directory), data.version)
    if key not in _PANEL:
        _PANEL[key] = panel_totals(data)
    return _PANEL[key]
