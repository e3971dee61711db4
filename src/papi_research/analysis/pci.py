"""PCI companion models: the PCI composite (VCCI) on PAPI dimensions with province and year fixed
effects, over windows where the dimensions keep their construct (see ``models``)."""

from __future__ import annotations

import pandas as pd

from papi_research.analysis.models import SMALL_CLUSTERS, SMALL_N, ModelFit, _coef_table, fit_ols, holm
from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.series import _panel
from papi_research.data.codebook import comparable_dimensions
from papi_research.data.companion import Companion, load_companion
from papi_research.data.loader import PapiData

_PCI: dict[tuple, list[ModelFit]] = {}
PCI_WINDOWS = ((2011, 2017), (2011, 2019), (2016, 2019))


def _pci_specs() -> list[tuple[str, int, int, tuple[int, ...]]]:
    """Each window with the dimensions comparable (same construct) over all of it."""
    out = []
    for first, last in PCI_WINDOWS:
        dims = tuple(comparable_dimensions(first, last))
        out.append((f"pci:{first}-{last}:" + ",".join(f"D{d}" for d in dims), first, last, dims))
    return out


PCI_SPECS = tuple(_pci_specs())


def pci_models(data: PapiData, year: int, comp: Companion | None = None) -> tuple[list[ModelFit], list[Note]]:
    """PCI composite on PAPI dimensions with province and year fixed effects (years ≤ ``year``)."""
    comp = comp or load_companion(data.provinces, papi_dir=data.directory)
    key = (str(data.directory), data.version, comp.version, year)
    notes: list[Note] = []
    if key in _PCI:
        fits = _PCI[key]
    else:
        fits = []
        pt = _panel(data)
        pci = comp.pci[["code", "year", "pci_weighted"]]
        for name, first, last, dims in PCI_SPECS:
            last = min(last, year)
            if last - first < 1:
                continue
            f = pt[(pt["year"] >= first) & (pt["year"] <= last)][["code", "year", *dims]]
            f = f.merge(pci, on=["code", "year"]).dropna().sort_values(["year", "code"]).reset_index(drop=True)
            provs = sorted(f["code"].unique().tolist())
            years = sorted(f["year"].unique().tolist())
            X = pd.DataFrame({"const": 1.0}, index=f.index)
            for d in dims:
                X[f"D{d}"] = f[d].astype(float)
            for c in provs[1:]:
                X[f"province:{c}"] = (f["code"] == c).astype(float)
            for y in years[1:]:
                X[f"year:{y}"] = (f["year"] == y).astype(float)
            res = fit_ols(f["pci_weighted"], X, cov="cluster", groups=f["code"])
            terms = [f"D{d}" for d in dims]
            coefs = _coef_table(res, list(X.columns), keep=terms)
            # within R²: the same slopes on two-way demeaned data
            dm = f[["pci_weighted", *dims]].astype(float)
            dm = dm - dm.groupby(f["code"]).transform("mean") - dm.groupby(f["year"]).transform("mean") + dm.mean()
            resid = dm["pci_weighted"] - dm[list(dims)].to_numpy() @ coefs["estimate"].to_numpy()
            r2w = float(1 - (resid ** 2).sum() / (dm["pci_weighted"] ** 2).sum())
            n_cl = len(provs)
            small = len(f) < SMALL_N or n_cl < SMALL_CLUSTERS
            args = dict(kind="pci", outcome_vi="PCI", outcome_en="PCI", n=len(f), r2=r2w, terms=terms, small=small,
                        first=years[0], last=years[-1])
            fits.append(ModelFit(name=name, kind="pci", outcome="pci_weighted", n=len(f), n_clusters=n_cl,
                                 years=years, cov_type="cluster(province)", coefficients=coefs,
                                 r2=float(res.rsquared), r2_within=r2w, small_sample=small,
                                 absorbed=["province effects", "year effects"], reading_args=args))
        holm(fits, [f"D{d}" for d in range(1, 9)])
        for fit in fits:
            fit.reword()
        _PCI[key] = fits
    if year > 2019:
        notes.append(make_note("an_pci_years", year=year))
    if not fits:
        notes.append(make_note("an_pci_none", year=year))
    return fits, notes
