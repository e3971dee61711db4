"""The era-aware codebook: regimes, sub-dimension structure and official labels by year.

Facts encoded here (from the official PAPI workbooks, see ``../shared/papi/README.md``):

* 2011–2017: 6 dimensions, total out of 60. From 2018: 8 dimensions, total out of 80.
* Sub-dimension positions (``SC21`` …) change meaning by year; labels for 2011–2019 come from
  ``labels_official_2011_2019.csv``; 2020 keeps the 2019 structure; from 2021 dimension 5 has
  three sub-dimensions (``SC52``, construction permits, is gone).
* A sub-dimension's maximum is 10 / (number of sub-dimensions of its dimension that year).
* Comparability is label-aware: across the 2017/2018 break a dimension is comparable only when its
  sub-dimensions are the same (official labels, with the renamings of
  ``resources/reference/label_aliases.csv``): dimension 2 gained Access to Information and dimension 3
  replaced two of its three sub-dimensions in 2018, so only 1, 4, 5 and 6 carry over. Inside a
  regime a dimension whose sub-dimensions changed (8 in 2019, 5 in 2021) is *rebuilt*: its score
  stays on the same 0–10 scale, but ``rebuilt_dimensions`` names it so that changes can be shown
  with and without it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from papi_research.data.files import read_table
from papi_research.data.i18n import t
from papi_research.data.paths import resource_file
from papi_research.data.text import mark_literal
from papi_research.errors import DataValidationError, ParameterError

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
        return t(f"cb_regime_{self.key}", lang)


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


COMPARABILITY_KEYS = ("cb_break_2016", "cb_break_2018", "cb_break_2021")


def comparability_notes(lang: str = "en") -> list[str]:
    """The breaks a reader must know before comparing across years (sentences from the catalogue)."""
    return [t(key, lang) for key in COMPARABILITY_KEYS]


ACROSS_BREAK = (1, 4, 5, 6)
"""Dimensions whose sub-dimensions are the same on both sides of the 2017/2018 break (dimension 2
gained Access to Information, dimension 3 replaced two of its three sub-dimensions); checked against
the official labels by ``Codebook.same_construct`` (tests)."""


def comparable_dimensions(a: int, b: int) -> list[int]:
    """Dimensions whose scores may be compared between years a and b."""
    lo, hi = sorted((a, b))
    if same_regime(lo, hi):
        if lo < 2016 <= hi:
            return [2, 4, 6]
        return list(range(1, regime_of(lo).n_dimensions + 1))
    # across the 2017/2018 break: only the dimensions whose sub-dimensions carried over;
    # 1 and 5 only if both sides are 2016+ (they were rebuilt in 2016)
    return [d for d in ACROSS_BREAK if lo >= 2016 or d in (2, 4, 6)]


@lru_cache(maxsize=1)
def label_aliases() -> dict[str, str]:
    """Renamed sub-dimensions: look-up key of an old English label → look-up key of its later label."""
    from papi_research.data.text import lookup_key
    path = resource_file("reference", "label_aliases.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {lookup_key(r["label_en"]): lookup_key(r["same_as_en"]) for r in csv.DictReader(fh)}


@lru_cache(maxsize=1)
def label_corrections() -> dict[str, str]:
    """Spelling slips in the official English labels → the corrected label (``label_corrections.csv``); the
    codebook keeps the source's label beside it (``label_en_source``) for traceability."""
    path = resource_file("reference", "label_corrections.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["official_label_en"].strip(): r["label_en"].strip() for r in csv.DictReader(fh)}


class Codebook:
    """Sub-dimension structure and official labels for every year."""

    def __init__(self, labels: pd.DataFrame, source: Path | None = None):
        self.labels = labels  # year, dimension, position, code, label_en (corrected), label_vi, label_en_source
        self.source = source
        self._known_years = sorted(labels["year"].unique().tolist())
        # answers to the look-ups every province's analysis repeats (the labels never change once read)
        self._label_cache: dict[tuple[int, str], tuple[str, str]] = {}
        self._construct_cache: dict[tuple[int, int], frozenset[str]] = {}

    @classmethod
    def from_csv(cls, path: Path) -> "Codebook":
        df = read_table(path, LABEL_COLUMNS, whole_lines=True)
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
        out["label_en_source"] = out["label_en"]
        out["label_en"] = out["label_en"].replace(label_corrections())
        out["code"] = "SC" + out["dimension"].astype(str) + out["position"].astype(str)
        dup = out.duplicated(["year", "code"])
        if dup.any():
            i = int(dup.to_numpy().argmax())
            raise DataValidationError("duplicated year and position", file=path, row=i + 2,
                                      column="position", value=out["code"].iloc[i])
        mark_literal(*out["label_en"], *out["label_vi"])  # labels are text, never markup
        return cls(out[["year", "dimension", "position", "code", "label_en", "label_vi", "label_en_source"]],
                   source=path)

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
        key = (int(year), code)
        if key not in self._label_cache:
            t = self.table(year)
            row = t[t["code"] == code]
            if row.empty:
                raise KeyError(f"{code} is not a sub-dimension in {year}")
            self._label_cache[key] = (row.iloc[0]["label_vi"], row.iloc[0]["label_en"])
        vi, en = self._label_cache[key]
        return vi if lang == "vi" else en

    def construct(self, year: int, dimension: int) -> frozenset[str]:
        """The dimension's sub-dimensions in ``year`` as look-up keys of their labels (renamings folded)."""
        from papi_research.data.text import lookup_key
        key = (int(year), int(dimension))
        if key not in self._construct_cache:
            t = self.table(year)
            aliases = label_aliases()
            keys = (lookup_key(x) for x in t.loc[t["dimension"] == dimension, "label_en"])
            self._construct_cache[key] = frozenset(aliases.get(k, k) for k in keys)
        return self._construct_cache[key]

    def same_construct(self, a: int, b: int, dimension: int) -> bool:
        """Whether ``dimension`` has the same sub-dimensions (labels, hence maxima) in years a and b."""
        ca, cb = self.construct(a, dimension), self.construct(b, dimension)
        return bool(ca) and ca == cb

    def rebuilt_dimensions(self, a: int, b: int) -> list[int]:
        """Dimensions comparable by the regime rules between a and b whose sub-dimensions nonetheless
        changed (dimension 8 between 2018 and 2019, dimension 5 between 2020 and 2021)."""
        return [d for d in comparable_dimensions(a, b) if not self.same_construct(a, b, d)]
