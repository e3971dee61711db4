"""Tests of the batch runner: validation, plan, skipped provinces, failures, cache, manifest, Dask, the real notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from papi_research.cli import main
from papi_research.data.loader import load
from papi_research.data.manifest import RunRecord, parse_manifest
from papi_research.data.paths import project_dir
from papi_research.errors import DataValidationError, ParameterError, UnknownProvinceError
from papi_research.pipeline import manifest as mf
from papi_research.pipeline.plan import NOTEBOOK_PARAMETERS, RunOptions, default_notebook, notebook_parameters, plan_run
from papi_research.pipeline.run import run

PARAMETERS_CELL = ('province = "Sơn La"\nyear = None             # None: the latest year with data\n'
                   'comparison_year = None  # None: the latest earlier year of the same regime with a total\n'
                   'lang = "vi"\ntarget = "group:high_average"\ndata_dir = None\n')
FAILING_PROVINCE = "Cao Bằng"  # the test notebook raises for it


def make_notebook(path: Path, extra: str = "") -> Path:
    """A small briefing-like notebook: real data, a figure, and an injected failure for Cao Bằng."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell(PARAMETERS_CELL)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell("# test briefing"),
        params,
        new_code_cell("from papi_research.data.loader import load_cached\nfrom papi_research.analysis.scores import scorecard\n"
                      "card = scorecard(load_cached(data_dir), province, year)\n"
                      "print(card.province.slug, card.year, lang, card.status, card.total)"),
        new_code_cell(f'if province == "{FAILING_PROVINCE}":\n    raise RuntimeError("injected failure")'),
        new_code_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
                      "ax.bar(['total'], [card.total or 0])\nplt.show()"),
        new_code_cell(extra or "None"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def data():
    return load()


@pytest.fixture(scope="module")
def test_nb(tmp_path_factory) -> Path:
    return make_notebook(tmp_path_factory.mktemp("nb") / "test_briefing.ipynb")


def opts(nb: Path, out: Path, **kw) -> RunOptions:
    base = dict(notebook=nb, out=out, formats=("ipynb",), jobs=2)
    base.update(kw)
    return RunOptions(**base)


# ---------------------------------------------------------------- the notebook contract

def test_runner_parameters_match_the_briefing_notebook(tmp_path, data):
    from papermill.parameterize import parameterize_notebook
    path = default_notebook()
    assert path.is_file(), f"{path} is missing"
    declared = notebook_parameters(path)
    assert set(declared) == set(NOTEBOOK_PARAMETERS)
    assert declared["year"] is None and declared["lang"] == "vi" and declared["target"] is None  # None: the next group up
    # what the runner passes for a real job is exactly that set, injected right after the parameters cell
    job = plan_run(RunOptions(provinces=("Sơn La",), year=2024, out=tmp_path, formats=("ipynb",))).jobs[0]
    assert set(job.parameters) == set(NOTEBOOK_PARAMETERS)
    from papermill.iorw import load_notebook_node
    nb = parameterize_notebook(load_notebook_node(str(path)), job.parameters)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    i = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "injected-parameters" in tags[i + 1]
    injected: dict = {}
    exec(nb.cells[i + 1].source, {}, injected)
    assert injected == job.parameters


def test_parameters_are_read_as_papermill_reads_them_without_importing_it():
    """Every committed notebook's declared parameters equal what papermill's own Python translator finds,
    and reading them imports neither papermill nor nbformat (whose jsonschema import costs about a second
    of every cached `papi run`)."""
    import ast
    import subprocess
    import sys

    from papermill.iorw import load_notebook_node
    from papermill.translators import papermill_translators
    for path in sorted((project_dir() / "notebooks").glob("*.ipynb")):
        nb = load_notebook_node(str(path))
        i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        theirs = {}
        for found in papermill_translators.find_translator("python3", "python").inspect(nb.cells[i]):
            try:
                theirs[found.name] = ast.literal_eval(found.default)
            except (ValueError, SyntaxError):
                theirs[found.name] = found.default
        assert notebook_parameters(path) == theirs, path.name
    code = ("import sys; from papi_research.pipeline.plan import default_notebook, notebook_parameters; "
            "notebook_parameters(default_notebook()); "
            "print(sorted(m for m in ('papermill', 'nbformat', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_committed_notebooks_carry_no_outputs():
    notebooks = sorted((project_dir() / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks committed"
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name} cell {i} has outputs"
                assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
        assert "papermill" not in nb.metadata, f"{path.name} is an executed notebook"


# ---------------------------------------------------------------- validation before any kernel

def test_unknown_province_is_an_error_with_suggestions(test_nb, tmp_path):
    with pytest.raises(UnknownProvinceError) as exc:
        plan_run(opts(test_nb, tmp_path, provinces=("Son Laa",)))
    assert "Sơn La" in str(exc.value)


@pytest.mark.parametrize("kw, parameter", [
    (dict(provinces=("Sơn La",), year=2030), "year"),
    (dict(provinces=("Sơn La",), langs=("fr",)), "lang"),
    (dict(provinces=("Sơn La",), formats=("odt",)), "format"),
    (dict(provinces=("Sơn La",), jobs=0), "jobs"),
    (dict(provinces=("Sơn La",), executor="spark"), "executor"),
    (dict(provinces=("Sơn La",), scheduler="tcp://x:1"), "scheduler"),
    (dict(provinces=("Sơn La",), renderer="word"), "renderer"),
    (dict(), "PROVINCE"),
    (dict(provinces=("Sơn La",), all=True), "PROVINCE"),
    (dict(provinces=("Sơn La",), comparison_year=2024, year=2024), "comparison-year"),
    # targets are checked against the year's league before any kernel starts (issue 24)
    (dict(provinces=("Sơn La",), target="top:abc"), "target"),
    (dict(provinces=("Sơn La",), target="999"), "target"),
    (dict(provinces=("Sơn La",), target="top:62"), "target"),  # 61 ranked in 2024
    (dict(provinces=("Hưng Yên",), units="2025", target="top:34", notebook=None), "target"),  # 33 of the 34 ranked in 2024
])
def test_bad_parameters_are_rejected(test_nb, tmp_path, kw, parameter):
    with pytest.raises(ParameterError) as exc:
        plan_run(opts(test_nb, tmp_path, **kw))
    assert exc.value.parameter == parameter
    assert not (tmp_path / "manifest.json").exists()


def test_notebook_must_declare_the_parameters(tmp_path):
    nb = new_notebook()
    cell = new_code_cell("province = 'Sơn La'\nyear = None")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ParameterError, match="comparison_year, lang, target, data_dir"):
        plan_run(opts(path, tmp_path, provinces=("Sơn La",)))
    nb.cells[0].metadata["tags"] = []
    nbformat.write(nb, path)
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        plan_run(opts(path, tmp_path, provinces=("Sơn La",)))


def test_plan_all_skips_provinces_without_data_with_their_official_reason(test_nb, tmp_path, data):
    plan = plan_run(opts(test_nb, tmp_path, all=True, year=2024, langs=("vi", "en")))
    assert len(plan.jobs) == 126 and plan.year == 2024
    skipped = {j.province_code for j in plan.jobs if j.action == "skipped"}
    assert skipped == {data.provinces.lookup("Vĩnh Phúc").code, data.provinces.lookup("Tiền Giang").code}
    for j in plan.jobs:
        assert j.key == f"2024/{j.slug}/{j.lang}"
        assert j.spec.rel_dir == f"2024/{j.slug}" and j.spec.stem == f"{j.slug}-2024.{j.lang}"
        assert j.slug.isascii() and " " not in j.slug
        assert set(j.parameters) == set(NOTEBOOK_PARAMETERS)
        if j.action == "skipped":
            assert j.reason == data.gap_reason(2024, j.province_code)
    # a partial row still gets a briefing: 2018 Quảng Ninh lacks dimensions 2 and 4
    plan18 = plan_run(opts(test_nb, tmp_path, provinces=("Quảng Ninh",), year=2018))
    assert [j.action for j in plan18.jobs] == ["run"]


def test_plan_region_and_latest_year(test_nb, tmp_path, data):
    plan = plan_run(opts(test_nb, tmp_path, region="Northern Midlands and Mountain Areas"))
    assert plan.year == data.latest_year
    codes = [j.province_code for j in plan.jobs]
    assert data.provinces.lookup("Sơn La").code in codes and data.provinces.lookup("Hà Nội").code not in codes


# ---------------------------------------------------------------- manifest module

def test_manifest_merge_by_key_and_atomic_write(tmp_path):
    def rec(key, status, **kw):
        return RunRecord(key=key, province_code="P09", slug="son-la", year=2024, lang="vi", parameters={},
                            inputs={"a": 1}, versions={}, status=status, **kw)
    mf.update_manifest(tmp_path, [rec("2024/son-la/vi", "failed", error="x"), rec("2024/son-la/en", "ok")])
    mf.update_manifest(tmp_path, [rec("2024/son-la/vi", "ok")])
    m = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert m["schema"] == 1
    assert [(r["key"], r["status"]) for r in m["runs"]] == [("2024/son-la/en", "ok"), ("2024/son-la/vi", "ok")]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ValueError):
        rec("k", "done")
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataValidationError, match="manifest.json"):
        parse_manifest(tmp_path / "manifest.json")  # read_manifest recovers instead (tests/test_faults.py)


# ---------------------------------------------------------------- running: failure, skip, cache, manifest

@pytest.fixture(scope="module")
def first_run(test_nb, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    summary = run(opts(test_nb, out, provinces=("Sơn La", FAILING_PROVINCE, "Hà Nội", "Vĩnh Phúc"), year=2024),
                  progress=False, echo=lambda s: None)
    return out, summary


def test_a_failing_province_leaves_the_others_complete(first_run):
    out, summary = first_run
    status = {r.key: r.status for r in summary.records}
    assert status == {"2024/son-la/vi": "ok", "2024/cao-bang/vi": "failed", "2024/hanoi/vi": "ok",
                      "2024/vinh-phuc/vi": "skipped"}
    assert summary.exit_code != 0
    for slug in ("son-la", "hanoi"):
        nb = nbformat.read(out / f"2024/{slug}/{slug}-2024.vi.ipynb", as_version=4)
        assert nb.metadata.papermill.parameters["lang"] == "vi"
        printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert printed.startswith(f"{slug} 2024 vi complete")
        assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    failed = summary.failures[0]
    assert "RuntimeError: injected failure" in failed.error
    assert set(failed.outputs) == {"failed"}  # nothing good was published before: nothing is kept
    kept = out / failed.outputs["failed"]
    assert kept.name == "cao-bang-2024.vi.failed.ipynb" and kept.is_file()
    assert not (out / "2024/cao-bang/cao-bang-2024.vi.ipynb").exists()
    assert "FAILED  2024/cao-bang/vi" in summary.text() and "skipped 2024/vinh-phuc/vi" in summary.text()
    assert not list((out / ".staging").iterdir())


def test_manifest_content(first_run, data):
    out, _ = first_run
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    runs = {r["key"]: r for r in m["runs"]}
    ok = runs["2024/son-la/vi"]
    assert ok["province_code"] == data.provinces.lookup("Sơn La").code and ok["slug"] == "son-la"
    assert ok["year"] == 2024 and ok["lang"] == "vi" and ok["status"] == "ok" and ok["error"] is None
    assert ok["parameters"] == {"province": "Sơn La", "year": 2024, "comparison_year": None, "lang": "vi",
                                "target": None, "data_dir": None}  # None: the next group up
    assert ok["outputs"] == {"ipynb": "2024/son-la/son-la-2024.vi.ipynb"}
    assert ok["inputs"]["data"] == data.version
    assert {"notebook", "parameters", "data", "companion", "source", "package"} <= set(ok["inputs"])
    assert ok["versions"]["papi_research"] and ok["versions"]["pandas"]
    assert ok["duration_s"] > 0
    skipped = runs["2024/vinh-phuc/vi"]
    assert skipped["status"] == "skipped" and skipped["reason"] == data.gap_reason(2024, skipped["province_code"])
    assert skipped["outputs"] == {}
    assert runs["2024/cao-bang/vi"]["error"]


def test_cache_hit_then_miss(first_run, test_nb, tmp_path):
    out, _ = first_run
    again = run(opts(test_nb, out, provinces=("Sơn La", "Hà Nội"), year=2024), progress=False, echo=lambda s: None)
    assert [r.status for r in again.records] == ["cached", "cached"]
    assert again.results == [] and again.exit_code == 0  # nothing executed: no kernel, no render
    m = {r["key"]: r for r in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]}
    assert m["2024/son-la/vi"]["status"] == "cached" and m["2024/cao-bang/vi"]["status"] == "failed"
    # a changed notebook, a missing output or --force is a miss
    changed = make_notebook(tmp_path / "test_briefing.ipynb", extra="changed = True")
    plan = plan_run(opts(changed, out, provinces=("Sơn La", "Hà Nội"), year=2024))
    assert [j.action for j in plan.jobs] == ["run", "run"]
    plan = plan_run(opts(test_nb, out, provinces=("Sơn La",), year=2024, langs=("en",)))
    assert [j.action for j in plan.jobs] == ["run"]  # other parameters
    assert [j.action for j in plan_run(opts(test_nb, out, provinces=("Sơn La",), year=2024, force=True)).jobs] == ["run"]
    (out / "2024/hanoi/hanoi-2024.vi.ipynb").rename(out / "moved.ipynb")
    try:
        plan = plan_run(opts(test_nb, out, provinces=("Sơn La", "Hà Nội"), year=2024))
        assert [j.action for j in plan.jobs] == ["cached", "run"]
    finally:
        (out / "moved.ipynb").rename(out / "2024/hanoi/hanoi-2024.vi.ipynb")


def test_cli_run_exit_codes(first_run, test_nb):
    out, _ = first_run
    runner = CliRunner()
    res = runner.invoke(main, ["run", "Son Laa", "--notebook", str(test_nb), "--out", str(out)])
    assert res.exit_code == 2 and "Sơn La" in res.output
    res = runner.invoke(main, ["run", "Sơn La", "Hà Nội", "--year", "2024", "--format", "ipynb",
                               "--notebook", str(test_nb), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"]["cached"] == 2
    res = runner.invoke(main, ["run", "Vĩnh Phúc", "--year", "2024", "--format", "ipynb", "--dry-run",
                               "--notebook", str(test_nb), "--out", str(out)])
    assert res.exit_code == 0 and res.output.startswith("skipped  2024/vinh-phuc/vi")


def test_dask_executor_on_a_local_cluster(test_nb, tmp_path):
    summary = run(opts(test_nb, tmp_path, provinces=("Sơn La", FAILING_PROVINCE), year=2024, executor="dask"),
                  progress=False, echo=lambda s: None)
    assert {r.key: r.status for r in summary.records} == {"2024/son-la/vi": "ok", "2024/cao-bang/vi": "failed"}
    nb = nbformat.read(tmp_path / "2024/son-la/son-la-2024.vi.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["province"] == "Sơn La"
    assert summary.exit_code == 1


# ---------------------------------------------------------------- end to end on the real notebook

@pytest.mark.slow
def test_real_notebook_two_provinces_end_to_end(tmp_path):
    summary = run(RunOptions(provinces=("Sơn La", "Đồng Tháp"), year=2024, langs=("vi",), formats=("html", "pdf"),
                             out=tmp_path, jobs=2), progress=False, echo=lambda s: None)
    assert summary.exit_code == 0, summary.text()
    for slug in ("son-la", "dong-thap"):
        for ext in ("ipynb", "html", "pdf"):
            path = tmp_path / f"2024/{slug}/{slug}-2024.vi.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
        html = (tmp_path / f"2024/{slug}/{slug}-2024.vi.html").read_text(encoding="utf-8")
        assert ("Sơn La" if slug == "son-la" else "Đồng Tháp") in html
        assert (tmp_path / f"2024/{slug}/{slug}-2024.vi.pdf").read_bytes().startswith(b"%PDF")
    again = run(RunOptions(provinces=("Sơn La", "Đồng Tháp"), year=2024, langs=("vi",), formats=("html", "pdf"),
                           out=tmp_path, jobs=2), progress=False, echo=lambda s: None)
    assert [r.status for r in again.records] == ["cached", "cached"]


def test_a_local_worker_takes_a_province_with_all_its_languages(test_nb, tmp_path):
    """Jobs go to local workers by province and year, languages together and in the plan's order, so
    the second language takes the analysis the first computed."""
    from papi_research.pipeline.executors import province_groups
    plan = plan_run(RunOptions(provinces=("Sơn La", "Hà Nội"), year=2024, langs=("vi", "en"), formats=(),
                               notebook=test_nb, out=tmp_path / "out"))
    groups = province_groups([j.spec for j in plan.jobs if j.action == "run"])
    assert [[s.key for s in g] for g in groups] == [["2024/son-la/vi", "2024/son-la/en"],
                                                     ["2024/hanoi/vi", "2024/hanoi/en"]]


def test_the_cache_key_names_the_renderer_that_draws_the_briefings(test_nb, tmp_path, monkeypatch):
    """`auto` is Quarto on a machine with Quarto and the builtin renderer elsewhere: a briefing drawn by
    one is not a cache hit for the other; a renderer that is not there is an error before anything runs."""
    import papi_research.render as render_pkg
    from papi_research.render.quarto import QuartoRenderer

    def key(renderer: str) -> str:
        plan = plan_run(opts(test_nb, tmp_path, provinces=("Sơn La",), year=2024, formats=("html",), renderer=renderer))
        return plan.jobs[0].inputs["render"]

    monkeypatch.setattr(QuartoRenderer, "available", staticmethod(lambda: (False, "quarto is not on PATH")))
    assert key("auto") == key("builtin")
    with pytest.raises(ParameterError, match="renderer.*quarto is not on PATH"):
        key("quarto")
    assert plan_run(opts(test_nb, tmp_path, provinces=("Sơn La",), year=2024, renderer="quarto")).jobs  # ipynb only
    monkeypatch.setattr(QuartoRenderer, "available", staticmethod(lambda: (True, "quarto at /opt/quarto")))
    assert key("auto") == key("quarto") != key("builtin")
    assert render_pkg.resolve_renderer("auto") == "quarto"
