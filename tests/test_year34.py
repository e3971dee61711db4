"""A PAPI year on the 34 provinces (issue 22): a synthetic 2025.csv built from the real 2024 data in a
temporary copy of the data folder (``tests/year34.py``), broken year files, and cache keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from papi_research.cli import main
from papi_research.data.hashing import files_for, files_version
from papi_research.data.loader import load

from year34 import PAPI, copy_data, write_year34


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def with2025(tmp_path_factory) -> Path:
    folder = copy_data(tmp_path_factory.mktemp("y34"))
    write_year34(folder)
    return folder


def test_a_34_year_scores_among_the_34(with2025):
    code, out, err = cli("scores", "--all", "--year", "2025", "--json", "--data-dir", str(with2025))
    assert code == 0, err
    cards = json.loads(out)
    assert len(cards) == 34
    assert sorted(c["rank"] for c in cards) == list(range(1, 35))
    assert all(c["n_ranked"] == 34 and c["estimate"] is False for c in cards)
    code, out, err = cli("scores", "Hưng Yên", "--year", "2025", "--json", "--data-dir", str(with2025))
    card = json.loads(out)
    assert card["province"]["code"] == "33" and card["province"]["members"] == ["P21", "P22"]  # + Thái Bình
    assert card["previous"]["year"] == 2024 and card["previous"]["estimate"] is True
    code, out, _ = cli("scores", "Hưng Yên", "--year", "2025", "--lang", "en", "--data-dir", str(with2025))
    assert "estimate from the former provinces" in out and "PAPI's own figures" in out
    code, out, _ = cli("scores", "Hưng Yên", "--year", "2019", "--json", "--data-dir", str(with2025))
    assert json.loads(out)["province"]["code"] == "P21"  # the old Hưng Yên in 2019


def test_provinces_of_a_34_year_and_data_check(with2025):
    code, out, err = cli("provinces", "--year", "2025", "--json", "--data-dir", str(with2025))
    assert code == 0, err
    assert len(json.loads(out)) == 34
    code, out, err = cli("data", "check", "--data-dir", str(with2025))
    assert code == 0, err
    assert "Years on the 34 provinces" in out and "OK: all files valid." in out


def test_names_resolve_to_codes_and_mixing_is_an_error(tmp_path):
    folder = copy_data(tmp_path)
    write_year34(folder, names=True)
    data = load(folder)
    assert data.years34 == [2025] and set(data.panel34["code"]) == set(data.new_provinces.codes)
    lines = (folder / "2025.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = "P01" + lines[2][lines[2].index(","):]
    (folder / "2025.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = cli("data", "check", "--data-dir", str(folder))
    assert code == 2 and "2025.csv" in err and "a year file is on one set" in err


def test_adding_2025_leaves_earlier_years_and_their_keys_as_they_were(with2025):
    before = load(PAPI)
    after = load(with2025)
    assert after.version == before.version
    for year in (2011, 2019, 2024):
        assert files_version(files_for(with2025, year)) == files_version(files_for(PAPI, year))
    assert "2025.csv" in files_for(with2025, 2025) and "2025.csv" not in files_for(with2025, 2024)
    for args in (("scores", "Sơn La", "--year", "2024", "--json"), ("scores", "--all", "--year", "2019", "--json"),
                 ("scores", "Hưng Yên", "--year", "2024", "--units", "2025", "--json"),
                 ("drivers", "Sơn La", "--year", "2024", "--json")):
        assert cli(*args, "--data-dir", str(PAPI))[1] == cli(*args, "--data-dir", str(with2025))[1]


def test_a_broken_2026_blocks_only_itself(with2025, tmp_path):
    folder = tmp_path / "papi"
    shutil.copytree(with2025, folder)
    (folder / "2026.csv").write_text("Province;SC11\n01;1\n", encoding="utf-8")
    code, out, err = cli("data", "check", "--data-dir", str(folder))
    assert code == 2 and "2026.csv" in err and "semicolons" in err
    for year in ("2011", "2024", "2025"):
        code, out, err = cli("scores", "Hưng Yên", "--year", year, "--json", "--data-dir", str(folder))
        assert code == 0 and "2026.csv" in err and json.loads(out)["year"] == int(year)
    code, _, err = cli("provinces", "--data-dir", str(folder))
    assert code == 0
    code, out, err = cli("run", "Sơn La", "--year", "2021", "--dry-run", "--out", str(tmp_path / "reports"),
                         "--data-dir", str(folder))
    assert code == 0 and "2021/son-la/vi" in out and err.count("2026.csv") == 1, err
    code, _, err = cli("scores", "Hưng Yên", "--year", "2026", "--data-dir", str(folder))
    assert code == 2 and "2026.csv" in err and "Traceback" not in err


def test_gap_table_accepts_the_34_and_suggests_a_code_for_a_name(tmp_path):
    folder = copy_data(tmp_path)
    write_year34(folder)
    gaps = folder / "missing_official_status.csv"
    text = gaps.read_text(encoding="utf-8")
    gaps.write_text(text.rstrip("\n") + "\n2025,33,Hung Yen,all blank,not published,none,none,test\n", encoding="utf-8")
    assert load(folder).gap_reason(2025, "33") is not None
    gaps.write_text(text.rstrip("\n") + "\n2019,Sơn La,Son La,all blank,not published,none,none,test\n", encoding="utf-8")
    code, _, err = cli("data", "check", "--data-dir", str(folder))
    assert code == 2 and "write P09" in err


def test_drivers_of_a_new_province_in_a_34_year(with2025):
    code, out, err = cli("drivers", "Hưng Yên", "--year", "2025", "--json", "--data-dir", str(with2025))
    assert code == 0, err
    r = json.loads(out)
    assert r["province"]["code"] == "33" and r["n_ranked"] == 34 and r["models"] is None
    ch = r["change"]
    assert ch["from_year"] == 2024 and ch["before_is_estimate"] is True
    assert abs(sum(d["change"] for d in ch["dimensions"]) - ch["total_change"]) < 1e-9  # exact by dimension
    assert {n["key"] for n in r["notes"]} == {"y34_drivers", "y34_against_estimate"}
    assert r["target"]["n_ranked"] == 34
    code, out, _ = cli("drivers", "Hưng Yên", "--year", "2025", "--lang", "en", "--data-dir", str(with2025))
    assert code == 0 and "fitted on the 63-province panel" in out and "is an estimate" in out


@pytest.mark.parametrize("how, words", [
    ("drop_sc83", ["required column 'SC83' is missing", "2025.csv"]),
    ("semicolons", ["semicolons", "2025.csv"]),
    ("na", ["missing marker", "leave the cell empty", "2025.csv"]),
    ("header_only", ["header but no rows", "2025.csv"]),
    ("unknown_name", ["unknown province code or name", "did you mean", "2025.csv"]),
    ("missing_rows", ["no official reason recorded", "missing_official_status.csv", "33 Hưng Yên"]),
])
def test_a_bad_2025_names_itself_and_blocks_only_2025(tmp_path, how, words):
    folder = copy_data(tmp_path)
    path = write_year34(folder)
    lines = path.read_text(encoding="utf-8").splitlines()
    if how == "drop_sc83":
        lines = [",".join(r.split(",")[:-1]) for r in lines]
    elif how == "semicolons":
        lines = [r.replace(",", ";") for r in lines]
    elif how == "na":
        cells = lines[5].split(",")
        cells[3] = "NA"
        lines[5] = ",".join(cells)
    elif how == "header_only":
        lines = lines[:1]
    elif how == "unknown_name":
        lines[1] = "Ha Noii" + lines[1][lines[1].index(","):]
    elif how == "missing_rows":
        lines = [r for r in lines if not r.startswith("33,")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = cli("data", "check", "--data-dir", str(folder))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    code, out, err = cli("scores", "Sơn La", "--year", "2024", "--json", "--data-dir", str(folder))
    assert code == 0 and json.loads(out)["year"] == 2024 and "2025.csv" in err


@pytest.mark.slow
def test_run_national_and_site_on_a_34_year(with2025, tmp_path):
    out = tmp_path / "reports"
    for args in (("run", "Hưng Yên", "--year", "2025"), ("run", "--national", "--year", "2025")):
        code, _, err = cli(*args, "--format", "html", "-j", "1", "--out", str(out), "--data-dir", str(with2025))
        assert code == 0, err
    import nbformat

    from papi_research.render.prepare import read_record
    unit = out / "2025" / "units-2025" / "hung-yen" / "hung-yen-2025.vi.ipynb"
    rec = read_record(nbformat.read(unit, as_version=4), unit)
    assert rec["official"] is True and rec["n_ranked"] == 34 and rec["comparison_year"] == 2024
    html = (out / "2025" / "units-2025" / "hung-yen" / "hung-yen-2025.vi.html").read_text(encoding="utf-8")
    assert "Số liệu năm 2024 của Hưng Yên là ước tính" in html  # the change is against an estimate, said so
    assert "Tổng điểm ước tính" not in html  # the 2025 figure is PAPI's own
    brief = html[html.index("Tóm tắt cho lãnh đạo"):html.index("Kết quả chung") if "Kết quả chung" in html else None]
    assert "Đây là số ước tính" not in brief and "vị trí ước tính" not in brief  # nor in the action brief
    assert "Số liệu năm 2024 của Hưng Yên là ước tính" in brief
    nat = (out / "2025" / "national" / "vietnam-2025.vi.html").read_text(encoding="utf-8")
    assert 'id="fig-map"' in nat and "34 tỉnh, thành phố từ ngày 01/7/2025" in nat
    code, stdout, err = cli("site", "--out", str(out))
    assert code == 0 and "(2 briefings)" in stdout, err


@pytest.mark.slow
def test_adding_2025_leaves_a_cached_2021_briefing_cached(tmp_path):
    folder = copy_data(tmp_path)
    out = tmp_path / "reports"
    args = ("run", "Sơn La", "--year", "2021", "--format", "ipynb", "-j", "1", "--out", str(out),
            "--data-dir", str(folder))
    code, _, err = cli(*args)
    assert code == 0, err
    write_year34(folder)
    code, stdout, err = cli(*args, "--dry-run", "--json")
    assert code == 0, err
    assert [j["action"] for j in json.loads(stdout)["jobs"]] == ["cached"]
    (folder / "2024.csv").write_bytes((folder / "2024.csv").read_bytes() + b"\n")  # a file it reads
    code, stdout, err = cli(*args, "--dry-run", "--json")
    assert [j["action"] for j in json.loads(stdout)["jobs"]] == ["run"]


def test_names_as_papi_writes_them_resolve_and_a_former_province_is_named(tmp_path):
    folder = copy_data(tmp_path)
    path = write_year34(folder)
    lines = path.read_text(encoding="utf-8").splitlines()
    swap = {"79": "Thành phố Hồ Chí Minh", "46": "Thừa Thiên Huế", "01": "Ha Noi"}  # Huế kept its boundaries
    lines = [swap[r[:2]] + r[2:] if r[:2] in swap else r for r in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load(folder)
    assert data.years34 == [2025] and {"79", "46", "01"} <= set(data.panel34["code"])
    lines = [("Thái Bình" + r[2:]) if r.startswith("33,") else r for r in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = cli("data", "check", "--data-dir", str(folder))
    assert code == 2 and "P22 Thái Bình" in err and "part of 33 Hưng Yên" in err
