"""Totals, ranks and groups reproduce the published record."""

from __future__ import annotations

import numpy as np
import pytest

from papi_research.analysis.scores import assign_groups, scorecard, year_scores
from papi_research.data.loader import load_cached


@pytest.fixture(scope="module")
def papi():
    return load_cached()


def test_dong_thap_published_totals(papi):
    assert scorecard(papi, "Đồng Tháp", 2020).total == pytest.approx(46.961, abs=5e-4)
    c = scorecard(papi, "Đồng Tháp", 2021)
    assert c.total == pytest.approx(42.432, abs=5e-4)
    assert (c.rank, c.ys.n_ranked, c.total_max) == (27, 60, 80)


def test_ha_tinh_2015_dimensions(papi):
    c = scorecard(papi, "Hà Tĩnh", 2015)
    assert [round(s, 2) for s in c.dimension_table()["score"]] == [6.44, 7.24, 7.51, 6.67, 7.30, 7.17]
    assert c.total_max == 60
    labels = c.subdimension_table().query("dimension == 2")["label_en"].tolist()
    assert labels == ["Poverty Lists", "Communal Budget and Expenditure", "Land-Use Plans/Price Frames"]


@pytest.mark.parametrize("year,counts,n", [(2019, (16, 16, 15, 16), 63), (2023, (15, 15, 15, 16), 61),
                                           (2024, (15, 15, 15, 16), 61), (2021, (15, 15, 15, 15), 60)])
def test_group_counts(papi, year, counts, n):
    ys = year_scores(papi, year)
    assert ys.n_ranked == n
    assert tuple(ys.group_counts().values()) == counts


def test_tie_rule_matters_in_2023(papi):
    """With 61 ranked, the cut-offs fall exactly on provinces: the per-year rule decides."""
    totals = year_scores(papi, 2023).provinces["total"]
    up = assign_groups(totals, "at_or_above").value_counts()
    assert (up["best"], up["poor"]) == (16, 15)


def test_quang_ninh_2018_partial(papi):
    c = scorecard(papi, "Quảng Ninh", 2018)
    d = c.to_dict()
    assert d["status"] == "partial" and d["total"] is None and d["rank"] is None and d["group"] is None
    assert "Dimention 2" in d["missing_reason"]
    present = [x["number"] for x in d["dimensions"] if x["score"] is not None]
    assert present == [1, 3, 5, 6, 7, 8]
    assert year_scores(papi, 2018).n_ranked == 61


def test_missing_province(papi):
    d = scorecard(papi, "Vĩnh Phúc", 2024).to_dict()
    assert d["status"] == "missing" and d["total"] is None and "missing data" in d["missing_reason"]
    assert all(x["score"] is None for x in d["subdimensions"])


def test_ranks_and_dimensions_are_sums(papi):
    ys = year_scores(papi, 2022)
    sub = ys.subdimensions
    for d, codes in papi.codebook.structure(2022).items():
        np.testing.assert_allclose(ys.dimensions[d].dropna(), sub.loc[ys.dimensions[d].dropna().index, codes].sum(axis=1))
    ranked = ys.ranked()
    assert ranked["rank"].tolist() == sorted(ranked["rank"].tolist()) and ranked["rank"].iloc[0] == 1
    assert ranked["total"].is_monotonic_decreasing
    assert ys.provinces.loc[["P15", "P18"], "status"].tolist() == ["partial", "partial"]


def test_national_and_regional_statistics(papi):
    c = scorecard(papi, "Sơn La", 2021)
    dt = c.dimension_table().set_index("number")
    s = year_scores(papi, 2021).dimensions[1].dropna()
    assert dt.at[1, "national_median"] == pytest.approx(s.median())
    assert dt.at[1, "national_best"] == pytest.approx(s.max())
    assert dt.at[1, "best_province"] == s.idxmax()
    region = [p.code for p in papi.provinces if p.region_en == "Northern Midlands and Mountain Areas"]
    assert dt.at[1, "regional_median"] == pytest.approx(s.reindex(region).dropna().median())


def test_previous_skips_missing_years_and_regime(papi):
    assert scorecard(papi, "Quảng Ninh", 2022).to_dict()["previous"]["year"] == 2020
    assert scorecard(papi, "Sơn La", 2018).previous is None  # 2017 is another regime
