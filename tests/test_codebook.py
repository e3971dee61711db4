"""Era-aware codebook: regimes, structure by year, comparability."""

from __future__ import annotations

import pytest

from papi_research.data.codebook import comparable_dimensions, dimensions, regime_of
from papi_research.data.loader import load_cached
from papi_research.errors import ParameterError


@pytest.fixture(scope="module")
def cb():
    return load_cached().codebook


def test_regimes():
    assert (regime_of(2017).n_dimensions, regime_of(2017).total_max) == (6, 60)
    assert (regime_of(2018).n_dimensions, regime_of(2018).total_max) == (8, 80)
    with pytest.raises(ParameterError):
        regime_of(2009)


def test_structure_by_year(cb):
    assert cb.structure(2011)[2] == ["SC21", "SC22", "SC23"]
    assert cb.structure(2018)[2] == ["SC21", "SC22", "SC23", "SC24"]
    assert cb.structure(2018)[8] == ["SC81", "SC82"]
    assert cb.structure(2019)[8] == ["SC81", "SC82", "SC83"]
    assert cb.structure(2020) == cb.structure(2019)
    assert cb.structure(2021)[5] == ["SC51", "SC53", "SC54"]
    assert cb.structure(2024) == cb.structure(2021)
    assert 7 not in cb.structure(2017)


def test_labels(cb):
    assert cb.label(2015, "SC21") == "Poverty Lists"
    assert cb.label(2019, "SC21") == "Access to Information"
    assert cb.label(2024, "SC83", "vi") == "Phúc đáp qua cổng thông tin điện tử"
    with pytest.raises(KeyError):
        cb.label(2024, "SC52")


def test_dimension_names_official_vietnamese():
    d = dimensions()
    assert d[1].name_vi == "Tham gia của người dân ở cấp cơ sở"
    assert d[2].name_vi == "Công khai, minh bạch trong việc ra quyết định ở địa phương"
    assert d[8].name_vi == "Quản trị điện tử" and d[7].first_year == 2018


def test_comparable_dimensions():
    assert comparable_dimensions(2019, 2024) == list(range(1, 9))
    assert comparable_dimensions(2013, 2017) == [2, 4, 6]
    assert comparable_dimensions(2016, 2017) == list(range(1, 7))
    assert comparable_dimensions(2017, 2018) == [1, 4, 5, 6]
    assert comparable_dimensions(2015, 2019) == [4, 6]


def test_comparability_follows_the_official_labels():
    """Across the 2017/2018 break a dimension is comparable exactly when its official sub-dimension
    labels carried over (2 gained Access to Information, 3 replaced two of three); inside the 2018+
    regime the rebuilt dimensions are 8 (2018→2019) and 5 (2020→2021)."""
    from papi_research.data.loader import load_cached
    cb = load_cached().codebook
    for a in range(2016, 2018):
        for b in range(2018, 2025):
            labels_same = [d for d in range(1, 7) if cb.same_construct(a, b, d)]
            # from 2021 dimension 5 is comparable by level but rebuilt (Construction Permits dropped)
            rebuilt = [5] if b >= 2021 else []
            assert comparable_dimensions(a, b) == sorted(labels_same + rebuilt), (a, b)
            assert cb.rebuilt_dimensions(a, b) == rebuilt
    assert not cb.same_construct(2017, 2018, 2) and not cb.same_construct(2017, 2018, 3)
    assert cb.same_construct(2017, 2018, 1)  # "Quality of Elections" renamed "Quality of Local Elections"
    assert cb.rebuilt_dimensions(2018, 2019) == [8]
    assert cb.rebuilt_dimensions(2020, 2021) == [5]
    assert cb.rebuilt_dimensions(2021, 2024) == [] and cb.rebuilt_dimensions(2016, 2017) == []


def test_source_label_typo_is_corrected_and_the_original_kept(cb):
    # labels_official_2011_2019.csv spells SC83 (2019) "E-Reponsiveness"; the briefings print the corrected label
    for year in (2019, 2021, 2024):
        assert cb.label(year, "SC83", "en") == "E-Responsiveness"
    row = cb.labels[(cb.labels["year"] == 2019) & (cb.labels["code"] == "SC83")].iloc[0]
    assert row["label_en_source"] == "E-Reponsiveness" and row["label_en"] == "E-Responsiveness"
    assert not (cb.labels["label_en"] == "E-Reponsiveness").any()
