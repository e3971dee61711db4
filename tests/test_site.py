"""site: the index of briefings built from a real reports folder (manifest + rendered briefings)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from conftest import make_reports

from papi_research.cli import main
from papi_research.errors import DataNotFoundError, DataValidationError
from papi_research.render.site import build_site, collect

SPECS = [("Sơn La", 2024, "vi"), ("Sơn La", 2024, "en"), ("Đồng Tháp", 2021, "vi"), ("Vĩnh Phúc", 2024, "vi")]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = make_reports(tmp_path_factory.mktemp("reports"), SPECS, render_formats=("html",),
                       failed=[("Hà Tĩnh", 2015, "en")])
    build_site(out)
    return out


def test_rows_carry_exact_scores_links_and_status(reports):
    rows = {r.key: r for r in collect(reports).rows}
    assert set(rows) == {"2024/son-la/vi", "2024/son-la/en", "2021/dong-thap/vi", "2024/vinh-phuc/vi",
                         "2015/ha-tinh/en"}
    dt = rows["2021/dong-thap/vi"]
    assert (dt.total_vi, dt.total_en, dt.rank, dt.n_ranked, dt.group) == ("42,43", "42.43", 27, 60, "high_average")
    assert dt.html == "2021/dong-thap/dong-thap-2021.vi.html" and dt.pdf is None  # only HTML was rendered
    vp = rows["2024/vinh-phuc/vi"]
    assert vp.total is None and vp.rank is None and vp.group is None  # officially not published in 2024
    assert rows["2015/ha-tinh/en"].status == "failed" and rows["2015/ha-tinh/en"].html is None
    assert [r.key for r in collect(reports).rows][:2] == ["2024/son-la/vi", "2024/son-la/en"]


def test_index_is_vietnamese_offline_and_links_resolve(reports):
    html = (reports / "index.html").read_text(encoding="utf-8")
    assert '<html lang="vi">' in html and "<h1 data-t=\"rd_site_title\">Báo cáo tóm tắt PAPI cấp tỉnh</h1>" in html
    assert 'data-vi="42,43/80"' in html and 'data-en="42.43/80"' in html and ">27/60<" in html
    assert 'data-en="Dong Thap"' in html and "lỗi khi tạo" in html and "không xếp hạng" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the index must work offline"
    for href in re.findall(r'href="([^"#]+)"', html):
        assert (reports / href).is_file(), href
    assert len(re.findall(r'<tr data-key=', html)) == 5
    words = json.loads(re.search(r"var W = (\{.*?\});\n", html).group(1))
    assert words["rd_site_title"]["en"] == "PAPI provincial briefings"


def test_index_is_deterministic(reports):
    first = (reports / "index.html").read_bytes()
    build_site(reports)
    assert (reports / "index.html").read_bytes() == first
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]


def test_bad_manifests_give_clear_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        build_site(tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="no manifest.json"):
        build_site(tmp_path)
    (tmp_path / "manifest.json").write_text('{"schema": 2, "runs": []}')
    with pytest.raises(DataValidationError, match="schema"):
        build_site(tmp_path)
    (tmp_path / "manifest.json").write_text('{"schema": 1, "runs": [{"key": "2024/son-la/vi", "province_code": "P09", "slug": "son-la"}]}')
    with pytest.raises(DataValidationError, match=r"no 'year'.*row 0, column year"):
        build_site(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": 1, "runs": [
        {"key": "2024/x/vi", "province_code": "P99", "slug": "x", "year": 2024, "lang": "fr", "status": "ok",
         "parameters": {}, "inputs": {}, "versions": {}, "outputs": {}}]}))
    with pytest.raises(DataValidationError, match=r"language must be one of vi, en.*row 0, column lang"):
        build_site(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": 1, "runs": [
        {"key": "2024/x/vi", "province_code": "P99", "slug": "x", "year": 2024, "lang": "vi", "status": "ok",
         "parameters": {}, "inputs": {}, "versions": {}, "outputs": {}}]}))
    # a run whose notebook is gone is left out and named; the index lists the others (issue 24)
    site = collect(tmp_path)
    assert site.rows == [] and len(site.skipped) == 1
    assert re.match(r"2024/x/vi: run '2024/x/vi' has no executed notebook", site.skipped[0])
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataValidationError, match="not valid JSON"):
        build_site(tmp_path)
    assert not (tmp_path / "index.html").exists()


def test_empty_manifest_gives_an_empty_index(tmp_path):
    (tmp_path / "manifest.json").write_text('{"schema": 1, "runs": []}')
    html = build_site(tmp_path).read_text(encoding="utf-8")
    assert "Chưa có báo cáo nào" in html and "<table" not in html


def test_cli_site(reports):
    res = CliRunner().invoke(main, ["site", "--out", str(reports)])
    assert res.exit_code == 0 and "index.html (5 briefings)" in res.output
    res = CliRunner().invoke(main, ["site", "--out", str(reports / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output


def no_data_folder(monkeypatch):
    """Make any attempt to read the PAPI data fail loudly: rendering and the site read only notebooks."""
    import papi_research.data.loader as data_mod

    def refuse(*args, **kwargs):
        raise AssertionError("the data folder was read")
    monkeypatch.setenv("PAPI_DATA_DIR", "/nonexistent/papi-data")
    monkeypatch.setattr(data_mod, "load_cached", refuse)
    monkeypatch.setattr(data_mod, "load", refuse, raising=False)


def test_site_reads_the_records_not_the_data(reports, monkeypatch, tmp_path):
    """The executed notebook is the record: the index is built with no data folder at all."""
    import shutil
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)
    no_data_folder(monkeypatch)
    rows = {r.key: r for r in collect(copy).rows}
    dt = rows["2021/dong-thap/vi"]
    assert (dt.total_vi, dt.rank, dt.n_ranked, dt.group, dt.name_vi, dt.region_en) == (
        "42,43", 27, 60, "high_average", "Đồng Tháp", "Mekong River Delta")
    assert build_site(copy).read_text(encoding="utf-8") == (reports / "index.html").read_text(encoding="utf-8")


def test_a_run_that_does_not_match_its_notebook_is_left_out_and_named(reports, tmp_path):
    import shutil
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["runs"][0]["year"] = 2019
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    site = collect(copy)
    assert len(site.rows) == len(manifest["runs"]) - 1 and len(site.skipped) == 1
    assert "does not match its notebook's record (P09 2024, province_briefing)" in site.skipped[0]


def test_site_lists_what_it_can_and_names_edited_or_cut_short_briefings(reports, tmp_path):
    """Issue 24: a briefing edited after papi run published it (the manifest's SHA-256 differs) and a
    notebook cut short are left out, each named with what to do; the index lists the others."""
    import hashlib
    import shutil
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for run in manifest["runs"]:
        run["hashes"] = {k: hashlib.sha256((copy / v).read_bytes()).hexdigest() for k, v in run["outputs"].items()}
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    edited, cut = manifest["runs"][0], manifest["runs"][1]
    path = copy / edited["outputs"]["ipynb"]
    path.write_text(path.read_text(encoding="utf-8").replace('"rank": ', '"rank": 1, "was": '), encoding="utf-8")
    path = copy / cut["outputs"]["ipynb"]
    path.write_bytes(path.read_bytes()[:2000])
    res = CliRunner().invoke(main, ["site", "--out", str(copy)])
    assert res.exit_code == 0, res.output
    assert f"({len(manifest['runs']) - 2} briefings)" in res.output
    assert f"skipped {edited['key']}: {edited['outputs']['ipynb']} differs from what papi run published (damaged or " \
           f"edited); run papi run again to repair it" in res.output
    assert f"skipped {cut['key']}: " in res.output
    html = (copy / "index.html").read_text(encoding="utf-8")
    assert edited["outputs"]["html"] not in html and cut["outputs"]["html"] not in html
