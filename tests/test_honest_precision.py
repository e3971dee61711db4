"""Issue 21 on the words of the briefing: Sơn La 2021 and Đồng Tháp 2021 (one build each, English
and Vietnamese), checked for the figures the second round of honest precision changed."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from papi_research.briefing.province import build
from papi_research.data.loader import load_cached


@pytest.fixture(scope="module")
def data():
    return load_cached()


@pytest.fixture(scope="module")
def son_la(data):
    return {lang: build("Sơn La", 2021, lang=lang, data=data) for lang in ("en", "vi")}


@pytest.fixture(scope="module")
def dong_thap(data):
    return {lang: build("Đồng Tháp", 2021, lang=lang, data=data) for lang in ("en", "vi")}


def test_rank_change_is_counted_among_provinces_ranked_both_years(son_la, dong_thap):
    en = son_la["en"].text()
    assert "Among the 60 provinces ranked in both years, the rank fell by 8 places (from 42 to 50)" in en
    assert "45 of 63 → 50 of 60" in en  # the published ranks stay beside it
    assert "the rank fell by 26 places (from 1 to 27)" in dong_thap["en"].text()
    assert "Trong số 60 tỉnh, thành phố được xếp hạng ở cả hai năm, thứ hạng giảm 8 bậc" in son_la["vi"].text()


def test_profile_is_not_on_par_everywhere(son_la):
    """With Sơn La's 2019 noise carried, all eight dimensions read "on par" beside six in the bottom
    group; under the national median SE the profile separates them."""
    en = son_la["en"].text()
    m = re.search(r"the province's dimensions: (\d+) above, (\d+) on par and (\d+) below", en)
    assert m and int(m.group(2)) < 8 and int(m.group(3)) >= 4


def test_no_trend_from_three_years(dong_thap):
    """Đồng Tháp's 2021 total had a trend of −1.414 [−49.239, +46.411] from 3 years: no longer."""
    for lang, b in dong_thap.items():
        text = b.text()
        assert "49.239" not in text and "49,239" not in text
        row = b.report.models.trend.table.set_index("outcome").loc["total"]
        assert pd.isna(row["slope"]) and row["no_trend"] == "too_few_years" and row["n"] == 3


def test_regional_rank_range_and_sensitivity_are_worded(son_la, dong_thap):
    en = dong_thap["en"].text()
    assert re.search(r"chance of holding exactly place 2 in the region is about \d+%; the plausible regional "
                     r"rank \(95%\) runs from 2 to \d", en)
    vi = son_la["vi"].text()
    assert "Dữ liệu dùng ở đây chỉ có khoảng tin cậy cho năm 2019" in vi
    assert "PAPI chỉ công bố" not in vi
    assert re.search(r"Với sai số chuẩn năm 2019 của chính tỉnh \(±3,90 điểm thay vì ±0,73 điểm\), 14 nhận định", vi)
    assert "A dimension's margin is the total's divided by √8 (±0.26 points)" in son_la["en"].text()
