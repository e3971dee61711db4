"""Totals, ranks, quartile groups and national/regional statistics for one year.

Rules (``../shared/papi/README.md``):

* a dimension score is the sum of its sub-dimensions, present only when all of them are;
* a total, rank and group exist only for complete rows (every dimension of the year present);
* ranks are among the ranked provinces of that year (``rank`` of ``n_ranked``);
* groups cut the ranked totals at the 25th/50th/75th percentiles (linear interpolation); a value
  exactly on a cut-off goes up ("at or above") except in years whose official counts show it went
  down ("strictly above": 2023, 2024), as recorded in ``resources/reference/group_rules.csv``.

``year_scores(data, year)`` computes everything once per data version and year and caches it;
``scorecard(data, province, year)`` reads one province out of it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from papi_research.data.codebook import Regime, dimensions, regime_of, same_regime
from papi_research.data.loader import PapiData
from papi_research.data.paths import resource_file
from papi_research.data.provinces import Province
from papi_research.data.values import integer as _int
from papi_research.data.values import jsonable
from papi_research.data.values import num as _num

GROUPS = ("best", "high_average", "low_average", "poor")
GROUP_NAMES = {
    "vi": {"best": "nhóm đạt điểm cao nhất", "high_average": "nhóm đạt điểm trung bình cao",
           "low_average": "nhóm đạt điểm trung bình thấp", "poor": "nhóm đạt điểm thấp nhất"},
    "en": {"best": "best performers", "high_average": "high-average performers",
           "low_average": "low-average performers", "poor": "poor performers"},
}


def group_name(group: str | None, lang: str) -> str | None:
    return None if group is None else GROUP_NAMES[lang][group]


@dataclass(frozen=True)
class GroupRule:
    year: int
    tie_rule: str  # "at_or_above" | "strictly_above"
    basis: str  # "official" | "computed"
    official_counts: str | None
    counts_differ: str | None = None  # the computed counts, when they differ from the official ones


@lru_cache(maxsize=1)
def _group_rules() -> dict[int, GroupRule]:
    with resource_file("reference", "group_rules.csv").open(encoding="utf-8", newline="") as fh:
        return {int(r["year"]): GroupRule(int(r["year"]), r["tie_rule"], r["basis"], r["official_counts"] or None)
                for r in csv.DictReader(fh)}


def group_rule(year: int) -> GroupRule:
    """The tie rule for ``year``; years not in the table use the default and are 'computed'."""
    return _group_rules().get(year, GroupRule(year, "at_or_above", "computed", None))


def cutoffs(values: pd.Series) -> dict[str, float]:
    """25th/50th/75th percentiles with linear interpolation (Excel PERCENTILE.INC)."""
    v = values.dropna().to_numpy(dtype=float)
    p25, p50, p75 = np.percentile(v, [25, 50, 75])
    return {"p25": float(p25), "p50": float(p50), "p75": float(p75)}


def assign_groups(values: pd.Series, tie_rule: str = "at_or_above") -> pd.Series:
    """Quartile group of each non-missing value (missing values get None)."""
    cut = cutoffs(values)
    v = values.to_numpy(dtype=float)
    above = np.greater_equal if tie_rule == "at_or_above" else np.greater
    out = np.select([above(v, cut["p75"]), above(v, cut["p50"]), above(v, cut["p25"])],
                    ["best", "high_average", "low_average"], "poor").astype(object)
    out[np.isnan(v)] = None
    return pd.Series(out, index=values.index, dtype=object)


def rank_desc(values: pd.Series) -> pd.Series:
    """Rank 1 = highest; ties share the best rank; missing stays missing (nullable Int64)."""
    return values.rank(ascending=False, method="min").astype("Int64")


@dataclass
class YearScores:
    """All provinces' scores for one year, with ranks, groups and reference statistics.

    * ``provinces``: one row per province (all 63), index ``code``: ``status``, ``total``, ``rank``,
      ``group``, ``region_en``, ``region_vi``, ``n_dimensions_present``.
    * ``dimensions``: index ``code``, columns 1..n: dimension scores (NaN when not published).
    * ``dimension_ranks`` / ``dimension_groups``: same shape.
    * ``subdimensions``: index ``code``, columns ``SC11``…: sub-dimension scores.
    * ``cutoffs``: for ``"total"`` and each dimension number, the p25/p50/p75 cut-offs.
    * ``national``: per dimension (and ``"total"``): min, median, mean, max, best (province code), n.
    """

    year: int
    regime: Regime
    rule: GroupRule
    provinces: pd.DataFrame
    dimensions: pd.DataFrame
    dimension_ranks: pd.DataFrame
    dimension_groups: pd.DataFrame
    subdimensions: pd.DataFrame
    structure: pd.DataFrame
    cutoffs: dict
    national: pd.DataFrame

    @property
    def n_ranked(self) -> int:
        """How many are ranked (for the 63, those with a total; among the 34, whole estimates only)."""
        return int(self.provinces["rank"].notna().sum())

    def group_counts(self) -> dict[str, int]:
        counts = self.provinces["group"].value_counts()
        return {g: int(counts.get(g, 0)) for g in GROUPS}

    def regional_median(self, region_en: str) -> pd.Series:
        """Median of each dimension (and ``total``) among provinces of the region with that score
        (computed once per region; each call gets its own copy)."""
        cache = self.__dict__.setdefault("_regional_medians", {})
        if region_en not in cache:
            members = self.provinces.index[self.provinces["region_en"] == region_en]
            out = self.dimensions.loc[members].median()
            out["total"] = self.provinces.loc[members, "total"].median()
            cache[region_en] = out
        return cache[region_en].copy()

    def ranked(self) -> pd.DataFrame:
        """The league table: ranked provinces sorted by rank."""
        return self.provinces[self.provinces["rank"].notna()].sort_values(["rank", "total"],
                                                                          ascending=[True, False])


def _compute_year(data: PapiData, year: int) -> YearScores:
    data.check_year(year)
    regime = regime_of(year)
    struct = data.codebook.table(year)
    panel = data.panel[data.panel["year"] == year]
    codes = data.provinces.codes
    sub = panel.pivot(index="code", columns="subcode", values="score").reindex(index=codes,
                                                                                columns=struct["code"])
    dims = pd.DataFrame(index=codes)
    for d, g in struct.groupby("dimension"):
        cols = g["code"].tolist()
        block = sub[cols]
        # sum in the official position order; a dimension exists only when all its parts do
        dims[int(d)] = block.sum(axis=1, min_count=1).where(block.notna().all(axis=1))
    n_present = dims.notna().sum(axis=1)
    n_any = sub.notna().sum(axis=1)
    status = np.where(n_present == regime.n_dimensions, "complete", np.where(n_any > 0, "partial", "missing"))
    total = dims.sum(axis=1, min_count=1).where(pd.Series(status, index=codes) == "complete")
    reg = {p.code: (p.region_en, p.region_vi) for p in data.provinces}
    return _checked_counts(assemble_year(year, struct, sub, dims, pd.Series(status, index=codes), total, reg))


def _checked_counts(ys: "YearScores") -> "YearScores":
    """The year's groups are PAPI's only if their counts are the ones PAPI published (``group_rules.csv``);
    otherwise the data differ from what PAPI ranked, and the groups are labelled computed."""
    rule = ys.rule
    if rule.official_counts:
        counts = "/".join(str(int((ys.provinces["group"] == g).sum())) for g in GROUPS)
        if counts != rule.official_counts:
            ys.rule = replace(rule, basis="computed", counts_differ=counts)
    return ys


def regional_ranks(total: pd.Series, region: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Rank of each total among the ranked members of its region, and how many of them are ranked."""
    rank = total.groupby(region).transform(rank_desc).astype("Int64")
    n = total.notna().groupby(region).transform("sum").astype("Int64")
    return rank, n.where(total.notna())


def assemble_year(year: int, struct: pd.DataFrame, sub: pd.DataFrame, dims: pd.DataFrame, status: pd.Series,
                  total: pd.Series, reg: dict[str, tuple[str, str]]) -> "YearScores":
    """Ranks, groups (the year's tie rule), cut-offs and national statistics of the units in ``dims``
    (the 63 provinces, or the 34 post-2025 units of ``units.py``)."""
    regime = regime_of(year)
    rule = group_rule(year)
    codes = list(dims.index)
    n_present = dims.notna().sum(axis=1)
    region_en = pd.Series([reg[c][0] for c in codes], index=codes)
    region_rank, n_region = regional_ranks(total, region_en)
    prov = pd.DataFrame({
        "status": status, "total": total, "rank": rank_desc(total),
        "group": assign_groups(total, rule.tie_rule),
        "region_en": region_en, "region_vi": [reg[c][1] for c in codes],
        "region_rank": region_rank, "n_region_ranked": n_region,
        "n_dimensions_present": n_present,
    }, index=pd.Index(codes, name="code"))
    dim_ranks = dims.apply(rank_desc)
    dim_groups = dims.apply(lambda s: assign_groups(s, rule.tie_rule))
    cut = {"total": cutoffs(total)}
    rows = []
    for key, series in [("total", total)] + [(int(d), dims[d]) for d in dims.columns]:
        cut.setdefault(key, cutoffs(series))
        s = series.dropna()
        rows.append({"dimension": key, "min": s.min(), "median": s.median(), "mean": s.mean(), "max": s.max(),
                     "best": s.idxmax(), "n": int(s.size)})
    national = pd.DataFrame(rows).set_index("dimension")
    return YearScores(year=year, regime=regime, rule=rule, provinces=prov, dimensions=dims,
                      dimension_ranks=dim_ranks, dimension_groups=dim_groups, subdimensions=sub,
                      structure=struct, cutoffs=cut, national=national)


_CACHE: dict[tuple[str, str, int], YearScores] = {}


def year_scores(data: PapiData, year: int) -> YearScores:
    """Scores of every province in ``year``, computed once per data version and cached."""
    key = (str(data.directory), data.version, int(year))
    if key not in _CACHE:
        _CACHE[key] = _compute_year(data, int(year))
    return _CACHE[key]


def panel_totals(data: PapiData) -> pd.DataFrame:
    """Long table of every year: year, code, status, total, rank, group, and dimension scores 1..8."""
    frames = []
    for y in data.years:
        ys = year_scores(data, y)
        f = ys.provinces[["status", "total", "rank", "group", "region_en"]].join(ys.dimensions)
        f.insert(0, "year", y)
        frames.append(f.reset_index())
    return pd.concat(frames, ignore_index=True)




def previous_year(data: PapiData, code: str, year: int) -> int | None:
    """The latest earlier year of the same regime in which the province has a total."""
    for y in sorted((y for y in data.years if y < year and same_regime(y, year)), reverse=True):
        if pd.notna(year_scores(data, y).provinces.at[code, "total"]):
            return y
    return None


def rank_common(data: PapiData, code: str, a: int, b: int) -> dict | None:
    """The province's rank in years ``a`` and ``b`` among the provinces ranked in both (rankings of
    different sizes are not compared place for place): ``{"from", "to", "n"}``; None when it is not
    ranked in both years."""
    ta, tb = year_scores(data, a).provinces["total"], year_scores(data, b).provinces["total"]
    both = ta.notna() & tb.notna()
    if not both.get(code, False):
        return None
    return {"from": int(rank_desc(ta[both])[code]), "to": int(rank_desc(tb[both])[code]), "n": int(both.sum())}


@dataclass
class Scorecard:
    """One province's exact scores for one year, ready for a table, a sentence or JSON."""

    province: Province
    year: int
    ys: YearScores
    previous: dict | None
    missing_reason: str | None
    data: PapiData | None = None

    @property
    def row(self) -> pd.Series:
        return self.ys.provinces.loc[self.province.code]

    @property
    def status(self) -> str:
        return str(self.row["status"])

    @property
    def total(self) -> float | None:
        return _num(self.row["total"])

    @property
    def rank(self) -> int | None:
        return _int(self.row["rank"])

    @property
    def group(self) -> str | None:
        return self.row["group"]

    @property
    def region_rank(self) -> int | None:
        """Rank among the ranked provinces of the same region (None without a total)."""
        return _int(self.row["region_rank"])

    @property
    def n_region_ranked(self) -> int | None:
        return _int(self.row["n_region_ranked"])

    @property
    def total_max(self) -> int:
        return self.ys.regime.total_max

    def uncertainty(self) -> dict:
        """Survey uncertainty of the total (``uncertainty.YearUncertainty.row``): se, ci_low, ci_high,
        margin, ci_basis, rank_range [best, worst], p_keep_group; empty when no total or no intervals."""
        from papi_research.analysis.uncertainty import year_uncertainty
        if self.total is None:
            return {}
        u = year_uncertainty(self.data, self.year) if self.data is not None else None
        return {} if u is None else u.row(self.province.code)

    def sensitivity(self) -> dict | None:
        """The total's interval under the sensitivity rule for years without intervals, and the
        province's verdicts that flip (``uncertainty.sensitivity``); None in 2019, without a total or
        without intervals."""
        from papi_research.analysis.uncertainty import sensitivity
        if self.total is None or self.data is None:
            return None
        return sensitivity(self.data, self.province.code, self.year)

    def dimension_table(self) -> pd.DataFrame:
        """One row per dimension: score, rank, group and national/regional reference values."""
        code = self.province.code
        reg = self.ys.regional_median(self.province.region_en)
        rows = []
        for d in self.ys.dimensions.columns:
            dim = dimensions()[int(d)]
            nat = self.ys.national.loc[int(d)]
            rows.append({
                "number": int(d), "name_vi": dim.name_vi, "name_en": dim.name_en,
                "short_vi": dim.short_vi, "short_en": dim.short_en,
                "score": _num(self.ys.dimensions.at[code, d]), "rank": _int(self.ys.dimension_ranks.at[code, d]),
                "n": int(nat["n"]), "group": self.ys.dimension_groups.at[code, d],
                "national_min": float(nat["min"]), "national_median": float(nat["median"]),
                "national_mean": float(nat["mean"]), "national_best": float(nat["max"]),
                "best_province": nat["best"], "regional_median": _num(reg[d]),
            })
        return pd.DataFrame(rows)

    def subdimension_table(self) -> pd.DataFrame:
        code = self.province.code
        sub = self.ys.subdimensions
        out = self.ys.structure[["code", "dimension", "position", "label_vi", "label_en", "max"]].copy()
        out["score"] = [_num(sub.at[code, c]) for c in out["code"]]
        out["national_median"] = [float(sub[c].median()) for c in out["code"]]
        out["national_best"] = [float(sub[c].max()) for c in out["code"]]
        out["rank"] = [_int(rank_desc(sub[c]).get(code)) for c in out["code"]]
        return out.reset_index(drop=True)

    def to_dict(self) -> dict:
        p = self.province
        return jsonable({
            "province": {"code": p.code, "name_vi": p.name_vi, "name_en": p.name_en, "slug": p.slug,
                         "region_vi": p.region_vi, "region_en": p.region_en,
                         "merged_into_vi": p.merged_into_vi, "merged_into_en": p.merged_into_en},
            "boundaries": "63 provinces before the merger of 1 July 2025",
            "year": self.year, "status": self.status, "total": self.total, "total_max": self.total_max,
            "rank": self.rank, "n_ranked": self.ys.n_ranked, "group": self.group,
            "region_rank": self.region_rank, "n_region_ranked": self.n_region_ranked,
            "group_basis": self.ys.rule.basis,
            **self.uncertainty(),
            "ci_sensitivity": self.sensitivity(),
            "previous": self.previous,
            "dimensions": [{**{k: r[k] for k in ("number", "name_vi", "name_en", "score", "rank", "n", "group",
                                                 "national_min", "national_median", "national_mean",
                                                 "national_best", "best_province", "regional_median")},
                            "rank": _int(r["rank"]), "group": r["group"] if isinstance(r["group"], str) else None}
                           for r in self.dimension_table().to_dict("records")],
            "subdimensions": [{"code": r["code"], "dimension": int(r["dimension"]), "label_vi": r["label_vi"],
                               "label_en": r["label_en"], "score": r["score"], "max": float(r["max"]),
                               "national_median": r["national_median"], "rank": _int(r["rank"])}
                              for r in self.subdimension_table().to_dict("records")],
            "missing_reason": self.missing_reason,
        })


def scorecard(data: PapiData, province: Province | str, year: int | None = None) -> Scorecard:
    """The scorecard of one province in one year.

    Parameters
    ----------
    data : the loaded PAPI data.
    province : a ``Province`` or any name or code ``Provinces.lookup`` accepts.
    year : the PAPI year (None: the latest year with data).

    Returns
    -------
    Scorecard : status (complete, partial, missing), total, rank of N, regional rank, quartile group and
    its basis, dimensions and sub-dimensions with their official labels, the previous comparable year,
    the survey interval and rank range; ``to_dict()`` is the JSON of ``papi scores --json``.
    """
    p = province if isinstance(province, Province) else data.provinces.lookup(province)
    year = data.latest_year if year is None else data.check_year(int(year))
    ys = year_scores(data, year)
    prev = previous_year(data, p.code, year)
    previous = None
    if prev is not None:
        pr = year_scores(data, prev).provinces.loc[p.code]
        previous = {"year": prev, "total": float(pr["total"]), "rank": int(pr["rank"]),
                    "n_ranked": year_scores(data, prev).n_ranked, "group": pr["group"],
                    "rank_common": rank_common(data, p.code, prev, year)}
    status = ys.provinces.at[p.code, "status"]
    reason = data.gap_reason(year, p.code) if status != "complete" else None
    if status != "complete" and reason is None:
        reason = "not published (no official reason recorded)"
    return Scorecard(province=p, year=year, ys=ys, previous=previous, missing_reason=reason, data=data)
