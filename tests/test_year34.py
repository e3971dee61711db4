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
                 ("scores", "Hưng Yên", "--year", "2024", "--units", "2025", "--json")):
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
