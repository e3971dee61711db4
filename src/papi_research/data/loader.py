"""Load and validate the PAPI data directory into a tidy, era-aware panel.

``load(data_dir)`` reads the yearly wide CSVs (``2011.csv`` …), the official labels, the
province list and the official gap reasons, checks every cell, and returns a ``PapiData``.
Any broken input raises one ``DataValidationError`` naming file, row, column and value;
nothing is returned half-loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from papi_research.data.codebook import Codebook, regime_of
from papi_research.data.files import number_cell, read_rows, read_table
from papi_research.data.hashing import PAPI_REQUIRED, YEAR_FILE, files_version, papi_files
from papi_research.data.paths import find_papi_dir, resource_file
from papi_research.data.provinces import ProvinceRegistry
from papi_research.data.text import mark_literal
from papi_research.errors import DataValidationError, ParameterError

SUB_COLUMN = re.compile(r"^SC([1-8])([1-9])$")
REQUIRED_FILES = PAPI_REQUIRED
GAP_COLUMNS = ("year", "code", "csv_state", "official_state", "reason_found")


@dataclass
class PapiData:
    """Everything loaded from one PAPI data directory.

    ``panel`` is the tidy long table (one row per published sub-dimension score):
    ``year, code, dimension, subcode, position, label_vi, label_en, max, score``.
    """

    directory: Path
    panel: pd.DataFrame
    codebook: Codebook
    provinces: ProvinceRegistry
    gaps: pd.DataFrame
    files: dict[str, str] = field(repr=False)  # relative name → sha256

    @property
    def years(self) -> list[int]:
        return sorted(self.panel["year"].unique().tolist())

    @property
    def latest_year(self) -> int:
        return self.years[-1]

    @property
    def version(self) -> str:
        """A short hash of every input file: changes when any data changes."""
        return files_version(self.files)

    def check_year(self, year: int) -> int:
        if year not in self.years:
            raise ParameterError("year", f"no PAPI data for {year}; years with data: "
                                 f"{self.years[0]}–{self.years[-1]}")
        return year

    def gap_reason(self, year: int, code: str) -> str | None:
        """The official reason a province-year is missing or partial (None when none is recorded)."""
        hit = self.gaps[(self.gaps["year"] == year) & (self.gaps["code"] == code)]
        if hit.empty:
            return None
        r = hit.iloc[0]
        reason = r["reason_found"].strip()
        if not reason or reason.lower().startswith("none"):
            return f"{r['official_state'].strip()} (no reason published)"
        return f"{r['official_state'].strip()}; reason: {reason}"

    def gap_summary(self, year: int, code: str, lang: str) -> str | None:
        """A short statement of the official status in ``lang`` (``resources/reference/gap_reasons.csv``),
        falling back to the official English record; None when the province-year is not a gap."""
        summary = _gap_summaries().get((int(year), code))
        if summary:
            return summary[0] if lang == "vi" else summary[1]
        return self.gap_reason(year, code)


@lru_cache(maxsize=1)
def _gap_summaries() -> dict[tuple[int, str], tuple[str, str]]:
    path = resource_file("reference", "gap_reasons.csv")
    if not path.is_file():
        return {}
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(int(r["year"]), r["code"]): (r["summary_vi"], r["summary_en"]) for r in df.to_dict("records")}


def _read_year(path: Path, year: int, codebook: Codebook, provinces: ProvinceRegistry,
               gaps: pd.DataFrame) -> pd.DataFrame:
    """One year's file, checked on its own (a bad file names itself): every cell, and every province.

    Each of the 63 provinces has one row holding every dimension of the year, each dimension whole (all
    its sub-dimensions or none); a missing, blank or partial row is accepted only where
    ``missing_official_status.csv`` records that province-year (PAPI did not publish it).
    """
    header, rows = read_rows(path, ("Province",), whole_lines=True)
    for col in header:
        if col != "Province" and not SUB_COLUMN.match(col):
            raise DataValidationError("unexpected column (expected Province, SC11 ... SC83)", file=path,
                                      row=1, column=col)
    if not rows:
        raise DataValidationError(f"the file has a header but no rows (expected one row per province, "
                                  f"{len(provinces)})", file=path)
    struct = codebook.table(year)
    maxima = {code: float(hi) for code, hi in zip(struct["code"], struct["max"])}  # sub-dimension → its maximum
    for code in maxima:
        if code not in header:
            raise DataValidationError(f"required column {code!r} is missing ({year} has "
                                      f"{', '.join(maxima)})", file=path, row=1, column=code)
    by_dim: dict[str, list[str]] = {}
    for code in maxima:
        by_dim.setdefault(code[2], []).append(code)
    seen: dict[str, int] = {}
    records = []
    incomplete: dict[str, str] = {}  # province code → what is missing, for rows PAPI must have published
    for i, rec in rows:
        code = rec.pop("Province").strip()
        if code not in provinces:
            raise DataValidationError("unknown province code", file=path, row=i, column="Province", value=code)
        if code in seen:
            raise DataValidationError(f"province listed twice (first on row {seen[code]})", file=path,
                                      row=i, column="Province", value=code)
        seen[code] = i
        present = set()
        for col, cell in rec.items():
            cell = cell.strip()
            if cell == "":
                continue
            value = number_cell(cell, path, i, col)
            if col not in maxima:
                raise DataValidationError(f"{year} has no sub-dimension in this position, but a value is given",
                                          file=path, row=i, column=col, value=cell)
            hi = maxima[col]
            if not (0.0 < value <= hi + 1e-9):
                raise DataValidationError(f"score outside (0, {hi:.4g}] for {year}", file=path, row=i,
                                          column=col, value=cell)
            records.append((year, code, col, value))
            present.add(col)
        missing_dims = []
        for dim, codes in by_dim.items():
            got = [c for c in codes if c in present]
            if got and len(got) < len(codes):
                raise DataValidationError(f"dimension {dim} is given in part ({', '.join(got)} without "
                                          f"{', '.join(c for c in codes if c not in present)}); PAPI publishes a "
                                          f"dimension whole or not at all", file=path, row=i, column=codes[0])
            if not got:
                missing_dims.append(dim)
        if missing_dims:
            incomplete[code] = (f"row {i}: blank" if len(missing_dims) == len(by_dim)
                                else f"row {i}: dimension {', '.join(missing_dims)} missing")
    for p in provinces:
        if p.code not in seen:
            incomplete[p.code] = "no row"
    recorded = set(gaps.loc[gaps["year"] == year, "code"]) if len(gaps) else set()
    unexplained = [c for c in incomplete if c not in recorded]
    if unexplained:
        listed = "; ".join(f"{c} {provinces.lookup(c).name_vi} ({incomplete[c]})" for c in sorted(unexplained))
        raise DataValidationError(f"{len(unexplained)} province(s) with no row, or a blank or partial one, and no "
                                  f"official reason recorded — add each to missing_official_status.csv if PAPI did "
                                  f"not publish it, or restore its scores: {listed}", file=path)
    return pd.DataFrame.from_records(records, columns=["year", "code", "subcode", "score"])


def _read_gaps(path: Path, provinces: ProvinceRegistry) -> pd.DataFrame:
    df = read_table(path, GAP_COLUMNS, whole_lines=True)
    rows = []
    for i, r in enumerate(df.to_dict("records"), start=2):
        if not r["year"].strip().isdigit():
            raise DataValidationError("not a year", file=path, row=i, column="year", value=r["year"])
        for code in r["code"].split(";"):
            code = code.strip()
            if code not in provinces:
                raise DataValidationError("unknown province code", file=path, row=i, column="code", value=code)
            rows.append({**r, "year": int(r["year"]), "code": code})
        mark_literal(r["official_state"].strip(), r["reason_found"].strip())  # shown as text, never markup
    return pd.DataFrame(rows, columns=list(df.columns))


def load(data_dir: str | Path | None = None) -> PapiData:
    """Load and validate a PAPI data directory (see ``paths.find_papi_dir`` for the search)."""
    directory = find_papi_dir(data_dir)
    for name in REQUIRED_FILES:
        if not (directory / name).is_file():
            raise DataValidationError("required file is missing", file=directory / name)
    year_files = sorted((int(m.group(1)), p) for p in directory.iterdir() if (m := YEAR_FILE.match(p.name)))
    if not year_files:
        raise DataValidationError("no yearly score files (2011.csv ...) found", file=directory)
    provinces = ProvinceRegistry.from_csv(directory / "provinces.csv")
    codebook = Codebook.from_csv(directory / "labels_official_2011_2019.csv")
    gaps = _read_gaps(directory / "missing_official_status.csv", provinces)
    frames = []
    for year, path in year_files:
        try:
            regime_of(year)
        except ParameterError:
            raise DataValidationError("year before PAPI began (2011)", file=path) from None
        frames.append(_read_year(path, year, codebook, provinces, gaps))
    long = pd.concat(frames, ignore_index=True)
    labels = pd.concat([codebook.table(y) for y, _ in year_files], ignore_index=True)
    panel = long.merge(labels.rename(columns={"code": "subcode"}), on=["year", "subcode"], how="left")
    panel = panel[["year", "code", "dimension", "subcode", "position", "label_vi", "label_en", "max", "score"]]
    panel = panel.sort_values(["year", "code", "dimension", "position"]).reset_index(drop=True)
    files = papi_files(directory)
    return PapiData(directory=directory, panel=panel, codebook=codebook, provinces=provinces,
                    gaps=gaps, files=files)


@lru_cache(maxsize=4)
def load_cached(data_dir: str | None = None) -> PapiData:
    """``load`` memoised per directory string, for notebooks and batch workers."""
    return load(data_dir)
