"""The data layer on the real PAPI files, and one broken copy per validation rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from papi_research.data import loader as data_mod
from papi_research.data.paths import find_papi_dir
from papi_research.errors import DataNotFoundError, DataValidationError

REAL = find_papi_dir()


@pytest.fixture(scope="module")
def papi():
    return data_mod.load()


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    """A writable copy of the real data directory, to break on purpose."""
    dst = tmp_path / "papi"
    shutil.copytree(REAL, dst)
    return dst


def _edit_cell(path: Path, province: str, column: str, value: str) -> int:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = int(df.index[df["Province"] == province][0])
    df.loc[i, column] = value
    df.to_csv(path, index=False)
    return i + 2  # file row (header is row 1)


def test_years_and_panel_shape(papi):
    assert papi.years == list(range(2011, 2025))
    assert set(papi.panel.columns) >= {"year", "code", "dimension", "subcode", "label_vi", "label_en", "score"}
    # every published cell became one row; 2011 transparency has three sub-dimensions (SC24 absent)
    assert not ((papi.panel["year"] == 2011) & (papi.panel["subcode"] == "SC24")).any()
    # from 2021 construction permits (SC52) is gone; SC83 starts in 2019
    assert not ((papi.panel["year"] >= 2021) & (papi.panel["subcode"] == "SC52")).any()
    assert not ((papi.panel["year"] == 2018) & (papi.panel["subcode"] == "SC83")).any()
    assert ((papi.panel["year"] == 2019) & (papi.panel["subcode"] == "SC83")).sum() == 63


def test_labels_follow_the_year(papi):
    p = papi.panel
    ht = p[(p["year"] == 2015) & (p["code"] == "P28") & (p["dimension"] == 2)]
    assert ht["label_en"].tolist() == ["Poverty Lists", "Communal Budget and Expenditure", "Land-Use Plans/Price Frames"]
    sc21_2019 = p[(p["year"] == 2019) & (p["subcode"] == "SC21")]["label_en"].unique().tolist()
    assert sc21_2019 == ["Access to Information"]
    assert p[(p["year"] == 2016) & (p["subcode"] == "SC32")]["label_vi"].iloc[0] == "Đáp ứng kiến nghị của người dân"


def test_sub_dimension_maximum_by_year(papi):
    p = papi.panel
    assert p[(p["year"] == 2021) & (p["dimension"] == 5)]["max"].round(6).unique().tolist() == [3.333333]
    assert p[(p["year"] == 2020) & (p["dimension"] == 5)]["max"].unique().tolist() == [2.5]
    assert p[(p["year"] == 2018) & (p["dimension"] == 8)]["max"].unique().tolist() == [5.0]
    assert (p["score"] <= p["max"] + 1e-9).all() and (p["score"] > 0).all()


def test_gaps_carry_official_reasons(papi):
    gaps = {(int(y), c) for y, c in papi.gaps[["year", "code"]].itertuples(index=False)}
    assert {(2014, "P15"), (2014, "P56"), (2021, "P14"), (2023, "P47"), (2024, "P17"), (2024, "P52")} <= gaps
    assert "không đủ dữ liệu" in papi.gap_reason(2021, "P14")
    assert papi.gap_reason(2019, "P09") is None


def test_version_changes_with_data(papi, broken):
    assert data_mod.load(broken).version == papi.version
    _edit_cell(broken / "2024.csv", "P09", "SC11", "1.0")
    assert data_mod.load(broken).version != papi.version


def test_not_found_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPI_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError) as e:
        data_mod.load(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(e.value) and "PAPI_DATA_DIR" in str(e.value)


def test_env_var_is_used(monkeypatch, broken):
    monkeypatch.setenv("PAPI_DATA_DIR", str(broken))
    assert find_papi_dir() == broken.resolve()


# --- one broken-data case per validation rule -------------------------------------------------

def test_unknown_province_code(broken):
    df = pd.read_csv(broken / "2019.csv", dtype=str, keep_default_na=False)
    df.loc[4, "Province"] = "P99"
    df.to_csv(broken / "2019.csv", index=False)
    with pytest.raises(DataValidationError) as e:
        data_mod.load(broken, strict=True)
    err = e.value
    assert err.file.endswith("2019.csv") and err.row == 6 and err.column == "Province" and err.value == "P99"
    assert "unknown province code" in str(err)


def test_duplicated_province(broken):
    df = pd.read_csv(broken / "2016.csv", dtype=str, keep_default_na=False)
    df.loc[10, "Province"] = "P01"
    df.to_csv(broken / "2016.csv", index=False)
    with pytest.raises(DataValidationError, match="listed twice") as e:
        data_mod.load(broken, strict=True)
    assert e.value.row == 12 and e.value.value == "P01" and e.value.file.endswith("2016.csv")


def test_non_numeric_cell(broken):
    row = _edit_cell(broken / "2022.csv", "P09", "SC43", "1,23")
    with pytest.raises(DataValidationError, match="not a number") as e:
        data_mod.load(broken, strict=True)
    assert (e.value.row, e.value.column, e.value.value) == (row, "SC43", "1,23")


@pytest.mark.parametrize("year,column,value", [
    ("2021", "SC51", "3.40"),   # three sub-dimensions from 2021: max 3.33
    ("2015", "SC21", "3.50"),   # 2011–2017 transparency had three: max 3.33
    ("2018", "SC81", "0"),      # minimum is above 0
    ("2019", "SC11", "-0.5"),
])
def test_score_outside_its_range(broken, year, column, value):
    row = _edit_cell(broken / f"{year}.csv", "P09", column, value)
    with pytest.raises(DataValidationError, match="score outside") as e:
        data_mod.load(broken, strict=True)
    assert (e.value.row, e.value.column, e.value.value) == (row, column, value)


def test_position_absent_that_year(broken):
    row = _edit_cell(broken / "2022.csv", "P09", "SC52", "2.0")  # SC52 dropped from 2021
    with pytest.raises(DataValidationError, match="no sub-dimension in this position") as e:
        data_mod.load(broken, strict=True)
    assert (e.value.row, e.value.column) == (row, "SC52")


def test_missing_required_file(broken):
    (broken / "labels_official_2011_2019.csv").unlink()
    with pytest.raises(DataValidationError, match="required file is missing") as e:
        data_mod.load(broken, strict=True)
    assert e.value.file.endswith("labels_official_2011_2019.csv")


def test_missing_required_column(broken):
    df = pd.read_csv(broken / "provinces.csv", dtype=str)
    df.drop(columns=["region_vi"]).to_csv(broken / "provinces.csv", index=False)
    with pytest.raises(DataValidationError, match="region_vi") as e:
        data_mod.load(broken, strict=True)
    assert e.value.column == "region_vi" and e.value.file.endswith("provinces.csv")


def test_unexpected_column(broken):
    df = pd.read_csv(broken / "2020.csv", dtype=str, keep_default_na=False)
    df["SC99"] = ""
    df.to_csv(broken / "2020.csv", index=False)
    with pytest.raises(DataValidationError, match="unexpected column") as e:
        data_mod.load(broken, strict=True)
    assert e.value.column == "SC99"


def test_gap_file_unknown_code(broken):
    df = pd.read_csv(broken / "missing_official_status.csv", dtype=str, keep_default_na=False)
    df.loc[0, "code"] = "P77"
    df.to_csv(broken / "missing_official_status.csv", index=False)
    with pytest.raises(DataValidationError, match="unknown province code") as e:
        data_mod.load(broken, strict=True)
    assert (e.value.row, e.value.column, e.value.value) == (2, "code", "P77")


def test_labels_file_bad_year(broken):
    df = pd.read_csv(broken / "labels_official_2011_2019.csv", dtype=str, keep_default_na=False)
    df.loc[3, "year"] = "20x1"
    df.to_csv(broken / "labels_official_2011_2019.csv", index=False)
    with pytest.raises(DataValidationError, match="not an integer") as e:
        data_mod.load(broken, strict=True)
    assert (e.value.row, e.value.column, e.value.value) == (5, "year", "20x1")
