"""The 34 provinces since 1 July 2025 and their estimates from the former provinces' PAPI results.

PAPI measured the 63 former provinces through 2024. For each of the 34 new provinces this module
estimates every sub-dimension, dimension and total of a year as the **population-weighted mean of its
former provinces' scores**; these are estimates built from PAPI results, never PAPI's own figures.

* **Membership**: ``join_34.csv`` and ``join_63.csv`` in the boundary folder (``paths.find_geo_dir``),
  which must agree with the reference table ``merger_2025.csv`` (:func:`check_membership`).
* **Weights**: population (thousand persons) from the General Statistics Office yearbook panel
  (``gso_covariates_2005_2016_long.csv`` in the companion folder), taken from the nearest year with data
  (2015 for 2011–2015, 2016 from 2016 on); the year used is named in every output. Total population,
  not the survey year's adult population (PAPI samples citizens of 18 and over): the data here has no
  adult population by province and no population after 2016; a source of either would replace it.
* **Members without data** (the rule): a former province without a value that year (a missing row, or a
  dimension PAPI did not publish) is left out and the weights of the others are rescaled; the estimate is
  given only when the former provinces with data hold at least half (:data:`MIN_COVERAGE`) of the new
  province's population, otherwise there is no estimate (it would be unrepresentative). Every estimate
  that leaves a member out says which one and why.
* **Partial estimates**: an estimate from former provinces holding less than the whole population
  (Phú Thọ 2024 without Vĩnh Phúc: 67.5 %) is given and flagged ``partial`` but not ranked: ranks,
  groups, cut-offs and regional ranks are among the whole estimates only.
* **Uncertainty**: SE = √Σ wᵢ² SEᵢ² over the former provinces used (independent surveys; each SEᵢ as
  ``uncertainty`` sets it), a 95 % interval, and from joint seeded draws of the 63 totals the plausible
  rank among the whole estimates and the chance of keeping the group; a partial estimate's range is
  its rank *if whole*, each missing former province's total resampled from the year's 63 totals.
* **Ranks and groups** are among the 34 (``rank`` of the number with an estimate), with the year's group
  tie rule (``scores.group_rule``); the region of a new province is the region of its most populous
  former province.

``unit_year_scores(data, year)`` returns a :class:`UnitYear` whose ``ys`` is a ``scores.YearScores``
indexed by the new codes, so every table, rank and sentence built for the 63 works for the 34;
``unit_scorecard(data, name, year)`` is the :class:`UnitScorecard` of one new province.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from papi_research.analysis.scores import GROUPS, Scorecard, assemble_year, year_scores
from papi_research.data.codebook import same_regime
from papi_research.data.companion import _pick, load_companion
from papi_research.data.files import read_rows
from papi_research.data.i18n import fmt_num, t
from papi_research.data.loader import PapiData
from papi_research.data.paths import find_geo_dir, resource_file
from papi_research.data.provinces import Province
from papi_research.data.text import lookup_key, mark_literal
from papi_research.data.units import NewProvince, NewProvinces
from papi_research.data.values import jsonable
from papi_research.errors import DataValidationError, ParameterError, UnknownProvinceError

UNIT_SETS = ("63", "2025")
"""``--units`` choices: the 63 former provinces (PAPI's own units) or the 34 provinces since 1 July 2025."""

MIN_COVERAGE = 0.5
"""Share of a new province's population its former provinces with data must hold for an estimate."""

JOIN_34 = "join_34.csv"
JOIN_63 = "join_63.csv"
POPULATION = "population"


def check_units(units: str | int | None) -> str:
    """'63' or '2025' (None → '63'); anything else is a parameter error."""
    value = "63" if units is None else str(units).strip()
    if value not in UNIT_SETS:
        raise ParameterError("units", f"must be one of {', '.join(UNIT_SETS)}; got {units!r}")
    return value


Unit = NewProvince  # one of the 34 and the PAPI codes of its former provinces (``data.units``)


class UnitRegistry(NewProvinces):
    """The 34 new provinces of the data layer (:class:`~papi_research.data.units.NewProvinces`), checked
    against the 63, where a former province also finds the new province it went into."""

    def __init__(self, units: list[Unit], source: Path):
        super().__init__(units, source)
        self._of_member = {m: u for u in units for m in u.members}

    def of_member(self, papi_code: str) -> Unit:
        """The new province a former province (PAPI code) went into."""
        return self._of_member[papi_code]

    def lookup(self, query: str, provinces=None) -> Unit:
        """A new province by name, slug or new code; with ``provinces`` (the 63), a former province's
        name also finds the new province it went into ("Tiền Giang" → Đồng Tháp)."""
        text = str(query).strip()
        hit = self._keys.get(lookup_key(text))
        if hit:
            return hit
        if provinces is not None:
            try:
                return self.of_member(provinces.lookup(text).code)
            except UnknownProvinceError:
                pass
        return super().lookup(text)


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict]:
    """The rows of a boundary-join table, through the data layer's checked reader; its names are text."""
    _, rows = read_rows(path, required, whole_lines=True)
    out = [r for _, r in rows]
    mark_literal(*(r[k] for r in out for k in ("name_vi", "name_en") if k in r))
    return out


def load_units(data: PapiData, geo_dir: str | Path | None = None) -> UnitRegistry:
    """Read ``join_34.csv`` and ``join_63.csv``, check them against each other, the 63 provinces and
    the reference table ``merger_2025.csv`` (:func:`check_membership`)."""
    directory = find_geo_dir(data.directory, geo_dir)
    path34 = directory / JOIN_34
    units, seen = list(NewProvinces.from_csv(path34)), {}
    for i, u in enumerate(units, start=2):
        for m in u.members:
            if m not in data.provinces:
                raise DataValidationError("unknown PAPI province code", file=path34, row=i, column="members_papi",
                                          value=m)
            if m in seen:
                raise DataValidationError(f"former province already in new province {seen[m]}", file=path34,
                                          row=i, column="members_papi", value=m)
            seen[m] = u.code
    missing = [c for c in data.provinces.codes if c not in seen]
    if missing:
        raise DataValidationError(f"former provinces in no new province: {', '.join(missing)}", file=path34,
                                  column="members_papi")
    registry = UnitRegistry(units, directory)
    check_membership(registry, data, directory / JOIN_63)
    return registry


def check_membership(units: UnitRegistry, data: PapiData, join63: Path) -> None:
    """The membership of ``join_34.csv`` must equal ``join_63.csv`` and the reference table ``merger_2025.csv``
    (every former province in the same new province, by code and by name); raises on the first mismatch."""
    rows = _read_csv(join63, ("code", "code34", "name34"))
    for i, r in enumerate(rows, start=2):
        code = r["code"].strip()
        if code not in data.provinces:
            raise DataValidationError("unknown PAPI province code", file=join63, row=i, column="code", value=code)
        unit = units.of_member(code)
        if r["code34"].strip() != unit.code or r["name34"].strip() != unit.name_vi:
            raise DataValidationError(f"{code} is in {unit.code} {unit.name_vi} in {JOIN_34}", file=join63, row=i,
                                      column="code34", value=r["code34"])
    merger = resource_file("reference", "merger_2025.csv")
    for i, r in enumerate(_read_csv(merger, ("code", "merged_into_vi")), start=2):
        unit = units.of_member(r["code"].strip())
        if r["merged_into_vi"].strip() != unit.name_vi:
            raise DataValidationError(f"{r['code']} went into {unit.name_vi} according to {JOIN_34}", file=merger,
                                      row=i, column="merged_into_vi", value=r["merged_into_vi"])


@dataclass
class UnitYear:
    """The 34 new provinces' estimates for one year.

    * ``ys``: a ``scores.YearScores`` indexed by new code (``status``, ``total``, ``rank``, ``group``,
      ``region_rank`` … as for the 63);
    * ``components``: one row per former province: ``unit``, ``code``, ``population``, ``population_year``,
      ``weight`` (its share in the unit's total estimate, 0 when left out), ``total``, ``status``;
    * ``coverage``: per unit, the population share of the former provinces with a total;
    * ``population_year``: the yearbook year the weights come from;
    * ``dim_se``, ``sub_se``: new code × dimension / sub-dimension, the survey SE of each estimate
      (:func:`_component_se`; None without intervals and in a year on the 34).
    """

    year: int
    units: UnitRegistry
    ys: object
    components: pd.DataFrame
    coverage: pd.Series
    population_year: int
    uncertainty: pd.DataFrame | None = None
    official: bool = False  # a year on the 34 (PAPI's own figures, ``year34.py``), not an estimate
    dim_se: pd.DataFrame | None = None
    sub_se: pd.DataFrame | None = None


_CACHE: dict[tuple, UnitYear] = {}


def population_weights(data: PapiData, year: int) -> tuple[pd.Series, int]:
    """Population (thousand persons) of every former province at the yearbook year nearest ``year``."""
    comp = load_companion(data.provinces, papi_dir=data.directory)
    wide = comp.covariate(POPULATION)
    if wide.empty:
        raise DataValidationError(f"no '{POPULATION}' rows in the yearbook panel", file=comp.directory)
    values, used = _pick(wide, year, data.provinces.codes)
    if values.isna().any():
        raise DataValidationError(f"no population for {', '.join(values[values.isna()].index)}",
                                  file=comp.directory)
    years = sorted(set(int(y) for y in used))
    if len(years) != 1:  # the panel has every province in each of its years, so one year serves all
        raise DataValidationError(f"population years differ between provinces: {years}", file=comp.directory)
    return values.astype(float), years[0]


def _weighted(frame: pd.DataFrame, members: dict[str, tuple[str, ...]], pop: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population-weighted mean of each column over each unit's members with a value, and the population
    share of those members; NaN where that share is below :data:`MIN_COVERAGE`."""
    est, cov = {}, {}
    for unit, codes in members.items():
        block = frame.loc[list(codes)]
        w = pop.loc[list(codes)]
        have = block.notna()
        share = (have.mul(w, axis=0)).sum() / w.sum()
        value = block.mul(w, axis=0).sum(min_count=1) / have.mul(w, axis=0).sum().replace(0, np.nan)
        est[unit] = value.where(share >= MIN_COVERAGE - 1e-12)
        cov[unit] = share
    return pd.DataFrame(est).T, pd.DataFrame(cov).T


def _component_se(frame: pd.DataFrame, se: pd.DataFrame, members: dict[str, tuple[str, ...]],
                  pop: pd.Series) -> pd.DataFrame:
    """SE of each estimate of :func:`_weighted` (``frame``: former provinces × columns; ``se``: the same
    shape, each score's survey SE): √Σ wᵢ² SEᵢ² with the weights :func:`_weighted` gives the former
    provinces with a value (their surveys are independent); NaN where there is no estimate."""
    out = {}
    for unit, codes in members.items():
        block = frame.loc[list(codes)]
        w = block.notna().mul(pop.loc[list(codes)], axis=0)
        w = w / w.sum().replace(0, np.nan)
        out[unit] = np.sqrt((w * se.loc[list(codes), block.columns]).pow(2).sum(min_count=1))
    return pd.DataFrame(out).T


UNIT_DRAW_STREAM = 34  # the seed stream of the joint draws for the 34 (``uncertainty.SEED``, year, 34)


def _estimate_uncertainty(data: PapiData, ys, comps: pd.DataFrame) -> pd.DataFrame | None:
    """Survey uncertainty of each estimate: SE = √Σ wᵢ² SEᵢ² over the former provinces used (their
    surveys are independent; each SEᵢ as ``uncertainty`` sets it for the year), the 95 % interval, and
    from joint seeded draws of the 63 totals (each N(total, SEᵢ²)) the plausible rank among the whole
    estimates and the chance of keeping the group; partial estimates get an interval, no rank
    and a plausible rank if whole (their missing former provinces resampled from the year's totals)."""
    from papi_research.analysis.uncertainty import N_DRAWS, SEED, Z95, year_uncertainty
    u = year_uncertainty(data, ys.year)
    if u is None:
        return None
    prov = ys.provinces
    used = comps[comps["used"]]
    se63 = u.table["se"]
    codes = list(prov.index)
    tab = pd.DataFrame(index=pd.Index(codes, name="code"),
                       columns=["se", "ci_low", "ci_high", "margin", "rank_best", "rank_worst", "p_keep_group"],
                       dtype=float)
    for unit, g in used.groupby("unit"):
        se = float(np.sqrt(((g["weight"] * se63[g["code"]].to_numpy()) ** 2).sum()))
        tot = float(prov.at[unit, "total"])
        tab.loc[unit, ["se", "ci_low", "ci_high", "margin"]] = [se, tot - Z95 * se, tot + Z95 * se, Z95 * se]
    whole = [c for c in codes if pd.notna(prov.at[c, "rank"])]
    if not whole:
        return tab
    members = sorted(set(used["code"]))
    col = {c: i for i, c in enumerate(members)}
    rng = np.random.default_rng([SEED, ys.year, UNIT_DRAW_STREAM])
    ys_totals = year_scores(data, ys.year).provinces.loc[members, "total"].to_numpy(dtype=float)
    draws63 = ys_totals[None, :] + rng.standard_normal((N_DRAWS, len(members))) * se63[members].to_numpy()[None, :]
    W = np.zeros((len(members), len(whole)))
    for j, unit in enumerate(whole):
        for c, w in zip(used.loc[used["unit"] == unit, "code"], used.loc[used["unit"] == unit, "weight"]):
            W[col[c], j] = w
    draws = draws63 @ W  # draws × whole estimates
    order = np.argsort(-draws, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, len(whole) + 1)[None, :].repeat(N_DRAWS, axis=0), axis=1)
    rank_now = prov.loc[whole, "rank"].astype(int).to_numpy()
    tab.loc[whole, "rank_best"] = np.minimum(np.quantile(ranks, 0.025, axis=0, method="lower"), rank_now)
    tab.loc[whole, "rank_worst"] = np.maximum(np.quantile(ranks, 0.975, axis=0, method="higher"), rank_now)
    cut = np.percentile(draws, [25, 50, 75], axis=1)
    above = (draws[None] >= cut[:, :, None]) if ys.rule.tie_rule == "at_or_above" else (draws[None] > cut[:, :, None])
    group_idx = 3 - above.sum(axis=0)
    now_idx = np.array([GROUPS.index(g) for g in prov.loc[whole, "group"]])
    tab.loc[whole, "p_keep_group"] = (group_idx == now_idx[None, :]).mean(axis=0)
    # a partial estimate has no rank; its plausible rank *if whole* is drawn with each missing former
    # province's total resampled from the year's ranked totals of the 63 (its score is unknown)
    partial = [c for c in codes if bool(prov.at[c, "partial"])]
    ranked63 = year_scores(data, ys.year).provinces["total"].dropna().to_numpy(dtype=float)
    for unit in partial:
        g = comps[comps["unit"] == unit]
        w = (g["population"] / g["population"].sum()).to_numpy()
        present = g["used"].to_numpy(dtype=bool)
        parts = np.empty((N_DRAWS, len(g)))
        for i, c in enumerate(g["code"]):
            parts[:, i] = draws63[:, col[c]] if present[i] else rng.choice(ranked63, size=N_DRAWS)
        whole_draw = parts @ w
        r = 1 + (draws > whole_draw[:, None]).sum(axis=1)
        tab.loc[unit, "rank_best"] = np.quantile(r, 0.025, method="lower")
        tab.loc[unit, "rank_worst"] = np.quantile(r, 0.975, method="higher")
    return tab


def unit_year_scores(data: PapiData, year: int, geo_dir: str | Path | None = None) -> UnitYear:
    """Estimates, ranks and groups of the 34 new provinces in ``year`` (cached per data version and year);
    for a year on the 34 their own figures (``year34.official_year``)."""
    if int(year) in data.years34:
        from papi_research.analysis.year34 import official_year
        return official_year(data, int(year))
    year = data.check_year(int(year))
    units = load_units(data, geo_dir)
    key = (str(data.directory), data.version, str(units.source), year)
    if key in _CACHE:
        return _CACHE[key]
    ys63 = year_scores(data, year)
    pop, pop_year = population_weights(data, year)
    members = {u.code: u.members for u in units}
    sub, _ = _weighted(ys63.subdimensions, members, pop)
    dims, _ = _weighted(ys63.dimensions, members, pop)
    totals, cov = _weighted(ys63.provinces[["total"]].astype(float), members, pop)
    codes = units.codes
    sub, dims = sub.reindex(codes), dims.reindex(codes)
    sub.columns.name = None
    total = totals["total"].reindex(codes)
    n_dims = dims.notna().sum(axis=1)
    status = pd.Series(np.where(total.notna(), "complete", np.where((n_dims > 0) | sub.notna().any(axis=1),
                                                                    "partial", "missing")), index=codes)
    reg = {}
    for u in units:
        lead = max(u.members, key=lambda c: (pop[c], c))
        p = data.provinces.by_code(lead)
        reg[u.code] = (p.region_en, p.region_vi)
    # an estimate covering less than the whole new province is given, but not ranked as if whole:
    # ranks, groups, cut-offs and regional ranks are among the whole estimates only
    partial = total.notna() & (cov["total"].reindex(codes) < 1 - 1e-9)
    ys = assemble_year(year, ys63.structure, sub, dims, status, total.where(~partial), reg)
    ys.provinces["total"] = total
    ys.provinces["partial"] = partial
    ys.provinces["coverage"] = cov["total"].reindex(codes)
    rows = []
    for u in units:
        have = [c for c in u.members if pd.notna(ys63.provinces.at[c, "total"])]
        w_have = pop.loc[have].sum() if have else 0.0
        estimate = pd.notna(total[u.code])
        for c in u.members:
            used = estimate and c in have
            rows.append({"unit": u.code, "code": c, "population": float(pop[c]), "population_year": pop_year,
                         "weight": float(pop[c] / w_have) if used else 0.0,
                         "population_share": float(pop[c] / pop.loc[list(u.members)].sum()),
                         "total": ys63.provinces.at[c, "total"], "status": ys63.provinces.at[c, "status"],
                         "used": bool(used)})
    comps = pd.DataFrame(rows)
    from papi_research.analysis.uncertainty import year_uncertainty
    dim_se = sub_se = None
    u = year_uncertainty(data, year)
    if u is not None:  # each dimension's and sub-dimension's SE, weighted as the estimates are
        d_se = pd.DataFrame({d: u.dim_se for d in ys63.dimensions.columns})
        dim_se = _component_se(ys63.dimensions, d_se, members, pop).reindex(index=codes).where(dims.notna())
        sub_se = _component_se(ys63.subdimensions, u.sub_se.reindex(columns=ys63.subdimensions.columns),
                               members, pop).reindex(index=codes).where(sub.notna())
    out = UnitYear(year=year, units=units, ys=ys, components=comps, coverage=cov["total"].reindex(codes),
                   population_year=pop_year, uncertainty=_estimate_uncertainty(data, ys, comps),
                   dim_se=dim_se, sub_se=sub_se)
    _CACHE[key] = out
    return out


def unit_province(unit: Unit, uy: UnitYear) -> Province:
    """The new province as a ``Province`` (so scorecards, tables and figures for the 63 serve it)."""
    r = uy.ys.provinces.loc[unit.code]
    return Province(code=unit.code, name_vi=unit.name_vi, name_en=unit.name_en, slug=unit.slug,
                    gso_code=unit.code, region_vi=r["region_vi"], region_en=r["region_en"],
                    merged_into_vi=unit.name_vi, merged_into_en=unit.name_en)


def weight_source(uy: UnitYear, lang: str) -> str:
    """The sentence naming the weights: population of which year, from which source, and the rule."""
    return t("un_weight_source", lang, pop_year=uy.population_year, year=uy.year,
             share=fmt_num(100 * MIN_COVERAGE, lang, 0))


@dataclass
class UnitScorecard(Scorecard):
    """The scorecard of one new province: estimates from its former provinces, ranks among the 34."""

    unit: Unit = None
    uy: UnitYear = field(default=None, repr=False)
    data: PapiData = field(default=None, repr=False)

    def uncertainty(self) -> dict:
        """The estimate's survey uncertainty (``_estimate_uncertainty``): se, ci_low, ci_high, margin,
        rank_range among the whole estimates (for a partial one, the plausible rank if whole, its missing
        former provinces' totals resampled: ``rank_range_basis``), p_keep_group (whole ones); empty
        without an estimate or without intervals."""
        tab = self.uy.uncertainty
        if self.total is None or tab is None:
            return {}
        r = tab.loc[self.unit.code]
        ranked = pd.notna(r["rank_best"])
        whole = not self.partial
        from papi_research.analysis.uncertainty import N_DRAWS, SEED, basis_of
        basis = basis_of(self.year)
        return {"se": float(r["se"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
                "margin": float(r["margin"]), "ci_level": 0.95, "ci_basis": "estimate_" + basis,
                "ci_basis_text": {lang: t("un_ci_basis", lang, year=self.year) for lang in ("vi", "en")},
                "rank_range": [int(r["rank_best"]), int(r["rank_worst"])] if ranked else None,
                "rank_range_basis": None if not ranked else "estimate" if whole else "if_whole_missing_resampled",
                "p_keep_group": float(r["p_keep_group"]) if ranked and whole else None,
                "simulation": {"draws": N_DRAWS, "seed": [SEED, self.year, UNIT_DRAW_STREAM]} if ranked else None}

    @property
    def partial(self) -> bool:
        """An estimate from former provinces holding less than the whole population (not ranked); never in a
        year on the 34, whose figures are the province's own."""
        if self.total is None or self.official:
            return False
        return bool(self.ys.provinces.at[self.unit.code, "partial"])

    def sensitivity(self) -> dict | None:
        """No sensitivity rule: it concerns the survey errors of the 63 provinces' own scores."""
        return None

    @property
    def official(self) -> bool:
        """A year on the 34: the province's own PAPI figures, not an estimate."""
        return self.uy.official

    def components(self) -> pd.DataFrame:
        """One row per former province: code, names, population, weight, total, status, used, reason
        (none in a year on the 34: the figures are the province's own)."""
        if self.official:
            return pd.DataFrame(columns=["unit", "code", "name_vi", "name_en", "population", "population_year",
                                         "weight", "population_share", "total", "status", "used", "missing_reason"])
        comp = self.uy.components[self.uy.components["unit"] == self.unit.code].copy()
        comp["name_vi"] = [self.data.provinces.by_code(c).name_vi for c in comp["code"]]
        comp["name_en"] = [self.data.provinces.by_code(c).name_en for c in comp["code"]]
        comp["missing_reason"] = [None if s == "complete" else
                                  (self.data.gap_reason(self.year, c) or "not published (no official reason recorded)")
                                  for c, s in zip(comp["code"], comp["status"])]
        return comp.reset_index(drop=True)

    def component_dimensions(self) -> pd.DataFrame:
        """Former provinces × dimensions: each one's score (NaN where PAPI published none)."""
        ys63 = year_scores(self.data, self.year)
        return ys63.dimensions.loc[list(self.unit.members)]

    @property
    def coverage(self) -> float:
        return float(self.uy.coverage[self.unit.code])

    def left_out(self) -> list[str]:
        comp = self.components()
        return comp.loc[~comp["used"], "code"].tolist() if self.total is not None else []

    def to_dict(self) -> dict:
        base = Scorecard.to_dict(self)
        u = self.unit
        comp = self.components()
        base["province"] = {"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "slug": u.slug,
                            "type": u.type, "region_vi": self.province.region_vi,
                            "region_en": self.province.region_en, "members": list(u.members)}
        base["units"] = "2025"
        base["boundaries"] = "34 provinces from 1 July 2025"
        if self.official:  # PAPI's own figures; only the history before the merger is estimated
            base["estimate"] = False
            base["source"] = "PAPI's own figures for the 34 provinces"
            return base
        base["estimate"] = True
        base["estimate_note"] = t("un_estimate_note", "en")
        base["estimate_note_vi"] = t("un_estimate_note", "vi")
        base["weight_source"] = weight_source(self.uy, "en")
        base["weight_source_vi"] = weight_source(self.uy, "vi")
        base["population_year"] = self.uy.population_year
        base["coverage"] = self.coverage
        base["partial"] = self.partial
        if self.partial:
            base["ranked"] = False
        base["components"] = jsonable([{"code": r["code"], "name_vi": r["name_vi"], "name_en": r["name_en"],
                                     "weight": r["weight"], "population": r["population"],
                                     "population_share": r["population_share"], "total": r["total"],
                                     "status": r["status"], "used": r["used"], "missing_reason": r["missing_reason"]}
                                    for r in comp.to_dict("records")])
        return base


def unit_previous_year(data: PapiData, code: str, year: int) -> int | None:
    """The latest earlier year of the same regime in which the new province has a whole (ranked) figure: its
    own in a year on the 34, else a whole estimate."""
    for y in sorted((y for y in data.all_years if y < year and same_regime(y, year)), reverse=True):
        if pd.notna(unit_year_scores(data, y).ys.provinces.at[code, "rank"]):
            return y
    return None


def unit_scorecard(data: PapiData, unit: Unit | str, year: int | None = None) -> UnitScorecard:
    """The scorecard of one new province (a ``Unit``, its name or code, or a former province's name)."""
    year = data.latest_year if year is None else int(year)
    if year not in data.years34:
        data.check_year(year)
    uy = unit_year_scores(data, year)
    u = unit if isinstance(unit, Unit) else uy.units.lookup(unit, data.provinces)
    prev = unit_previous_year(data, u.code, year)
    previous = None
    if prev is not None:
        pys = unit_year_scores(data, prev).ys
        pr = pys.provinces.loc[u.code]
        previous = {"year": prev, "total": float(pr["total"]), "rank": int(pr["rank"]), "n_ranked": pys.n_ranked,
                    "group": pr["group"]}
        if uy.official and prev not in data.years34:  # the history before the merger is an estimate
            previous["estimate"] = True
    status = uy.ys.provinces.at[u.code, "status"]
    reason = None
    if status != "complete" and uy.official:
        reason = data.gap_reason(year, u.code) or "not published (no official reason recorded)"
    elif status != "complete":
        reason = t("un_no_estimate", "en", share=fmt_num(100 * MIN_COVERAGE, "en", 0))
    return UnitScorecard(province=unit_province(u, uy), year=year, ys=uy.ys, previous=previous,
                         missing_reason=reason, unit=u, uy=uy, data=data)


def component_lines(card: UnitScorecard, lang: str) -> list[str]:
    """The estimate note, each former province's weight and total (or why it is left out), the weights' source."""
    lines = [t("un_estimate_note", lang)]
    for r in card.components().to_dict("records"):
        name = r[f"name_{lang}"]
        if r["used"]:
            lines.append("  " + t("un_component_line", lang, name=name, code=r["code"],
                                  weight=fmt_num(r["weight"], lang, 3), total=fmt_num(r["total"], lang)))
        else:
            reason = card.data.gap_summary(card.year, r["code"], lang) or t("status_" + r["status"], lang)
            lines.append("  " + t("un_component_left_out", lang, name=name, code=r["code"], reason=reason))
    lines.append(weight_source(card.uy, lang))
    return lines
