"""`papi drivers`: the JSON contract, readable text in both languages, clear errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from papi_research.cli import main


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def hung_yen(runner):
    res = runner.invoke(main, ["drivers", "Hưng Yên", "--year", "2019", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_json_contract(hung_yen):
    d = hung_yen
    ch = d["change"]
    assert (ch["from_year"], ch["to_year"]) == (2018, 2019)
    assert ch["total_change"] == pytest.approx(sum(x["change"] for x in ch["by_dimension"]), abs=1e-9)
    assert {"number", "change"} <= set(ch["by_dimension"][0])
    assert 3 <= len(d["priorities"]) <= 5
    for p in d["priorities"]:
        assert {"code", "dimension", "label_vi", "label_en", "score", "national_median", "gap_to_median", "trend",
                "rank_gain_at_median", "learn_from", "lead_agency", "sentence_vi", "sentence_en"} <= set(p)
        assert all(c.startswith("P") for c in p["learn_from"])
    t = d["target"]
    assert {"kind", "needed_points", "path", "rank_after"} <= set(t)
    assert t["kind"] == "group" and t["needed_points"] > 0
    names = {m["name"] for m in d["models"]}
    assert {"context:total", "momentum:total", "pci:2011-2017:D2,D4,D6"} <= names
    for m in d["models"]:
        assert {"name", "n", "years", "r2", "coefficients"} <= set(m)
        for c in m["coefficients"]:
            assert {"term", "estimate", "se", "ci_low", "ci_high", "p"} <= set(c)
    assert d["province"]["code"] == "P21"


def test_text_son_la(runner):
    res = runner.invoke(main, ["drivers", "Sơn La", "--target", "group:high_average"])
    assert res.exit_code == 0, res.output
    assert "Sơn La (P09)" in res.output and "Nội dung thành phần cần ưu tiên" in res.output
    assert "Đề xuất giao" in res.output
    en = runner.invoke(main, ["drivers", "Son La", "--target", "group:best", "--lang", "en"])
    assert en.exit_code == 0 and "An illustrative allocation" in en.output and "Rank:" in en.output


@pytest.mark.parametrize("args,what", [(["--target", "group:top"], "target"), (["--year", "2030"], "year"),
                                       (["--target", "top:99"], "target")])
def test_bad_parameters(runner, args, what):
    res = runner.invoke(main, ["drivers", "Sơn La", *args])
    assert res.exit_code == 2
    assert f"Invalid parameter {what}" in res.output


def test_unknown_province(runner):
    res = runner.invoke(main, ["drivers", "Son Laa"])
    assert res.exit_code == 2 and "Sơn La" in res.output


@pytest.mark.parametrize("province,year", [("Vĩnh Phúc", "2024"), ("Bắc Giang", "2021"), ("Quảng Ninh", "2018")])
def test_missing_years_do_not_crash(runner, province, year):
    res = runner.invoke(main, ["drivers", province, "--year", year, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["status"] in ("missing", "partial")
    assert d["target"]["needed_points"] is None
    assert any(n["key"].startswith("an_status_") for n in d["notes"])
    text = runner.invoke(main, ["drivers", province, "--year", year, "--lang", "en"])
    assert text.exit_code == 0 and "Official status" in text.output
