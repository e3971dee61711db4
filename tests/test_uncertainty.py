"""Survey uncertainty on the real data: the unweighted 2019 intervals, their extension to other years,
rank ranges and group stability."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from papi_research.analysis.scores import scorecard, year_scores
from papi_research.analysis.uncertainty import CI_FILE, _compute, survey_se_2019, verdict_flips, year_uncertainty
from papi_research.data import loader as data_mod
from papi_research.errors import DataValidationError


@pytest.fixture(scope="module")
def data():
    return data_mod.load_cached()


def test_2019_se_comes_from_the_unweighted_interval(data):
    """The published totals are the unweighted scores: the midpoint of the unweighted interval equals
    the total, not the weighted score. The workbook's "95%" pairs are ±1.645 SE (the weighted pair is
    exactly 3.2899 × its standard error wide), so SE = (high − low)/3.29: median ≈ 0.37."""
    raw = pd.read_csv(data.directory / CI_FILE).set_index("code")
    totals = year_scores(data, 2019).provinces["total"]
    mid = (raw["Unweighted 95% CI Low"] + raw["Unweighted 95% CI High"]) / 2
    assert (mid - totals[mid.index]).abs().max() < 1e-5
    assert (raw["Weighted PAPI Score"] - totals[raw.index]).abs().max() > 1  # the trap
    ratio = (raw["PAPI 95% CI High"] - raw["PAPI 95% CI Low"]) / raw["PAPI Standard Error"]
    assert np.allclose(ratio, 2 * 1.645, atol=1e-3)  # the convention the unweighted pair is read with
    se = survey_se_2019(data)
    assert se.median() == pytest.approx(0.3701, abs=5e-4)
    assert se.min() == pytest.approx(0.2238, abs=1e-3) and se.max() == pytest.approx(1.9898, abs=1e-3)
    u = year_uncertainty(data, 2019)
    assert u.basis == "survey_2019"
    assert np.allclose(u.table.loc[raw.index, "ci_low"], totals[raw.index] - 1.96 * se[raw.index], atol=5e-4)


def test_dong_thap_2019_interval_is_a_true_95_percent_interval(data):
    """Done-when of issue 21: the 95 % interval is 2 × 1.96 × (unweighted width / 3.29) wide."""
    raw = pd.read_csv(data.directory / CI_FILE).set_index("code")
    code = data.provinces.lookup("Đồng Tháp").code
    width = raw.at[code, "Unweighted 95% CI High"] - raw.at[code, "Unweighted 95% CI Low"]
    card = scorecard(data, "Đồng Tháp", 2019).to_dict()
    assert card["ci_high"] - card["ci_low"] == pytest.approx(2 * 1.96 * width / 3.29, rel=1e-3)
    assert card["ci_level"] == 0.95


def test_every_scorecard_with_a_total_has_an_interval(data):
    for year in data.years:
        u = year_uncertainty(data, year)
        ys = year_scores(data, year)
        assert u.basis == ("survey_2019" if year == 2019 else "national_2019" if year >= 2018
                           else "national_2019_scaled")
        for code in ys.provinces.index:
            r = u.row(code)
            total = ys.provinces.at[code, "total"]
            if pd.isna(total):
                assert r["ci_low"] is None and r["rank_range"] is None and r["region_rank_range"] is None
                continue
            assert r["ci_low"] < total < r["ci_high"]
            best, worst = r["rank_range"]
            assert 1 <= best <= int(ys.provinces.at[code, "rank"]) <= worst <= ys.n_ranked
            rb, rw = r["region_rank_range"]
            assert 1 <= rb <= int(ys.provinces.at[code, "region_rank"]) <= rw \
                <= int(ys.provinces.at[code, "n_region_ranked"])
            assert 0 <= r["p_keep_group"] <= 1 and 0 < r["p_region_rank"] <= 1
    card = scorecard(data, "Sơn La", 2021).to_dict()
    assert card["ci_basis"] == "national_2019" and "2019" in card["ci_basis_text"]["vi"]
    assert "chỉ có khoảng tin cậy cho năm 2019" in card["ci_basis_text"]["vi"]
    assert "holds intervals for 2019 only" in card["ci_basis_text"]["en"]
    assert card["rank_range"][0] < card["rank"] < card["rank_range"][1]


def test_son_la_2021_no_longer_carries_its_2019_noise(data):
    """Sơn La's 2019 SE (1.99, the largest, 5.4× the median) is the sensitivity, not the rule: under
    the national median its 2021 rank range is a dozen places, not 14–60."""
    se19 = survey_se_2019(data)
    code = data.provinces.lookup("Sơn La").code
    assert se19[code] == se19.max() and se19[code] / se19.median() == pytest.approx(5.4, abs=0.05)
    card = scorecard(data, "Sơn La", 2021).to_dict()
    assert card["se"] == pytest.approx(se19.median())
    assert card["margin"] == pytest.approx(1.96 * se19.median(), abs=1e-3)
    best, worst = card["rank_range"]
    assert worst - best <= 15 and best > 40
    sens = card["ci_sensitivity"]
    assert sens["basis"] == "carried_2019" and sens["se"] == pytest.approx(se19[code])
    assert sens["rank_range"][1] - sens["rank_range"][0] > 40
    flips = {(f["kind"], f["item"]): (f["verdict_national"], f["verdict_own"]) for f in sens["flips"]}
    # the total's fall from 2020 and four dimensions below the median are verdicts only the rule decides
    assert flips[("total_change", "total")] == ("below", "on_par")
    assert {k[1] for k in flips if k[0] == "dimension"} == {"D2", "D4", "D6", "D8"}


def test_verdict_flips_are_exactly_the_disagreements(data):
    """Every listed flip has its difference inside one margin and outside the other; 2019 has none."""
    assert verdict_flips(data, 2019).empty
    f = verdict_flips(data, 2021)
    assert len(f) > 0
    small = f[["margin_national", "margin_own"]].min(axis=1)
    large = f[["margin_national", "margin_own"]].max(axis=1)
    assert ((f["difference"].abs() > small) & (f["difference"].abs() <= large)).all()
    # the dimension margins are the total's over √8, the sub-dimensions' the dimension's over √(parts)
    d = f[f["kind"] == "dimension"]
    se = survey_se_2019(data).median()
    assert np.allclose(d["margin_national"], 1.96 * se / np.sqrt(8), atol=1e-3)


def test_dong_thap_2021_regional_rank_has_a_range(data):
    """2nd of 13 in the Mekong Delta, 0.23 ahead of An Giang: about an even chance of 2nd."""
    card = scorecard(data, "Đồng Tháp", 2021).to_dict()
    assert card["region_rank"] == 2
    best, worst = card["region_rank_range"]
    assert best <= 2 <= worst and worst - best >= 1
    assert 0.3 < card["p_region_rank"] < 0.7
    lo, hi = card["ci_low"], card["ci_high"]
    assert (round(lo, 2), round(hi, 2)) == (41.71, 43.16)


def test_6_dimension_years_scale_the_2019_error(data):
    se19 = survey_se_2019(data)
    u = year_uncertainty(data, 2015)
    assert np.allclose(u.table["se"], se19.median() * np.sqrt(6 / 8))
    assert np.allclose(u.dim_se, u.table["se"] / np.sqrt(6))
    own = year_uncertainty(data, 2015, "own")
    assert own.basis == "scaled_2019"
    assert np.allclose(own.table["se"], se19[own.table.index] * np.sqrt(6 / 8))


def test_simulation_is_seeded_and_sensible(data):
    a = _compute(data, 2019)
    b = _compute(data, 2019)
    pd.testing.assert_frame_equal(a.table, b.table)
    t = a.table
    # the best-ranked province with a narrow interval keeps its group; somebody near a cut-off does not
    assert t["p_keep_group"].max() == 1.0 and t["p_keep_group"].min() < 0.6
    cut = year_scores(data, 2019).cutoffs["total"]
    near = [any(lo <= c <= hi for c in cut.values()) for lo, hi in zip(t["ci_low"], t["ci_high"])]
    assert t["near_cutoff"].astype(bool).tolist() == near
    # in 2019, 23–24 provinces sit within 1.96 SE of each cut-off (46 of 63 of at least one)
    per_cut = [int(((t["ci_low"] <= c) & (c <= t["ci_high"])).sum()) for c in cut.values()]
    assert per_cut == [23, 24, 23] and sum(near) == 46
    # a province whose interval holds a cut-off is less sure of its group than one whose interval does not
    assert t.loc[t["near_cutoff"].astype(bool), "p_keep_group"].mean() < t.loc[~t["near_cutoff"].astype(bool),
                                                                               "p_keep_group"].mean()


def test_broken_interval_file_is_one_clear_error(data, tmp_path):
    dst = tmp_path / "papi"
    shutil.copytree(data.directory, dst)
    path = dst / CI_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[6], cells[7] = cells[7], cells[6]  # low and high swapped on row 4
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = data_mod.load(dst)
    with pytest.raises(DataValidationError) as e:
        survey_se_2019(broken)
    assert "CI_FILE" not in str(e.value) and CI_FILE in str(e.value) and "row 4" in str(e.value)
