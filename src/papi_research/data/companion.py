"""Load and validate the companion provincial panels (PCI, yearbook covariates, GRDP) as tidy frames.

Files (``../shared/companion``, found by ``paths.find_companion_dir``):

* ``pci_2005_2019.csv`` → ``Companion.pci``: one row per (code, year) with the PCI composite
  (``pci_weighted``, ``pci_unweighted``) and sub-indices;
* ``gso_covariates_2005_2016_long.csv`` → ``Companion.covariates``: long, one row per
  (code, year, variable) with ``value`` and ``unit``;
* ``grdp_1992_2017_bn_vnd.csv`` → ``Companion.grdp``: GRDP (statistic "Gross Domestic Product",
  billion VND at current prices) per (code, year).

Validation mirrors ``loader.py``: a missing file or column, an unknown province code or a
non-numeric value raises one ``DataValidationError`` naming file, row, column and value.

Rows for provinces that no longer existed in the PAPI period are real and kept out on purpose:
Hà Tây (merged into Hà Nội in 2008) appears in the PCI file as ``"(Ha Tay, merged into Hanoi
2008)"`` and in the yearbook file as ``"Ha Tay (pre-2008)"``. Such rows are listed in
``Companion.excluded`` (file, row, code, reason) instead of entering the keyed frames, and loading
does not fail on them. Any other code outside P01…P63 is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from papi_research.data.files import number_cell, read_table
from papi_research.data.hashing import files_version, sha256_file
from papi_research.data.paths import find_companion_dir
from papi_research.data.provinces import ProvinceRegistry
from papi_research.errors import DataValidationError

PCI_FILE = "pci_2005_2019.csv"
COVARIATE_FILE = "gso_covariates_2005_2016_long.csv"
GRDP_FILE = "grdp_1992_2017_bn_vnd.csv"
PCI_VALUE_COLUMNS = ("pci_weighted", "pci_unweighted", "pci_entry", "pci_land", "pci_transparency", "pci_time",
                     "pci_informal", "pci_implement", "pci_bias", "pci_bias_old", "pci_proactive", "pci_support",
                     "pci_labor", "pci_legal")
PCI_REQUIRED = ("year", "code", "pci_weighted", "pci_unweighted")
COVARIATE_REQUIRED = ("code", "year", "variable", "value", "unit_assumed")
GRDP_REQUIRED = ("code", "year", "statistic", "price_current")
GRDP_STATISTIC = "Gross Domestic Product"
# codes of provinces that ceased to exist before PAPI began (2011): kept out, not an error
DEFUNCT = re.compile(r"(merged into|pre-2008)", re.IGNORECASE)


@dataclass
class Companion:
    """The companion panels, keyed by province code and year."""

    directory: Path
    pci: pd.DataFrame          # code, year, pci_* ..., source
    covariates: pd.DataFrame   # code, year, variable, value, unit
    grdp: pd.DataFrame         # code, year, grdp_bn_vnd (current prices)
    excluded: pd.DataFrame     # file, row, code, reason
    files: dict[str, str] = field(repr=False)

    @property
    def version(self) -> str:
        """A short hash of every companion file: changes when any of them changes."""
        return files_version(self.files)

    def covariate(self, variable: str) -> pd.DataFrame:
        """Wide table of one yearbook variable: index code, one column per year with data."""
        sub = self.covariates[self.covariates["variable"] == variable]
        return sub.pivot(index="code", columns="year", values="value")


def _year(cell: str, path: Path, row: int) -> int:
    cell = cell.strip()
    if not re.fullmatch(r"\d{4}", cell):
        raise DataValidationError("not a year", file=path, row=row, column="year", value=cell)
    return int(cell)


def _code(cell: str, path: Path, row: int, provinces: ProvinceRegistry, excluded: list) -> str | None:
    """The province code, or None (row recorded in ``excluded``) for a defunct province."""
    code = cell.strip()
    if code in provinces:
        return code
    if DEFUNCT.search(code):
        excluded.append({"file": path.name, "row": row, "code": code,
                         "reason": "province that no longer existed in the PAPI period (2011–2024)"})
        return None
    raise DataValidationError("unknown province code", file=path, row=row, column="code", value=code)


def _check_unique(df: pd.DataFrame, keys: list[str], rows: list[int], path: Path) -> None:
    dup = df.duplicated(keys)
    if dup.any():
        i = int(dup.to_numpy().argmax())
        raise DataValidationError(f"duplicated {'/'.join(keys)}", file=path, row=rows[i], column=keys[-1],
                                  value=" ".join(str(df[k].iloc[i]) for k in keys))


def _load_pci(path: Path, provinces: ProvinceRegistry, excluded: list) -> pd.DataFrame:
    raw = read_table(path, PCI_REQUIRED)
    value_cols = [c for c in PCI_VALUE_COLUMNS if c in raw.columns]
    recs, rows = [], []
    for i, r in enumerate(raw.to_dict("records"), start=2):
        code = _code(r["code"], path, i, provinces, excluded)
        year = _year(r["year"], path, i)
        if code is None:
            continue
        rec = {"code": code, "year": year}
        for c in value_cols:
            rec[c] = number_cell(r[c], path, i, c, allow_empty=c not in ("pci_weighted", "pci_unweighted"))
        rec["source"] = r.get("source", "")
        recs.append(rec)
        rows.append(i)
    df = pd.DataFrame(recs, columns=["code", "year", *value_cols, "source"])
    _check_unique(df, ["code", "year"], rows, path)
    return df.sort_values(["year", "code"]).reset_index(drop=True)


def _load_covariates(path: Path, provinces: ProvinceRegistry, excluded: list) -> pd.DataFrame:
    raw = read_table(path, COVARIATE_REQUIRED)
    recs, rows = [], []
    for i, r in enumerate(raw.to_dict("records"), start=2):
        code = _code(r["code"], path, i, provinces, excluded)
        year = _year(r["year"], path, i)
        variable = r["variable"].strip()
        if not variable:
            raise DataValidationError("empty variable name", file=path, row=i, column="variable", value="")
        if code is None:
            continue
        recs.append({"code": code, "year": year, "variable": variable,
                     "value": number_cell(r["value"], path, i, "value", allow_empty=False),
                     "unit": r["unit_assumed"].strip()})
        rows.append(i)
    df = pd.DataFrame(recs, columns=["code", "year", "variable", "value", "unit"])
    _check_unique(df, ["code", "year", "variable"], rows, path)
    return df.sort_values(["variable", "year", "code"]).reset_index(drop=True)


def _load_grdp(path: Path, provinces: ProvinceRegistry, excluded: list) -> pd.DataFrame:
    raw = read_table(path, GRDP_REQUIRED)
    recs, rows = [], []
    for i, r in enumerate(raw.to_dict("records"), start=2):
        if r["statistic"].strip() != GRDP_STATISTIC:
            continue
        code = _code(r["code"], path, i, provinces, excluded)
        year = _year(r["year"], path, i)
        value = number_cell(r["price_current"], path, i, "price_current", allow_empty=True)
        if code is None or math.isnan(value):
            continue
        if value <= 0:
            raise DataValidationError("GRDP must be positive", file=path, row=i, column="price_current",
                                      value=r["price_current"])
        recs.append({"code": code, "year": year, "grdp_bn_vnd": value})
        rows.append(i)
    df = pd.DataFrame(recs, columns=["code", "year", "grdp_bn_vnd"])
    _check_unique(df, ["code", "year"], rows, path)
    return df.sort_values(["year", "code"]).reset_index(drop=True)


_CACHE: dict[tuple, Companion] = {}


def load_companion(provinces: ProvinceRegistry, companion_dir: str | Path | None = None,
                   papi_dir: Path | None = None) -> Companion:
    """Load and validate the companion folder (cached per folder and file contents)."""
    directory = find_companion_dir(papi_dir, companion_dir)
    files = {}
    for name in (PCI_FILE, COVARIATE_FILE, GRDP_FILE):
        path = directory / name
        if not path.is_file():
            raise DataValidationError("required file is missing", file=path)
        files[name] = sha256_file(path)
    key = (str(directory), tuple(sorted(files.items())), tuple(provinces.codes))
    if key in _CACHE:
        return _CACHE[key]
    excluded: list[dict] = []
    pci = _load_pci(directory / PCI_FILE, provinces, excluded)
    cov = _load_covariates(directory / COVARIATE_FILE, provinces, excluded)
    grdp = _load_grdp(directory / GRDP_FILE, provinces, excluded)
    comp = Companion(directory=directory, pci=pci, covariates=cov, grdp=grdp,
                     excluded=pd.DataFrame(excluded, columns=["file", "row", "code", "reason"]), files=files)
    _CACHE[key] = comp
    return comp


@dataclass
class BaselineContext:
    """Province context at the latest year before a regime, with the years actually used.

    ``frame``: index code; columns grdp_per_head (million VND), log_grdp_per_head, density
    (persons/km²), log_density, income (million VND per person per month), and for each variable
    the year it was taken from (``year_grdp``, ``year_population``, ``year_density``, ``year_income``).
    ``carried``: (variable, wanted year, used year, number of provinces) for every value not
    observed in the wanted year.
    """

    wanted_year: int
    frame: pd.DataFrame
    carried: list[tuple[str, int, int, int]]


def _pick(wide: pd.DataFrame, wanted: int, codes: list[str]) -> tuple[pd.Series, pd.Series]:
    """Per province, the value at the wanted year, else the nearest year (earlier preferred on ties)."""
    years = sorted(int(y) for y in wide.columns)
    order = sorted(years, key=lambda y: (abs(y - wanted), y > wanted))
    vals, used = {}, {}
    for c in codes:
        for y in order:
            v = wide.at[c, y] if c in wide.index else np.nan
            if pd.notna(v):
                vals[c], used[c] = float(v), y
                break
        else:
            vals[c], used[c] = np.nan, None
    return pd.Series(vals), pd.Series(used, dtype=object)


def baseline_context(comp: Companion, wanted_year: int, codes: list[str]) -> BaselineContext:
    """Context covariates of each province at ``wanted_year`` (nearest year carried where lacking)."""
    grdp_wide = comp.grdp.pivot(index="code", columns="year", values="grdp_bn_vnd")
    grdp, y_grdp = _pick(grdp_wide, wanted_year, codes)
    pop, y_pop = _pick(comp.covariate("population"), wanted_year, codes)
    dens, y_dens = _pick(comp.covariate("population_density"), wanted_year, codes)
    inc, y_inc = _pick(comp.covariate("monthly_income"), wanted_year, codes)
    gpc = grdp / pop  # billion VND / thousand persons = million VND per person
    frame = pd.DataFrame({
        "grdp_per_head": gpc, "log_grdp_per_head": np.log(gpc), "density": dens, "log_density": np.log(dens),
        "income": inc / 1000.0,
        "year_grdp": y_grdp, "year_population": y_pop, "year_density": y_dens, "year_income": y_inc,
    }, index=pd.Index(codes, name="code"))
    carried = []
    for var, used in (("grdp", y_grdp), ("population", y_pop), ("population_density", y_dens),
                      ("monthly_income", y_inc)):
        counts = used[used != wanted_year].dropna().value_counts()
        for y, n in sorted(counts.items()):
            carried.append((var, wanted_year, int(y), int(n)))
    return BaselineContext(wanted_year=wanted_year, frame=frame, carried=carried)
