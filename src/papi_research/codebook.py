"""The era-aware codebook: regimes, sub-dimension structure and official labels by year.

Facts encoded here (from the official PAPI workbooks, see ``../shared/papi/README.md``):

* 2011–2017: 6 dimensions, total out of 60. From 2018: 8 dimensions, total out of 80.
* Sub-dimension positions (``SC21`` …) change meaning by year; labels for 2011–2019 come from
  ``labels_official_2011_2019.csv``; 2020 keeps the 2019 structure; from 2021 dimension 5 has
  three sub-dimensions (``SC52``, construction permits, is gone).
* A sub-dimension's maximum is 10 / (number of sub-dimensions of its dimension that year).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .errors import DataValidationError, ParameterError
from .paths import resource_file

LABEL_COLUMNS = ("year", "dimension", "position", "official_label_en", "official_label_vi")
FIRST_YEAR = 2011
REGIME_BREAK = 2018


@dataclass(frozen=True)
class Regime:
    """A period over which PAPI totals are comparable."""

    key: str
    first_year: int
    last_year: int | None
    n_dimensions: int
    total_max: int

    def label(self, lang: str) -> str:
        if self.key == "6dim":
            return ("giai đoạn 2011–2017: 6 nội dung, tổng điểm tối đa 60" if lang == "vi"
                    else "2011–2017 regime: 6 dimensions, total out of 60")
        return ("từ năm 2018: 8 nội dung, tổng điểm tối đa 80" if lang == "vi"
                else "2018+ regime: 8 dimensions, total out of 80")


REGIMES = (Regime("6dim", 2011, 2017, 6, 60), Regime("8dim", 2018, None, 8, 80))


def regime_of(year: int) -> Regime:
    if year < FIRST_YEAR:
        raise ParameterError("year", f"PAPI starts in {FIRST_YEAR}; got {year}")
    return REGIMES[0] if year < REGIME_BREAK else REGIMES[1]


def same_regime(a: int, b: int) -> bool:
    return regime_of(a).key == regime_of(b).key


@dataclass(frozen=True)
class Dimension:
    number: int
    name_vi: str
    name_en: str
    short_vi: str
    short_en: str
    first_year: int

    def name(self, lang: str, short: bool = False) -> str:
        if short:
            return self.short_vi if lang == "vi" else self.short_en
        return self.name_vi if lang == "vi" else self.name_en


@lru_cache(maxsize=1)
def dimensions() -> dict[int, Dimension]:
    """The eight PAPI dimensions with their official Vietnamese and English names."""
    path = resource_file("reference", "dimensions.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {int(r["number"]): Dimension(int(r["number"]), r["name_vi"], r["name_en"], r["short_vi"],
                                        r["short_en"], int(r["first_year"])) for r in rows}


def comparability_notes(lang: str = "en") -> list[str]:
    """The breaks a reader must know before comparing across years."""
    if lang == "vi":
        return [
            "Năm 2016, các nội dung 1, 3 và 5 được điều chỉnh phương pháp; trong giai đoạn 2011–2016 "
            "chỉ các nội dung 2, 4 và 6 so sánh được qua các năm.",
            "Từ năm 2018, PAPI có 8 nội dung (bổ sung Quản trị môi trường và Quản trị điện tử), tổng điểm "
            "tối đa 80; không so sánh tổng điểm từ năm 2018 với các năm trước.",
            "Từ năm 2021, nội dung 5 còn 3 nội dung thành phần (bỏ Giấy phép xây dựng).",
        ]
    return [
        "In 2016 dimensions 1, 3 and 5 were rebuilt; across 2011–2016 only dimensions 2, 4 and 6 are comparable.",
        "From 2018 PAPI has 8 dimensions (adding Environmental Governance and E-Governance), total out of 80; "
        "2018+ totals are not comparable with earlier years.",
        "From 2021 dimension 5 has three sub-dimensions (Construction Permits was dropped).",
    ]


def comparable_dimensions(a: int, b: int) -> list[int]:
    """Dimensions whose scores may be compared between years a and b."""
    lo, hi = sorted((a, b))
    if same_regime(lo, hi):
        if lo < 2016 <= hi:
            return [2, 4, 6]
        return list(range(1, regime_of(lo).n_dimensions + 1))
    # across the 2017/2018 break: dimensions 1–6 persist; 1, 3, 5 only if both sides are 2016+
    return [1, 2, 3, 4, 5, 6] if lo >= 2016 else [2, 4, 6]


class Codebook:
    """Sub-dimension structure and official labels for every year."""

    def __init__(self, labels: pd.DataFrame, source: Path | None = None):
        self.labels = labels  # year, dimension, position, code, label_en, label_vi
        self.source = source
        self._known_years = sorted(labels["year"].unique().tolist())

    @classmethod
    def from_csv(cls, path: Path) -> "Codebook":
        if not path.is_file():
            raise DataValidationError("required file is missing", file=path)
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in LABEL_COLUMNS:
            if col not in df.columns:
                raise DataValidationError(f"required column {col!r} is missing", file=path, row=1, column=col)
        for col in ("year", "dimension", "position"):
            bad = ~df[col].str.fullmatch(r"\d+")
            if bad.any():
                i = int(bad.to_numpy().argmax())
                raise DataValidationError("not an integer", file=path, row=i + 2, column=col, value=df[col].iloc[i])
        for col in ("official_label_en", "official_label_vi"):
            empty = df[col].str.strip() == ""
            if empty.any():
                i = int(empty.to_numpy().argmax())
                raise DataValidationError("empty label", file=path, row=i + 2, column=col, value="")
        out = pd.DataFrame({
            "year": df["year"].astype(int), "dimension": df["dimension"].astype(int),
            "position": df["position"].astype(int),
            "label_en": df["official_label_en"].str.strip(), "label_vi": df["official_label_vi"].str.strip(),
        })
        out["code"] = "SC" + out["dimension"].astype(str) + out["position"].astype(str)
        dup = out.duplicated(["year", "code"])
        if dup.any():
            i = int(dup.to_numpy().argmax())
            raise DataValidationError("duplicated year and position", file=path, row=i + 2,
                                      column="position", value=out["code"].iloc[i])
        return cls(out[["year", "dimension", "position", "code", "label_en", "label_vi"]], source=path)

    def _base_year(self, year: int) -> int:
        regime_of(year)  # validates the year
        if year in self._known_years:
            return year
        return self._known_years[-1] if year > self._known_years[-1] else min(self._known_years)

    @lru_cache(maxsize=64)
    def table(self, year: int) -> pd.DataFrame:
        """Rows of the structure valid in ``year``: dimension, position, code, label_en, label_vi, max."""
        base = self._base_year(year)
        t = self.labels[self.labels["year"] == base].drop(columns="year").copy()
        if year >= 2021:
            t = t[t["code"] != "SC52"]
        t = t[t["dimension"] <= regime_of(year).n_dimensions]
        n = t.groupby("dimension")["code"].transform("count")
        t["max"] = 10.0 / n
        t.insert(0, "year", year)
        return t.sort_values(["dimension", "position"]).reset_index(drop=True)

    def structure(self, year: int) -> dict[int, list[str]]:
        t = self.table(year)
        return {int(d): g["code"].tolist() for d, g in t.groupby("dimension")}

    def codes(self, year: int) -> list[str]:
        return self.table(year)["code"].tolist()

    def label(self, year: int, code: str, lang: str = "en") -> str:
        t = self.table(year)
        row = t[t["code"] == code]
        if row.empty:
            raise KeyError(f"{code} is not a sub-dimension in {year}")
        return row.iloc[0]["label_vi" if lang == "vi" else "label_en"]

    def sub_max(self, year: int, dimension: int) -> float:
        return 10.0 / len(self.structure(year)[dimension])
