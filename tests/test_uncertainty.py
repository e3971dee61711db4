"""Survey uncertainty on the real data: the unweighted 2019 intervals, their extension to other years,
rank ranges and group stability."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from papi_research.analysis.scores import scorecard, year_scores
from papi_research.analysis.uncertainty import CI_FILE, _compute, survey_se_2019, year_uncertainty
from papi_research.data import loader as data_mod
from papi_research.errors import DataValidationError


@pytest.fixture(scope="module")
def data():
    return data_mod.load_cached()


def test_2019_se_comes_from_the_unweighted_interval(data):
    """The published totals are the unweighted scores: the midpoint of the unweighted interval equals
    the total, not the weighted score; SE = (high − low)/3.92 has median ≈ 0.31."""
    raw = pd.read_csv(data.directory / CI_FILE).set_index("code")
    totals = year_scores(data, 2019).provinces["total"]
    mid = (raw["Unweighted 95% CI Low"] + raw["Unweighted 95% CI High"]) / 2
    assert (mid - totals[mid.index]).abs().max() < 1e-5
    assert (raw["Weighted PAPI Score"] - totals[raw.index]).abs().max() > 1  # the trap
    se = survey_se_2019(data)
    assert se.median() == pytest.approx(0.3107, abs=5e-4)
    assert se.min() == pytest.approx(0.188, abs=1e-3) and se.max() == pytest.approx(1.670, abs=1e-3)
    u = year_uncertainty(data, 2019)
    assert u.basis == "survey_2019"
    assert np.allclose(u.table.loc[raw.index, "ci_low"], totals[raw.index] - 1.96 * se[raw.index], atol=5e-4)


def test_every_scorecard_with_a_total_has_an_interval(data):
    for year in data.years:
        u = year_uncertainty(data, year)
        ys = year_scores(data, year)
        assert u.basis == ("survey_2019" if year == 2019 else "carried_2019" if year >= 2018 else "scaled_2019")
        for code in ys.provinces.index:
            r = u.row(code)
            total = ys.provinces.at[code, "total"]
            if pd.isna(total):
                assert r["ci_low"] is None and r["rank_range"] is None
                continue
            assert r["ci_low"] < total < r["ci_high"]
            best, worst = r["rank_range"]
            assert 1 <= best <= int(ys.provinces.at[code, "rank"]) <= worst <= ys.n_ranked
            assert 0 <= r["p_keep_group"] <= 1
    card = scorecard(data, "Sơn La", 2021).to_dict()
    assert card["ci_basis"] == "carried_2019" and "2019" in card["ci_basis_text"]["vi"]
    assert card["rank_range"][0] < card["rank"] < card["rank_range"][1]


def test_6_dimension_years_scale_the_2019_error(data):
    se19 = survey_se_2019(data)
    u = year_uncertainty(data, 2015)
    assert np.allclose(u.table["se"], se19[u.table.index] * np.sqrt(6 / 8))
    assert np.allclose(u.dim_se, u.table["se"] / np.sqrt(6))


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
    # in 2019, 18–21 provinces sit within 1.96 SE of each cut-off (42 of 63 of at least one)
    per_cut = [int(((t["ci_low"] <= c) & (c <= t["ci_high"])).sum()) for c in cut.values()]
    assert per_cut == [18, 21, 19] and sum(near) == 42
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
