"""Companion panels: tidy keyed frames from the real files; clear errors on broken copies."""

from __future__ import annotations

import shutil

import pytest

from papi_research.data.companion import baseline_context, load_companion
from papi_research.data.loader import load_cached
from papi_research.data.paths import find_companion_dir
from papi_research.errors import DataValidationError


@pytest.fixture(scope="module")
def data():
    return load_cached()


@pytest.fixture(scope="module")
def comp(data):
    return load_companion(data.provinces)


def test_keyed_frames(comp, data):
    assert not comp.pci.duplicated(["code", "year"]).any()
    assert not comp.covariates.duplicated(["code", "year", "variable"]).any()
    assert not comp.grdp.duplicated(["code", "year"]).any()
    codes = set(data.provinces.codes)
    for df in (comp.pci, comp.covariates, comp.grdp):
        assert set(df["code"]) <= codes
    assert comp.pci.groupby("year").size().loc[2011:2019].eq(63).all()
    # Ha Noi's published PCI 2019 (weighted) is about 68.8
    hn = comp.pci[(comp.pci["code"] == "P01") & (comp.pci["year"] == 2019)]["pci_weighted"].iloc[0]
    assert 60 < hn < 75


def test_ha_tay_kept_out_on_purpose(comp):
    ex = comp.excluded
    assert len(ex[ex["file"] == "pci_2005_2019.csv"]) == 4  # 2005–2008
    assert ex["code"].str.contains("Ha Tay").all()
    assert (ex["file"] == "gso_covariates_2005_2016_long.csv").sum() == 4


def test_baseline_context_says_what_was_carried(comp, data):
    base = baseline_context(comp, 2017, data.provinces.codes)
    carried = {(v, used): n for v, wanted, used, n in base.carried}
    assert carried[("population", 2016)] == 63
    assert carried[("grdp", 2016)] == 1  # one province lacks GRDP 2017
    assert base.frame["log_grdp_per_head"].notna().all()
    assert (base.frame["year_income"] == 2016).all()
    b10 = baseline_context(comp, 2010, data.provinces.codes)
    assert (b10.frame["year_income"] == 2010).all() and (b10.frame["year_population"] == 2015).all()


def _copy(tmp_path):
    src = find_companion_dir()
    dst = tmp_path / "companion"
    shutil.copytree(src, dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_missing_file(tmp_path, data):
    d = _copy(tmp_path)
    (d / "grdp_1992_2017_bn_vnd.csv").unlink()
    with pytest.raises(DataValidationError) as e:
        load_companion(data.provinces, companion_dir=d)
    assert e.value.file.endswith("grdp_1992_2017_bn_vnd.csv")


def test_missing_column(tmp_path, data):
    d = _copy(tmp_path)
    _edit(d / "pci_2005_2019.csv", "pci_weighted", "pci_w")
    with pytest.raises(DataValidationError) as e:
        load_companion(data.provinces, companion_dir=d)
    assert e.value.column == "pci_weighted" and e.value.row == 1


def test_unknown_province_code(tmp_path, data):
    d = _copy(tmp_path)
    _edit(d / "gso_covariates_2005_2016_long.csv", "\nP09,", "\nP99,")
    with pytest.raises(DataValidationError) as e:
        load_companion(data.provinces, companion_dir=d)
    assert e.value.column == "code" and e.value.value == "P99" and e.value.row > 1
    assert "unknown province code" in str(e.value)


def test_non_numeric_value(tmp_path, data):
    d = _copy(tmp_path)
    path = d / "pci_2005_2019.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("2019,P09,"))
    cells = lines[i].split(",")
    cells[3] = "abc"
    lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as e:
        load_companion(data.provinces, companion_dir=d)
    assert (e.value.row, e.value.column, e.value.value) == (i + 1, "pci_weighted", "abc")
