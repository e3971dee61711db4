"""A PAPI year on the 34 provinces since 1 July 2025: their own (official) scores, ranks and groups.

From the 2025 survey on PAPI reports the 34 provinces and cities; such a year's file is loaded into
``PapiData.panel34`` (``data/units.py`` tells the sets apart). :func:`official_year` gives it the shape of
the estimates of ``units.py`` (a :class:`~papi_research.analysis.units.UnitYear` whose ``ys`` is a
``scores.YearScores`` indexed by the two-digit codes), so every table, rank and sentence built for the 34's
estimates serves the official year: ranks and groups among the 34 (the year's tie rule from
``group_rules.csv``, the default until PAPI's counts are known) and regional ranks by the region of each
province's most populous former province, as for the estimates. Nothing here is estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from papi_research.analysis.scores import _checked_counts, assemble_year
from papi_research.data.codebook import regime_of
from papi_research.data.loader import PapiData
from papi_research.errors import ParameterError

_CACHE: dict[tuple, object] = {}


def check_year34(data: PapiData, year: int) -> int:
    """``year`` if it is a year on the 34 with data; else the error naming the years on the 34."""
    year = int(year)
    if year in data.unavailable:
        raise data.unavailable[year]
    if year not in data.years34:
        raise ParameterError("year", f"{year} is not a year on the 34 provinces; years on the 34: "
                             f"{', '.join(map(str, data.years34)) or 'none yet'}")
    return year


def official_year(data: PapiData, year: int):
    """The 34's own scores of a year on the 34 (a ``UnitYear`` with ``official=True``, no components)."""
    from papi_research.analysis.units import UnitYear, load_units, population_weights
    year = check_year34(data, year)
    units = load_units(data)
    key = (str(data.directory), data.version_for(year), str(units.source), year)
    if key in _CACHE:
        return _CACHE[key]
    struct = data.codebook.table(year)
    panel = data.panel34[data.panel34["year"] == year]
    codes = units.codes
    sub = panel.pivot(index="code", columns="subcode", values="score").reindex(index=codes, columns=struct["code"])
    sub.columns.name = None
    dims = pd.DataFrame(index=codes)
    for d, g in struct.groupby("dimension"):
        block = sub[g["code"].tolist()]
        dims[int(d)] = block.sum(axis=1, min_count=1).where(block.notna().all(axis=1))
    n_present = dims.notna().sum(axis=1)
    status = pd.Series(np.where(n_present == regime_of(year).n_dimensions, "complete",
                                np.where(sub.notna().sum(axis=1) > 0, "partial", "missing")), index=codes)
    total = dims.sum(axis=1, min_count=1).where(status == "complete")
    pop, _ = population_weights(data, year)
    reg = {}
    for u in units:  # the region of the most populous former province (as for the estimates)
        p = data.provinces.by_code(max(u.members, key=lambda c: (pop[c], c)))
        reg[u.code] = (p.region_en, p.region_vi)
    ys = _checked_counts(assemble_year(year, struct, sub, dims, status, total, reg))
    out = UnitYear(year=year, units=units, ys=ys, components=pd.DataFrame(columns=["unit", "code"]),
                   coverage=pd.Series(1.0, index=codes), population_year=0, official=True)
    _CACHE[key] = out
    return out
