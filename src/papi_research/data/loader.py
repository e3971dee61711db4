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
from papi_research.data.hashing import PAPI_REQUIRED, YEAR_FILE, files_for, files_version, papi_files
from papi_research.data.paths import find_papi_dir, resource_file
from papi_research.data.provinces import ProvinceRegistry
from papi_research.data.text import mark_literal
from papi_research.data.units import (FIRST_YEAR_34, UNITS_34, UNITS_63, NewProvinces, load_new_provinces,
                                     resolve_codes)
from papi_research.errors import DataValidationError, ParameterError, UnknownProvinceError

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
    panel34: pd.DataFrame | None = field(default=None, repr=False)  # years on the 34 (codes 01 … 34)
    new_provinces: NewProvinces | None = field(default=None, repr=False)  # the 34 (join_34.csv), if read
    unavailable: dict[int, DataValidationError] = field(default_factory=dict, repr=False)  # year → why

    @property
    def years(self) -> list[int]:
        """Years on the 63 former provinces (PAPI's units through 2024)."""
        return sorted(self.panel["year"].unique().tolist())

    @property
    def years34(self) -> list[int]:
        """Years on the 34 provinces since 1 July 2025 (PAPI's units from the 2025 survey on)."""
        return [] if self.panel34 is None or self.panel34.empty else sorted(self.panel34["year"].unique().tolist())

    @property
    def all_years(self) -> list[int]:
        return sorted(self.years + self.years34)

    def units_of(self, year: int) -> str:
        """"63" or "34": the unit set of a year with data (an unavailable or absent year is an error)."""
        year = int(year)
        if year in self.years34:
            return UNITS_34
        self.check_year(year)
        return UNITS_63

    def warnings(self) -> list[tuple[int, str]]:
        """(year, line) per year file that failed validation: that year is unavailable, the others are not."""
        return [(year, f"{exc} — {year} is unavailable until the file is fixed (papi data check)")
                for year, exc in sorted(self.unavailable.items())]

    @property
    def latest_year(self) -> int:
        return self.years[-1]

    @property
    def version(self) -> str:
        """A short hash of the files the years on the 63 read (``hashing.files_for``): a year file on the 34
        does not change it, so adding ``2025.csv`` leaves every earlier result and cache key as it was."""
        return files_version(files_for(self.directory))

    def version_for(self, year: int, kind: str = "province") -> str:
        """The hash of the files a briefing of ``year`` reads (``hashing.files_for``)."""
        return files_version(files_for(self.directory, int(year), kind))

    def check_year(self, year: int) -> int:
        if year in self.unavailable:
            raise self.unavailable[year]
        if year in self.years34:
            raise ParameterError("year", f"{year} is on the 34 provinces since 1 July 2025; this needs a year on "
                                 f"the 63 former provinces ({self.years[0]}–{self.years[-1]})")
        if year not in self.years:
            raise ParameterError("year", f"no PAPI data for {year}; years with data: "
                                 f"{self.years[0]}–{self.years[-1]}"
                                 + (f", {', '.join(map(str, self.years34))} (the 34)" if self.years34 else ""))
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
               gaps: pd.DataFrame, new: NewProvinces | None = None) -> tuple[str, pd.DataFrame]:
    """One year's file, checked on its own (a bad file names itself): its unit set ("63" or "34",
    :func:`~papi_research.data.units.resolve_codes`), every cell, and every province.

    Each province of the file's set (the 63, or the 34 since 1 July 2025) has one row holding every
    dimension of the year, each dimension whole (all its sub-dimensions or none); a missing, blank or partial row is accepted only where
    ``missing_official_status.csv`` records that province-year (PAPI did not publish it).
    """
    header, rows = read_rows(path, ("Province",), whole_lines=True)
    for col in header:
        if col != "Province" and not SUB_COLUMN.match(col):
            raise DataValidationError("unexpected column (expected Province, SC11 ... SC83)", file=path,
                                      row=1, column=col)
    if not rows:
        raise DataValidationError(f"the file has a header but no rows (expected one row per province: "
                                  f"{len(provinces)} through 2024, {len(new) if new else 34} from 2025)", file=path)
    struct = codebook.table(year)
    maxima = {code: float(hi) for code, hi in zip(struct["code"], struct["max"])}  # sub-dimension → its maximum
    for code in maxima:
        if code not in header:
            raise DataValidationError(f"required column {code!r} is missing ({year} has "
                                      f"{', '.join(maxima)})", file=path, row=1, column=code)
    by_dim: dict[str, list[str]] = {}
    for code in maxima:
        by_dim.setdefault(code[2], []).append(code)
    units, codes = resolve_codes(path, year, [(i, rec["Province"] or "") for i, rec in rows], provinces, new)
    registry = provinces if units == UNITS_63 else new
    seen: dict[str, int] = {}
    records = []
    incomplete: dict[str, str] = {}  # province code → what is missing, for rows PAPI must have published
    for (i, rec), code in zip(rows, codes):
        rec.pop("Province")
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
    for p in registry:
        if p.code not in seen:
            incomplete[p.code] = "no row"
    recorded = set(gaps.loc[gaps["year"] == year, "code"]) if len(gaps) else set()
    unexplained = [c for c in incomplete if c not in recorded]
    if unexplained:
        listed = "; ".join(f"{c} {registry.by_code(c).name_vi} ({incomplete[c]})" for c in sorted(unexplained))
        raise DataValidationError(f"{len(unexplained)} province(s) with no row, or a blank or partial one, and no "
                                  f"official reason recorded — add each to missing_official_status.csv if PAPI did "
                                  f"not publish it, or restore its scores: {listed}", file=path)
    return units, pd.DataFrame.from_records(records, columns=["year", "code", "subcode", "score"])


def _read_gaps(path: Path, provinces: ProvinceRegistry, new) -> pd.DataFrame:
    """The official gap table: codes of the 63 (``P01``…) or of the 34 (``01``…, years from 2025); a name
    where a code is expected is refused with the code it names."""
    df = read_table(path, GAP_COLUMNS, whole_lines=True)
    rows = []
    for i, r in enumerate(df.to_dict("records"), start=2):
        if not r["year"].strip().isdigit():
            raise DataValidationError("not a year", file=path, row=i, column="year", value=r["year"])
        for code in r["code"].split(";"):
            code = code.strip()
            if code in provinces or (len(code) == 2 and code.isdigit() and new() is not None and code in new()):
                pass
            else:
                hit = None
                if not code.isdigit():
                    try:
                        hit = provinces.lookup(code)
                    except UnknownProvinceError:
                        hit = new().find(code) if new() is not None else None
                hint = (f"; a name where a code is expected — write {hit.code} ({hit.name_vi})" if hit else
                        " (P01…P63 for the 63 former provinces, 01…34 of join_34.csv for the 34)")
                raise DataValidationError(f"unknown province code{hint}", file=path, row=i, column="code",
                                          value=code)
            rows.append({**r, "year": int(r["year"]), "code": code})
        mark_literal(r["official_state"].strip(), r["reason_found"].strip())  # shown as text, never markup
    return pd.DataFrame(rows, columns=list(df.columns))


def load(data_dir: str | Path | None = None, strict: bool = False) -> PapiData:
    """Load and validate a PAPI data directory (see ``paths.find_papi_dir`` for the search).

    A year file that fails validation makes only its year unavailable (``PapiData.unavailable``: asking for
    that year raises its error; ``warnings()`` names it); with ``strict`` it raises. A reference file
    (provinces, labels, gaps) that fails validation always raises: every year reads it."""
    directory = find_papi_dir(data_dir)
    for name in REQUIRED_FILES:
        if not (directory / name).is_file():
            raise DataValidationError("required file is missing", file=directory / name)
    year_files = sorted((int(m.group(1)), p) for p in directory.iterdir() if (m := YEAR_FILE.match(p.name)))
    if not year_files:
        raise DataValidationError("no yearly score files (2011.csv ...) found", file=directory)
    provinces = ProvinceRegistry.from_csv(directory / "provinces.csv")
    codebook = Codebook.from_csv(directory / "labels_official_2011_2019.csv")
    read_new: list = []

    def new() -> NewProvinces | None:  # the 34, read once and only when a file names them
        if not read_new:
            read_new.append(load_new_provinces(directory))
        return read_new[0]

    gaps = _read_gaps(directory / "missing_official_status.csv", provinces, new)
    frames: dict[str, list[pd.DataFrame]] = {UNITS_63: [], UNITS_34: []}
    unavailable: dict[int, DataValidationError] = {}
    for year, path in year_files:
        try:
            try:
                regime_of(year)
            except ParameterError:
                raise DataValidationError("year before PAPI began (2011)", file=path) from None
            needs_new = year >= FIRST_YEAR_34 or any(len(c) == 2 and c.isdigit() for c in _first_cells(path))
            units, frame = _read_year(path, year, codebook, provinces, gaps, new() if needs_new else None)
            frames[units].append(frame)
        except DataValidationError as exc:  # this year is unavailable; the others are read
            if strict:
                raise
            unavailable[year] = exc
    if not frames[UNITS_63]:
        if unavailable:
            raise next(iter(unavailable.values()))
        raise DataValidationError("no yearly score files on the 63 former provinces (2011.csv …) found",
                                  file=directory)
    panel = _panel(frames[UNITS_63], codebook)
    panel34 = _panel(frames[UNITS_34], codebook) if frames[UNITS_34] else None
    return PapiData(directory=directory, panel=panel, codebook=codebook, provinces=provinces,
                    gaps=gaps, files=papi_files(directory), panel34=panel34,
                    new_provinces=read_new[0] if read_new else None, unavailable=unavailable)


def _first_cells(path: Path) -> list[str]:
    """The ``Province`` cells of a year file, read leniently (only to know whether the 34 are needed)."""
    import csv
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [(r.get("Province") or "").strip() for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _panel(frames: list[pd.DataFrame], codebook: Codebook) -> pd.DataFrame:
    """The tidy panel of some year files' records, with each sub-dimension's label and maximum."""
    long = pd.concat(frames, ignore_index=True)
    years = sorted(long["year"].unique().tolist())
    labels = pd.concat([codebook.table(y) for y in years], ignore_index=True) if years else pd.DataFrame(
        columns=["year", "code", "dimension", "position", "label_vi", "label_en", "max"])
    panel = long.merge(labels.rename(columns={"code": "subcode"}), on=["year", "subcode"], how="left")
    panel = panel[["year", "code", "dimension", "subcode", "position", "label_vi", "label_en", "max", "score"]]
    return panel.sort_values(["year", "code", "dimension", "position"]).reset_index(drop=True)


@lru_cache(maxsize=4)
def load_cached(data_dir: str | None = None) -> PapiData:
    """``load`` memoised per directory string, for notebooks and batch workers."""
    return load(data_dir)
