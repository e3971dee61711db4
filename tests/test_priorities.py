"""Priorities: deterministic, every component visible, rank gains exact, agencies and peers sound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papi_research.analysis.drivers import drivers_report
from papi_research.analysis.priorities import WEIGHTS, lead_agencies
from papi_research.analysis.scores import rank_desc, year_scores
from papi_research.data.loader import load_cached
from papi_research.data.text import lookup_key


@pytest.fixture(scope="module")
def data():
    return load_cached()


@pytest.fixture(scope="module")
def son_la(data):
    return drivers_report(data, "Sơn La", 2024)


def test_deterministic(data, son_la):
    again = drivers_report(data, "Sơn La", 2024)
    pd.testing.assert_frame_equal(son_la.priorities.table, again.priorities.table)
    assert son_la.priorities.lines == again.priorities.lines


def test_components_visible_and_summed(son_la):
    tb = son_la.priorities.table
    for k in WEIGHTS:
        assert f"c_{k}" in tb and f"w_{k}" in tb
    scored = tb[tb["priority"].notna()]
    w = scored[[f"w_{k}" for k in WEIGHTS]].sum(axis=1)
    assert np.allclose(w, scored["priority"])
    below = scored[scored["below_reference"]]
    rest = scored[~scored["below_reference"]]
    assert list(scored["code"]) == list(below["code"]) + list(rest["code"])  # below the reference level first
    for part in (below, rest):
        assert list(part["priority"]) == sorted(part["priority"], reverse=True)
    ref = np.fmax(scored["national_median"].astype(float), scored["target_level"].astype(float))
    assert (scored["below_reference"] == (scored["score"] < ref)).all()
    assert len(scored) == len(year_scores(load_cached(), 2024).structure)


def test_rank_gain_is_brute_force(data, son_la):
    ys = year_scores(data, 2024)
    totals = ys.provinces["total"]
    for r in son_la.priorities.table.to_dict("records"):
        if r["gap_to_median"] > 0:
            s = totals.copy()
            s["P09"] = totals["P09"] + r["gap_to_median"]
            assert r["rank_gain_at_median"] == int(rank_desc(totals)["P09"]) - int(rank_desc(s)["P09"])
        else:
            assert r["rank_gain_at_median"] == 0


def test_lines(data, son_la):
    lines = son_la.priorities.lines
    assert 3 <= len(lines) <= 5
    ys = year_scores(data, 2024)
    for line in lines:
        for key in ("code", "dimension", "label_vi", "label_en", "score", "national_median", "gap_to_median",
                    "trend", "rank_gain_at_median", "learn_from", "lead_agency", "sentence_vi", "sentence_en"):
            assert key in line
        assert line["lead_agency"]["suggested"] and line["lead_agency"]["vi"].startswith(("Sở", "Văn phòng",
                                                                                        "Thanh tra", "Công an",
                                                                                        "UBND"))
        col = ys.subdimensions[line["code"]]
        p75 = np.percentile(col.dropna(), 75)
        assert 2 <= len(line["learn_from"]) <= 3 and "P09" not in line["learn_from"]
        assert all(col[c] >= p75 for c in line["learn_from"])
        assert line["label_vi"] in line["sentence_vi"] and line["label_en"] in line["sentence_en"]


def test_learn_from_prefers_same_region(data, son_la):
    region = {p.code: p.region_en for p in data.provinces}
    ys = year_scores(data, 2024)
    for line in son_la.priorities.lines:
        col = ys.subdimensions[line["code"]].drop("P09").dropna()
        p75 = np.percentile(ys.subdimensions[line["code"]].dropna(), 75)
        same = [c for c in col.index if col[c] >= p75 and region[c] == region["P09"]]
        picked_same = [c for c in line["learn_from"] if region[c] == region["P09"]]
        assert len(picked_same) == min(len(same), 3)
        assert line["learn_from"][:len(picked_same)] == picked_same


def test_lead_agencies_cover_every_label(data):
    table = lead_agencies()
    for y in data.years:
        for lab in data.codebook.table(y)["label_en"]:
            assert lookup_key(lab) in table, (y, lab)


@pytest.mark.parametrize("province,year", [("Quảng Ninh", 2018), ("Bắc Giang", 2021), ("Vĩnh Phúc", 2024)])
def test_missing_or_partial_gives_notes(data, province, year):
    r = drivers_report(data, province, year)
    keys = {n.key for n in r.notes.items}
    assert {"an_status_partial", "an_status_missing"} & keys
    if r.status == "partial":  # present sub-dimensions are still scored, without rank gains
        tb = r.priorities.table[r.priorities.table["priority"].notna()]
        assert len(tb) > 0 and tb["rank_gain_at_median"].isna().all()
        assert "an_priority_no_rank_gain" in keys
    else:
        assert r.priorities.lines == [] and "an_priority_no_scores" in keys


def test_stability_is_a_share_and_recomputed_by_brute_force(data):
    """Each line's stability is the share of seeded random weightings keeping it in the top k, in [0, 1];
    recomputed here one weighting at a time with the table's own ordering rule."""
    from papi_research.analysis.priorities import FRAGILE, N_WEIGHTINGS, WEIGHT_SEED
    rep = drivers_report(data, "Sơn La", 2021)
    lines = rep.priorities.lines
    assert all(0.0 <= ln["stability"] <= 1.0 for ln in lines)
    assert lines[0]["stability"] == 1.0 and min(ln["stability"] for ln in lines) < 0.8
    scored = rep.priorities.table[rep.priorities.table["priority"].notna()]
    comp = scored[[f"c_{k}" for k in WEIGHTS]].astype(float).fillna(0.0).to_numpy()
    w = np.random.default_rng(WEIGHT_SEED).dirichlet(np.ones(len(WEIGHTS)), size=N_WEIGHTINGS) * sum(WEIGHTS.values())
    k = len(lines)
    hits = dict.fromkeys(scored["code"], 0)
    for wi in w[:400]:  # a slice is enough to check the arithmetic
        p = comp @ wi
        order = sorted(range(len(scored)), key=lambda i: (not scored["below_reference"].iloc[i], -p[i],
                                                          scored["code"].iloc[i]))
        for i in order[:k]:
            hits[scored["code"].iloc[i]] += 1
    from papi_research.analysis.priorities import stability
    part = stability(scored, k, n=400)
    for c, h in hits.items():
        assert part[c] == pytest.approx(h / 400)
    fragile = [ln["code"] for ln in lines if ln["stability"] < FRAGILE]
    assert any(n.key == "an_priority_fragile" for n in rep.priorities.notes) == bool(fragile)


def test_every_priority_line_has_stability(data):
    for province, year in [("Hưng Yên", 2019), ("Đồng Tháp", 2021), ("Hà Tĩnh", 2015), ("Bắc Ninh", 2022)]:
        for ln in drivers_report(data, province, year).priorities.lines:
            assert 0.0 <= ln["stability"] <= 1.0, (province, year, ln["code"])
