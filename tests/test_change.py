"""Change decomposition: parts sum exactly, breaks are refused or flagged, gaps give notes."""

from __future__ import annotations

import math

import pytest

from papi_research.analysis.change import decompose_change
from papi_research.analysis.scores import scorecard, year_scores
from papi_research.data.loader import load_cached
from papi_research.errors import ParameterError


@pytest.fixture(scope="module")
def data():
    return load_cached()


@pytest.mark.parametrize("province,a,b", [("Hưng Yên", 2018, 2019), ("Sơn La", 2023, 2024),
                                          ("Đồng Tháp", 2020, 2021), ("Hà Tĩnh", 2016, 2017),
                                          ("Hà Tĩnh", 2011, 2015)])
def test_parts_sum_exactly(data, province, a, b):
    ch = decompose_change(data, province, b, a)
    code = ch.province.code
    assert ch.total_change == pytest.approx(year_scores(data, b).provinces.at[code, "total"]
                                            - year_scores(data, a).provinces.at[code, "total"], abs=1e-12)
    assert math.isclose(ch.by_dimension["change"].sum(), ch.total_change, abs_tol=1e-9)
    for d, g in ch.by_subdimension.groupby("dimension"):
        dim_change = ch.by_dimension.set_index("number").at[d, "change"]
        assert math.isclose(g["change"].sum(), dim_change, abs_tol=1e-9)
    ta, tb = year_scores(data, a).provinces["total"], year_scores(data, b).provinces["total"]
    both = ta.notna() & tb.notna()  # places are counted among the provinces ranked in both years
    rf = int((ta[both] > ta[code]).sum()) + 1
    rt = int((tb[both] > tb[code]).sum()) + 1
    assert ch.rank_common == {"from": rf, "to": rt, "n": int(both.sum())}
    assert ch.rank_change == rf - rt
    assert (ch.rank_from, ch.rank_to) == (int(year_scores(data, a).provinces.at[code, "rank"]),
                                          int(year_scores(data, b).provinces.at[code, "rank"]))


def test_rank_change_between_rankings_of_different_sizes(data):
    """Issue 21 point 4: Sơn La 2020 → 2021 went 45/63 → 50/60, but among the 60 ranked both years
    from 42nd to 50th (down 8); Đồng Tháp from 1st to 27th (down 26, not 25)."""
    ch = decompose_change(data, "Sơn La", 2021, 2020)
    assert (ch.rank_from, ch.n_ranked_from, ch.rank_to, ch.n_ranked_to) == (45, 63, 50, 60)
    assert ch.rank_common == {"from": 42, "to": 50, "n": 60} and ch.rank_change == -8
    assert decompose_change(data, "Đồng Tháp", 2021, 2020).rank_change == -26
    card = scorecard(data, "Sơn La", 2021).to_dict()
    assert card["previous"]["rank_common"] == {"from": 42, "to": 50, "n": 60}


def test_default_comparison_is_previous_year(data):
    ch = decompose_change(data, "Sơn La", 2024)
    assert (ch.from_year, ch.to_year) == (2023, 2024)
    assert ch.by_dimension["decomposed"].all()  # same structure 2023/2024


def test_restructured_dimensions_reported_at_dimension_level(data):
    ch = decompose_change(data, "Hưng Yên", 2019, 2018)  # E-Governance gains SC83 in 2019
    row = ch.by_dimension.set_index("number").loc[8]
    assert not row["decomposed"] and row["reason"] == "restructured_labels"
    assert 8 not in set(ch.by_subdimension["dimension"])
    ch = decompose_change(data, "Đồng Tháp", 2021, 2020)  # dimension 5 loses SC52 in 2021
    assert not ch.by_dimension.set_index("number").at[5, "decomposed"]
    assert any(n.key == "an_change_restructured" for n in ch.notes)


def test_regime_break_refuses_total(data):
    ch = decompose_change(data, "Hà Tĩnh", 2018, 2017)
    assert ch.total_change is None and ch.rank_change is None and not ch.same_regime
    # dimension 2 gained Access to Information and 3 replaced two of three sub-dimensions in 2018
    assert list(ch.by_dimension["number"]) == [1, 4, 5, 6]
    assert any(n.key == "an_change_regime_break" for n in ch.notes)
    ch = decompose_change(data, "Hà Tĩnh", 2018, 2015)
    assert list(ch.by_dimension["number"]) == [4, 6]


def test_change_without_rebuilt_dimensions(data):
    """Hưng Yên 2018→2019: E-Governance (8) was rebuilt; the change without it is given beside the headline."""
    ch = decompose_change(data, "Hưng Yên", 2019)
    assert ch.total_change == pytest.approx(-2.333, abs=5e-4)
    assert ch.excluded_dimensions == [8]
    d = ch.by_dimension.set_index("number")["change"]
    assert ch.total_change_excluding == pytest.approx(ch.total_change - d[8])
    assert any(n.key == "an_change_excluding" for n in ch.notes)
    ch = decompose_change(data, "Sơn La", 2021)
    assert ch.excluded_dimensions == [5] and ch.total_change_noise > 0


def test_2016_rebuild_flagged(data):
    ch = decompose_change(data, "Hà Tĩnh", 2016, 2015)
    flags = ch.by_dimension.set_index("number")["comparable"]
    assert not flags[1] and not flags[3] and not flags[5] and flags[2] and flags[4] and flags[6]
    assert any(n.key == "an_change_2016_break" for n in ch.notes)


def test_missing_and_partial_years_give_notes(data):
    ch = decompose_change(data, "Bắc Giang", 2021)  # row missing in 2021
    assert ch.total_change is None and ch.from_year == 2020
    assert (ch.by_dimension["reason"] == "missing").all()
    assert any(n.key == "an_change_no_total" for n in ch.notes)
    ch = decompose_change(data, "Quảng Ninh", 2019, 2018)  # 2018 lacks dimensions 2 and 4
    reasons = ch.by_dimension.set_index("number")["reason"]
    assert reasons[2] == "missing" and reasons[4] == "missing"
    assert ch.by_dimension.set_index("number").at[1, "change"] is not None
    ch = decompose_change(data, "Vĩnh Phúc", 2024)
    assert ch.total_change is None and ch.to_dict()["total_change"] is None


def test_same_year_rejected(data):
    with pytest.raises(ParameterError) as e:
        decompose_change(data, "Sơn La", 2024, 2024)
    assert e.value.parameter == "comparison_year"
