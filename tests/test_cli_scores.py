"""The scorecard commands of the `papi` CLI, end to end (subprocess, real data)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PAPI = [sys.executable, "-m", "papi_research"]


def run(*args, check=True):
    r = subprocess.run([*PAPI, *args], capture_output=True, text=True, encoding="utf-8")
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_help_lists_commands():
    out = run("--help").stdout
    for cmd in ("provinces", "data", "scores"):
        assert cmd in out


def test_provinces_lists_63():
    lines = [l for l in run("provinces").stdout.splitlines() if l.strip()]
    assert len(lines) == 63 and "Sơn La" in lines[8]


def test_scores_json_son_la_2021():
    d = json.loads(run("scores", "Sơn La", "--year", "2021", "--json").stdout)
    for key in ("province", "year", "status", "total", "total_max", "rank", "n_ranked", "group", "previous",
                "dimensions", "subdimensions", "missing_reason"):
        assert key in d
    assert d["province"]["slug"] == "son-la" and d["province"]["region_vi"] == "Trung du và miền núi phía Bắc"
    assert d["total_max"] == 80 and d["n_ranked"] == 60 and d["status"] == "complete"
    assert d["total"] == pytest.approx(sum(x["score"] for x in d["dimensions"]))
    assert d["total"] == pytest.approx(sum(x["score"] for x in d["subdimensions"]))
    assert len(d["dimensions"]) == 8 and len(d["subdimensions"]) == 28  # 2021: dimension 5 has three
    assert d["previous"]["year"] == 2020
    assert {"number", "name_vi", "name_en", "score", "rank", "group", "national_median", "national_best"} <= set(d["dimensions"][0])


def test_scores_all_2023_json():
    arr = json.loads(run("scores", "--all", "--year", "2023", "--json").stdout)
    assert len(arr) == 63
    missing = sorted(x["province"]["code"] for x in arr if x["status"] == "missing")
    assert missing == ["P14", "P47"]
    groups = [x["group"] for x in arr if x["group"]]
    assert [groups.count(g) for g in ("best", "high_average", "low_average", "poor")] == [15, 15, 15, 16]
    dt = next(x for x in arr if x["province"]["code"] == "P56")
    assert isinstance(dt["rank"], int) and dt["n_ranked"] == 61


def test_scores_text_vietnamese_decimal_comma():
    out = run("scores", "Đồng Tháp", "--year", "2021").stdout
    assert "42,43/80" in out and "27/60" in out
    out_en = run("scores", "Đồng Tháp", "--year", "2021", "--lang", "en").stdout
    assert "42.43/80" in out_en and "27 of 60" in out_en


def test_unknown_province_is_one_clear_error():
    r = run("scores", "Son Laa", check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "Unknown province 'Son Laa'" in r.stderr and "Sơn La (P09)" in r.stderr


def test_year_without_data():
    r = run("scores", "Sơn La", "--year", "2009", check=False)
    assert r.returncode == 2 and "year" in r.stderr and "Traceback" not in r.stderr


def test_data_check_lists_gaps():
    out = run("data", "check").stdout
    assert "2014 P15 Bắc Giang" in out and "2024 P52 Tiền Giang" in out and "OK: all files valid." in out


def test_data_check_broken_dir(tmp_path):
    import shutil

    from papi_research.data.paths import find_papi_dir
    shutil.copytree(find_papi_dir(), tmp_path / "papi")
    p = tmp_path / "papi" / "2012.csv"
    p.write_text(p.read_text().replace("P05,", "P05x,", 1))
    r = run("data", "check", "--data-dir", str(tmp_path / "papi"), check=False)
    assert r.returncode == 2 and "2012.csv" in r.stderr and "P05x" in r.stderr and "column Province" in r.stderr


def test_partial_year_prints_whole_ranks_and_the_status_in_the_readers_language():
    out = run("scores", "Đồng Tháp", "--year", "2018", "--lang", "vi").stdout
    assert "26/63" in out and "26.0/63" not in out and "nan" not in out
    status = next(line for line in out.splitlines() if line.startswith("Tình trạng"))
    assert "không tìm thấy lý do được công bố" in status and "no reason published" not in status
    en = run("scores", "Đồng Tháp", "--year", "2018", "--lang", "en").stdout
    assert "26 of 63" in en and "no published reason was found" in en
