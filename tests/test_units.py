"""The 34 provinces since 1 July 2025: membership, population-weighted estimates, ranks, regional ranks.

The totals are recomputed by hand from the raw CSVs in ../shared (PAPI yearly file, yearbook population,
join_34.csv), not from the library."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from papi_research.analysis.scores import scorecard
from papi_research.analysis.units import MIN_COVERAGE, load_units, unit_scorecard, unit_year_scores
from papi_research.data.loader import load_cached
from papi_research.data.paths import find_companion_dir, find_geo_dir, find_papi_dir, resource_file
from papi_research.errors import DataValidationError

PAPI = [sys.executable, "-m", "papi_research"]


def papi_json(*args):
    r = subprocess.run([*PAPI, *args, "--json"], capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def hand_population(year: int) -> dict[str, float]:
    rows = _rows(find_companion_dir() / "gso_covariates_2005_2016_long.csv")
    return {r["code"]: float(r["value"]) for r in rows if r["variable"] == "population" and int(r["year"]) == year}


def test_membership_agrees_with_the_merger_reference():
    data = load_cached()
    units = load_units(data)
    assert len(units) == 34 and sorted(m for u in units for m in u.members) == data.provinces.codes
    merger = {r["code"]: r["merged_into_vi"] for r in _rows(resource_file("reference", "merger_2025.csv"))}
    join63 = {r["code"]: r["name34"] for r in _rows(find_geo_dir() / "join_63.csv")}
    for u in units:
        for m in u.members:
            assert merger[m] == u.name_vi == join63[m]
    assert units.lookup("Tiền Giang", data.provinces).code == "82"  # a former name finds its new province
    assert units.lookup("ho chi minh city").members == ("P47", "P49", "P50")


def test_membership_mismatch_is_one_clear_error(tmp_path, monkeypatch):
    geo = tmp_path / "geo"
    shutil.copytree(find_geo_dir(), geo)
    text = (geo / "join_63.csv").read_text(encoding="utf-8")
    # move Tiền Giang (P52) into Vĩnh Long in join_63 only
    (geo / "join_63.csv").write_text(text.replace("P52,Tiền Giang,Tien Giang,82,VN-46,Tiền Giang,normalised-name,82,Đồng Tháp",
                                                  "P52,Tiền Giang,Tien Giang,82,VN-46,Tiền Giang,normalised-name,86,Vĩnh Long"),
                                     encoding="utf-8")
    assert (geo / "join_63.csv").read_text(encoding="utf-8") != text
    with pytest.raises(DataValidationError) as exc:
        load_units(load_cached(), geo_dir=geo)
    assert "join_63.csv" in str(exc.value) and "P52" in str(exc.value) and "code34" in str(exc.value)


def test_2024_totals_are_population_weighted_means_recomputed_from_the_csvs():
    cards = papi_json("scores", "--units", "2025", "--all", "--year", "2024")
    assert len(cards) == 34
    # by hand: complete rows of 2024.csv (all 8 dimensions → every SC column of the year filled)
    rows = _rows(find_papi_dir() / "2024.csv")
    used_cols = [c for c in rows[0] if c.startswith("SC") and any(r[c].strip() for r in rows)]
    totals = {r["Province"]: sum(float(r[c]) for c in used_cols) for r in rows
              if all(r[c].strip() for c in used_cols)}
    assert len(totals) == 61
    pop = hand_population(2016)  # the yearbook year nearest 2024
    join = {r["code34"]: r["members_papi"].split("+") for r in _rows(find_geo_dir() / "join_34.csv")}
    checked = 0
    for card in cards:
        members = join[card["province"]["code"]]
        assert [c["code"] for c in card["components"]] == members
        have = [m for m in members if m in totals]
        share = sum(pop[m] for m in have) / sum(pop[m] for m in members)
        assert card["estimate"] is True and "not a PAPI figure" in card["estimate_note"]
        assert "2016" in card["weight_source"] and card["population_year"] == 2016
        if share < MIN_COVERAGE:
            assert card["total"] is None and card["rank"] is None
            continue
        expected = sum(pop[m] * totals[m] for m in have) / sum(pop[m] for m in have)
        assert card["total"] == pytest.approx(expected, abs=1e-9)
        for c in card["components"]:
            if c["code"] in have:
                assert c["weight"] == pytest.approx(pop[c["code"]] / sum(pop[m] for m in have))
                assert c["total"] == pytest.approx(totals[c["code"]])
            else:
                assert c["weight"] == 0 and c["used"] is False and c["missing_reason"]
        assert sum(c["weight"] for c in card["components"]) == pytest.approx(1.0)
        checked += 1
    assert checked == 33
    # a partial estimate (Phú Thọ without Vĩnh Phúc: 67.5 % of its population) is not ranked as if whole
    partial = [c for c in cards if c["total"] is not None and c["partial"]]
    assert [c["province"]["name_vi"] for c in partial] == ["Phú Thọ"]
    assert partial[0]["rank"] is None and partial[0]["group"] is None and partial[0]["p_keep_group"] is None
    assert partial[0]["rank_range_basis"] == "if_whole_missing_resampled"
    assert partial[0]["rank_range"][1] - partial[0]["rank_range"][0] > 10  # Vĩnh Phúc's score is unknown
    assert partial[0]["coverage"] == pytest.approx(0.675, abs=1e-3)
    ranked = sorted((c for c in cards if c["total"] is not None and not c["partial"]), key=lambda c: -c["total"])
    assert [c["rank"] for c in ranked] == list(range(1, 33)) and all(c["n_ranked"] == 32 for c in ranked)
    # issue 21 point 8: every estimate with a total carries its interval; the whole ones a rank range
    for c in cards:
        if c["total"] is None:
            continue
        assert c["ci_low"] < c["total"] < c["ci_high"] and c["se"] > 0
        assert 1 <= c["rank_range"][0] <= c["rank_range"][1] <= 33
        if not c["partial"]:
            best, worst = c["rank_range"]
            assert 1 <= best <= c["rank"] <= worst <= 32


def test_rule_for_members_without_data_2024():
    data = load_cached()
    # Tiền Giang (P52) unpublished in 2024 and holds 50.8% of the new Đồng Tháp: no estimate
    dt = unit_scorecard(data, "Đồng Tháp", 2024)
    assert dt.total is None and dt.status == "missing" and dt.coverage < MIN_COVERAGE
    assert dt.previous["year"] == 2023
    # Vĩnh Phúc (P17) unpublished: the new Phú Thọ is estimated from Hòa Bình and Phú Thọ, and says so
    pt = unit_scorecard(data, "Phú Thọ", 2024)
    assert pt.total is not None and pt.left_out() == ["P17"] and pt.coverage > MIN_COVERAGE
    # an unchanged province keeps its own figures, ranked among the 34
    sl = unit_scorecard(data, "Sơn La", 2024)
    assert sl.total == scorecard(data, "Sơn La", 2024).total and sl.ys.n_ranked == 32
    assert pt.partial and pt.rank is None and not sl.partial


def test_estimate_se_is_the_weighted_root_sum_of_squares():
    """SE of an estimate = √Σ wᵢ² SEᵢ² over the former provinces used (independent surveys); an
    unchanged province keeps its own interval."""
    import numpy as np
    from papi_research.analysis.uncertainty import year_uncertainty
    data = load_cached()
    u = year_uncertainty(data, 2019)
    hn = unit_scorecard(data, "79", 2019)  # TP. Hồ Chí Minh: three former provinces
    comp = hn.components()
    se = np.sqrt(sum((w * u.table.at[c, "se"]) ** 2 for c, w in zip(comp["code"], comp["weight"])))
    card = hn.to_dict()
    assert card["se"] == pytest.approx(se) and card["ci_high"] - card["ci_low"] == pytest.approx(2 * 1.959964 * se)
    sl = unit_scorecard(data, "Sơn La", 2019).to_dict()
    own = scorecard(data, "Sơn La", 2019).to_dict()
    assert (sl["ci_low"], sl["ci_high"]) == pytest.approx((own["ci_low"], own["ci_high"]))


def test_groups_among_the_34_follow_the_year_tie_rule():
    data = load_cached()
    uy = unit_year_scores(data, 2024)
    counts = uy.ys.group_counts()
    assert sum(counts.values()) == 32 and uy.ys.rule.tie_rule == "strictly_above"  # Phú Thọ partial, unranked
    uy19 = unit_year_scores(data, 2019)
    assert uy19.ys.rule.tie_rule == "at_or_above" and uy19.population_year == 2016
    assert unit_year_scores(data, 2012).population_year == 2015


def test_regional_rank_dong_thap_2021():
    d = papi_json("scores", "Đồng Tháp", "--year", "2021")
    assert d["rank"] == 27 and d["region_rank"] == 2 and d["n_region_ranked"] == 13
    u = papi_json("scores", "Hưng Yên", "--units", "2025", "--year", "2024")
    assert u["units"] == "2025" and u["region_rank"] is not None and u["n_region_ranked"] >= u["region_rank"]
