"""`papi run --units 2025` and `papi run --national`: planning (no kernel), parameter errors, index rows."""

from __future__ import annotations

import json

import pytest

from papi_research.errors import ParameterError
from papi_research.pipeline.plan import RunOptions, plan_run
from papi_research.render.site import collect


def plan(tmp_path, **kw):
    return plan_run(RunOptions(out=tmp_path, formats=("html",), **kw))


def test_units_plan_covers_the_34_with_their_notebook(tmp_path):
    p = plan(tmp_path, all=True, year=2024, units="2025")
    assert len(p.jobs) == 34 and p.notebook.name == "unit_briefing.ipynb"
    job = next(j for j in p.jobs if j.slug == "dong-thap")
    assert job.key == "2024/units-2025/dong-thap/vi" and job.action == "run"  # no estimate: the briefing says why
    assert job.parameters == {"province": "Đồng Tháp", "year": 2024, "lang": "vi", "target": None,
                              "data_dir": None, "units": "2025"}
    assert job.spec.rel_dir == "2024/units-2025/dong-thap" and job.spec.stem == "dong-thap-2024.vi"
    # a former province's name finds its new province; a region picks the new provinces of that region
    assert [j.slug for j in plan(tmp_path, provinces=("Tiền Giang",), units="2025").jobs] == ["dong-thap"]
    mekong = plan(tmp_path, region="Mekong River Delta", units="2025", year=2024).jobs
    # the new Tây Ninh counts in the Mekong Delta: Long An (1,490.6 thousand) outnumbers Tây Ninh (1,118.8) in 2016
    assert {j.slug for j in mekong} == {"dong-thap", "vinh-long", "an-giang", "can-tho", "ca-mau", "tay-ninh"}


def test_national_plan_one_job_per_language(tmp_path):
    p = plan(tmp_path, national=True, year=2024, langs=("vi", "en"))
    assert [j.key for j in p.jobs] == ["2024/national/vi", "2024/national/en"]
    assert p.notebook.name == "national_overview.ipynb"
    assert p.jobs[1].parameters == {"year": 2024, "lang": "en", "data_dir": None, "map_dimension": None}
    assert p.jobs[0].spec.stem == "vietnam-2024.vi" and p.jobs[0].province_code == "VN"
    assert plan(tmp_path, national=True, year=2024, map_dimension=7).jobs[0].parameters["map_dimension"] == 7


@pytest.mark.parametrize("kw,parameter", [
    (dict(national=True, provinces=("Sơn La",)), "national"),
    (dict(national=True, units="2025"), "national"),
    (dict(national=True, comparison_year=2023), "comparison-year"),
    (dict(units="2025"), "PROVINCE"),
    (dict(national=True, year=2015, map_dimension=7), "map-dimension"),
    (dict(all=True, map_dimension=3), "map-dimension"),
])
def test_bad_combinations_are_one_clear_error(tmp_path, kw, parameter):
    with pytest.raises(ParameterError) as exc:
        plan(tmp_path, **kw)
    assert parameter in str(exc.value)


def test_index_rows_for_new_provinces_and_the_country(tmp_path, monkeypatch):
    """The index reads the records of the executed notebooks, with no data folder: a new province's row
    (its estimate, rank among the 34) and the national row (the country, no total), and the maps of
    the national briefing."""
    from conftest import png_figure, scoped_record, synthetic_notebook
    from test_site import no_data_folder

    from papi_research.briefing.display import figure_bundle
    unit, nat = scoped_record("unit", "vi"), scoped_record("national", "en")
    maps = [figure_bundle(__import__("base64").b64decode(png_figure(k)), label, f"caption {label}", f"Map {label}")
            for k, label in enumerate(("fig-map", "fig-map-34"))]
    synthetic_notebook(tmp_path / "u.ipynb", record=unit)
    synthetic_notebook(tmp_path / "n.ipynb", record=nat, extra_outputs=maps)
    runs = [{"key": "2024/units-2025/hung-yen/vi", "province_code": "33", "slug": "hung-yen", "year": 2024,
             "lang": "vi", "status": "ok", "outputs": {"ipynb": "u.ipynb"},
             "parameters": {"province": "Hưng Yên", "year": 2024, "units": "2025", "data_dir": None},
             "inputs": {}, "versions": {}},
            {"key": "2024/national/en", "province_code": "VN", "slug": "vietnam", "year": 2024, "lang": "en",
             "status": "ok", "outputs": {"ipynb": "n.ipynb"},
             "parameters": {"year": 2024, "lang": "en", "data_dir": None}, "inputs": {}, "versions": {}}]
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": 1, "runs": runs}), encoding="utf-8")
    no_data_folder(monkeypatch)
    site = collect(tmp_path)
    rows = {r.key: r for r in site.rows}
    hy = rows["2024/units-2025/hung-yen/vi"]
    assert hy.kind == "unit" and hy.rank == 8 and hy.n_ranked == 32 and hy.total_vi == "44,61"  # Phú Thọ partial: not ranked
    assert hy.name_vi == "Hưng Yên" and hy.region_en == "Red River Delta"
    nat = rows["2024/national/en"]
    assert nat.kind == "national" and nat.name_en == "Vietnam" and nat.total is None and nat.rank is None
    assert [(m["lang"], m["label"], m["alt"]) for m in site.maps] == [("en", "fig-map", "Map fig-map"),
                                                                      ("en", "fig-map-34", "Map fig-map-34")]
    runs[0]["parameters"].pop("units")  # the manifest says a province of the 63, the record a new province
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": 1, "runs": runs}), encoding="utf-8")
    site = collect(tmp_path)  # left out of the index and named (issue 24), the others listed
    assert "2024/units-2025/hung-yen/vi" not in {r.key for r in site.rows} and len(site.rows) == len(runs) - 1
    assert len(site.skipped) == 1 and "does not match its notebook's record (33 2024, unit_briefing)" in site.skipped[0]
