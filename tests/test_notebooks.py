"""The committed notebooks: the parameters contract, clean cells, Quarto options, real papermill runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from papi_research.analysis.scores import scorecard
from papi_research.data.i18n import catalogue, fmt_num
from papi_research.data.loader import load_cached

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PROVINCE = NOTEBOOKS / "province_briefing.ipynb"
NATIONAL = NOTEBOOKS / "national_overview.ipynb"
UNIT = NOTEBOOKS / "unit_briefing.ipynb"

CONTRACT = '''province = "Sơn La"
year = None             # None: the latest year with data
comparison_year = None  # None: the latest earlier year of the same regime with a total
lang = "vi"
target = None           # None: the next group up (for the best group, keeping it)
data_dir = None         # None: default search (PAPI_DATA_DIR, data/raw/papi, ../shared/papi)'''

NATIONAL_PARAMS = '''year = None             # None: the latest year with data
lang = "vi"
data_dir = None         # None: default search (PAPI_DATA_DIR, data/raw/papi, ../shared/papi)
map_dimension = None    # a dimension number (1–8) adds its map; None: the total's groups only'''

UNIT_PARAMS = '''province = "Đồng Tháp"    # a new province (or a former province's name: it finds the new one)
year = None             # None: the latest year with data
lang = "vi"
target = None           # None: the next group up (for the best group, keeping it)
data_dir = None         # None: default search (PAPI_DATA_DIR, data/raw/papi, ../shared/papi)
units = "2025"          # the 34 provinces since 1 July 2025 (estimates from the former provinces' results)'''


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _options(source: str) -> dict[str, str]:
    """The Quarto ``#| key: value`` lines at the top of a cell."""
    out = {}
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        key, _, value = line[2:].strip().partition(":")
        out[key.strip()] = value.strip()
    return out


def _body(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not line.startswith("#|"))


@pytest.mark.parametrize("path,params", [(PROVINCE, CONTRACT), (NATIONAL, NATIONAL_PARAMS), (UNIT, UNIT_PARAMS)])
def test_parameters_cell_matches_the_contract(path, params):
    nb = _read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert _body(tagged[0].source) == params
    assert _options(tagged[0].source).get("echo", "false") == "false"
    # and it is the first code cell, so the parameters are defined before anything uses them
    assert [c for c in nb.cells if c.cell_type == "code"][0] is tagged[0]


@pytest.mark.parametrize("path,params", [(PROVINCE, CONTRACT), (NATIONAL, NATIONAL_PARAMS), (UNIT, UNIT_PARAMS)])
def test_papermill_reads_every_parameter(path, params):
    """papermill's own parser (`papermill --help-notebook`) must see each name, with its default."""
    import papermill

    seen = papermill.inspect_notebook(str(path))
    names = [line.split("=")[0].strip() for line in params.splitlines()]
    assert list(seen) == names
    assert all(seen[n]["default"] for n in names)


@pytest.mark.parametrize("path", [PROVINCE, NATIONAL, UNIT])
def test_committed_notebooks_are_clean(path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb.metadata
    front = nb.cells[0]
    assert front.cell_type == "raw"
    meta = yaml.safe_load(front.source.strip().strip("-"))
    assert meta["execute"]["echo"] is False and meta["execute"]["warning"] is False
    assert "format" not in meta  # left to _quarto.yml
    # every word of the briefing comes from the catalogue: markdown cells are notes for the notebook's
    # readers, tagged so that both renderers leave them out
    notes = [c for c in nb.cells if c.cell_type == "markdown"]
    assert notes and all("remove-cell" in c.metadata.get("tags", []) for c in notes)
    assert notes[0].source.startswith("# ") and all(c.source.startswith("## ") for c in notes[1:])
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None
        assert _options(cell.source).get("echo", "false") == "false"  # a briefing shows no code
        assert "print(" not in cell.source
        ast.parse(_body(cell.source))  # valid Python once the Quarto options are stripped


NOTEBOOK_BRIEFINGS = {PROVINCE: ("briefing", "papi_research.briefing.province", "Briefing"),
                      UNIT: ("briefing", "papi_research.briefing.unit", "UnitBriefing"),
                      NATIONAL: ("briefing", "papi_research.briefing.national", "NationalBriefing")}


@pytest.mark.parametrize("path,shown_expected", [
    (PROVINCE, ["locator", "profile", "trend", "change"]),
    (UNIT, ["locator", "components", "profile", "trend"]),
    (NATIONAL, ["map", "map_34", "map_dimension", "league", "trends"])])
def test_figures_are_shown_with_catalogue_captions(path, shown_expected):
    """show_figure(briefing, name): label fig-<name>, caption and alt text from the catalogue (the
    briefing's figure_keys); maps have alt text starting "Bản đồ"/"Map"."""
    import importlib
    var, module, cls = NOTEBOOK_BRIEFINGS[path]
    keys = getattr(importlib.import_module(module), cls).figure_keys(None)
    nb = _read(path)
    shown = re.findall(rf'show_figure\({var}, "(\w+)"\)', "\n".join(c.source for c in nb.cells))
    assert shown == shown_expected and set(shown) <= set(keys)
    assert not [c for c in nb.cells if re.search(r"\.figure\(", c.source)]  # every figure through show_figure
    for name in shown:
        for key in keys[name]:
            for lang in ("vi", "en"):  # show_figure fills {province} and {year} only
                assert set(re.findall(r"{(\w+)}", catalogue()[key][lang])) <= {"province", "year"}
        if "map" in name or name == "locator":
            assert catalogue()[keys[name][1]]["vi"].startswith("Bản đồ")
            assert catalogue()[keys[name][1]]["en"].startswith("Map")


@pytest.mark.parametrize("path", [PROVINCE, UNIT, NATIONAL])
def test_briefing_notebooks_are_ready_for_quarto(path):
    """Quarto executes them (`execute: enabled`), the record cell is `output: asis` (its YAML block and
    masthead go straight into the document), and the last cell prints the closing block."""
    var = NOTEBOOK_BRIEFINGS[path][0]
    nb = _read(path)
    meta = yaml.safe_load(nb.cells[0].source.strip().strip("-"))
    assert meta["execute"]["enabled"] is True and meta["jupyter"] == "python3"
    assert "title" not in meta and meta["pagetitle"]  # the title comes from the parameters (the record)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert _options(code[1].source) == {"output": "asis"} and f"show_record({var})" in code[1].source
    assert code[-1].source.startswith(f"show_footer({var})")
# --- real executions -------------------------------------------------------------------------------

def _execute(src: Path, out: Path, **parameters) -> nbformat.NotebookNode:
    import papermill as pm
    pm.execute_notebook(str(src), str(out), parameters=parameters, kernel_name="python3", progress_bar=False,
                        cwd=str(NOTEBOOKS))
    return _read(out)


def _texts(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            parts.append(o.get("data", {}).get("text/markdown", ""))
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _assert_clean(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.output_type != "error", o
            assert not (o.output_type == "stream" and o.name == "stderr"), o.text
            assert o.output_type != "stream", o.text  # no print() either


@pytest.mark.slow
@pytest.mark.parametrize("province,year,lang", [("Sơn La", None, "vi"), ("Đồng Tháp", 2021, "en")])
def test_province_briefing_executes_with_the_scorecard_numbers(tmp_path, province, year, lang):
    nb = _execute(PROVINCE, tmp_path / "out.ipynb", province=province, year=year, lang=lang)
    _assert_clean(nb)
    card = scorecard(load_cached(), province, year)
    text = _texts(nb)
    assert fmt_num(card.total, lang) in text
    rank = f"{card.rank}/{card.ys.n_ranked}" if lang == "vi" else f"{card.rank} of {card.ys.n_ranked}"
    assert rank in text
    assert card.province.name(lang) in text
    from conftest import figure_outputs
    # profile, trend and change as SVG charts; the locator map as a PNG
    assert figure_outputs(nb) == {"image/svg+xml": 3, "image/png": 1}
    assert nb.metadata["papermill"]["parameters"]["lang"] == lang
    assert ("CECODES, VFF-CRT, RTA" in text) and ("2025" in text)
    from papi_research.briefing.display import RECORD_MIME
    records = [o["data"][RECORD_MIME] for c in nb.cells for o in c.get("outputs", []) if RECORD_MIME in o.get("data", {})]
    assert len(records) == 1
    rec = records[0]
    assert (rec["province"]["code"], rec["year"], rec["lang"]) == (card.province.code, card.year, lang)
    assert (rec["total"], rec["rank"], rec["n_ranked"], rec["group"]) == (card.total, card.rank, card.ys.n_ranked,
                                                                          card.group)


@pytest.mark.slow
def test_missing_province_year_executes_with_a_note(tmp_path):
    nb = _execute(PROVINCE, tmp_path / "vp.ipynb", province="Vĩnh Phúc", year=2024, lang="vi")
    _assert_clean(nb)
    assert "PAPI năm 2024 không công bố điểm của Vĩnh Phúc" in _texts(nb)


@pytest.mark.slow
def test_national_overview_executes(tmp_path):
    nb = _execute(NATIONAL, tmp_path / "nat.ipynb", year=2024, lang="en")
    _assert_clean(nb)
    text = _texts(nb)
    assert "PAPI 2024 league table" in text and "47.82" in text  # Quảng Ninh tops 2024
    from conftest import figure_outputs
    # league and trends as SVG charts, the maps of the 63 and the 34 as PNGs (no dimension map asked)
    assert figure_outputs(nb) == {"image/svg+xml": 2, "image/png": 2}
    assert "Biggest movers" in text and "Tay Ninh" in text  # +8.11 from 2023, the largest rise
    rec = _record(nb)  # no single province: the country is the subject, no total, rank or group
    assert (rec["kind"], rec["province"]["code"], rec["province"]["name_en"], rec["year"]) == (
        "national_briefing", "VN", "Vietnam", 2024)
    assert (rec["total"], rec["rank"], rec["group"]) == (None, None, None)
    assert rec["n_ranked"] == scorecard(load_cached(), "Quảng Ninh", 2024).ys.n_ranked
    assert rec["title"]["title"] == "Vietnam: PAPI 2024 results" and rec["comparison_year"] == 2023


@pytest.mark.slow
def test_under_quarto_the_notebook_emits_only_markdown(tmp_path, monkeypatch):
    """What Quarto executes: no text/html or JavaScript output (they make Quarto add require.js and
    jQuery from a CDN), the record's YAML block first, figures as numbered Markdown images whose
    files sit in the folder Quarto cleans up after rendering."""
    import shutil
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(PROVINCE, work / "province_briefing.ipynb")
    monkeypatch.setenv("QUARTO_FIG_FORMAT", "png")
    monkeypatch.setenv("QUARTO_DOCUMENT_FILE", "province_briefing.ipynb")
    import papermill as pm
    pm.execute_notebook(str(work / "province_briefing.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"province": "Hưng Yên", "year": 2019}, kernel_name="python3",
                        progress_bar=False, cwd=str(work))
    nb = _read(tmp_path / "out.ipynb")
    _assert_clean(nb)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    cdn_triggers = {"text/html", "application/javascript", "application/vnd.jupyter.widget-view+json"}
    assert outputs and not [o for o in outputs if cdn_triggers & set(o.get("data", {}))]
    assert all("text/markdown" in o["data"] for o in outputs)
    first = outputs[0]["data"]["text/markdown"]
    meta = yaml.safe_load(re.search(r"^---\n(.*?)\n---$", first, flags=re.S | re.M).group(1))
    assert meta["pagetitle"] == "Hưng Yên: kết quả PAPI năm 2019" and meta["lang"] == "vi"
    assert "<h1>Hưng Yên: kết quả PAPI năm 2019</h1>" in first and "41,25/80" in first
    text = "\n".join(o["data"]["text/markdown"] for o in outputs)
    figures = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)\{#(fig-\w+) fig-alt=\"[^\"]+\"\}", text)
    assert [f[2] for f in figures] == ["fig-locator", "fig-profile", "fig-trend", "fig-change"]
    for _, path, _ in figures:
        assert path.startswith("province_briefing_files/mediabag/") and (work / path).is_file()
    assert text.count("{#tbl-papi-") >= 3 and '<footer class="briefing-footer">' in text


@pytest.mark.slow
@pytest.mark.parametrize("path,parameters,title,n_figures", [  # Sơn La is unchanged: no parts chart
    (UNIT, {"province": "Sơn La", "year": 2024}, "Sơn La (tỉnh, thành phố mới): ước tính PAPI năm 2024", 3),
    (NATIONAL, {"year": 2024, "lang": "en"}, "Vietnam: PAPI 2024 results", 4)])
def test_under_quarto_unit_and_national_notebooks_emit_only_markdown(tmp_path, monkeypatch, path, parameters, title,
                                                                     n_figures):
    """The new-province and national notebooks as Quarto executes them: Markdown only, the record's YAML
    block and masthead first, every figure a numbered Markdown image, the closing block last."""
    import shutil
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    monkeypatch.setenv("QUARTO_FIG_FORMAT", "png")
    monkeypatch.setenv("QUARTO_DOCUMENT_FILE", path.name)
    import papermill as pm
    pm.execute_notebook(str(work / path.name), str(tmp_path / "out.ipynb"), parameters=parameters,
                        kernel_name="python3", progress_bar=False, cwd=str(work))
    nb = _read(tmp_path / "out.ipynb")
    _assert_clean(nb)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert outputs and all(set(o["data"]) <= {"text/markdown", "text/plain"} for o in outputs)
    first = outputs[0]["data"]["text/markdown"]
    meta = yaml.safe_load(re.search(r"^---\n(.*?)\n---$", first, flags=re.S | re.M).group(1))
    assert meta["pagetitle"] == title and f"<h1>{title}</h1>" in first
    text = "\n".join(o["data"]["text/markdown"] for o in outputs)
    figures = re.findall(r"!\[[^\]]+\]\(([^)]+)\)\{#(fig-[\w-]+) fig-alt=\"[^\"]+\"\}", text)
    assert len(figures) == n_figures and all((work / f).is_file() for f, _ in figures)
    assert '<footer class="briefing-footer">' in outputs[-1]["data"]["text/markdown"]


@pytest.mark.slow
def test_unit_briefing_executes_with_the_estimates(tmp_path):
    from papi_research.analysis.units import unit_scorecard
    nb = _execute(UNIT, tmp_path / "hy.ipynb", province="Hưng Yên", year=2024, lang="vi")
    _assert_clean(nb)
    text = _texts(nb)
    card = unit_scorecard(load_cached(), "Hưng Yên", 2024)
    assert fmt_num(card.total, "vi") in text and f"{card.rank}/{card.ys.n_ranked}" in text
    assert "Thái Bình" in text and "không phải số liệu chính thức của PAPI" in text
    assert f"{card.region_rank}/{card.n_region_ranked}" in text
    from conftest import figure_outputs
    assert figure_outputs(nb) == {"image/svg+xml": 3, "image/png": 1}  # parts, profile, trend; locator map
    rec = _record(nb)
    assert (rec["kind"], rec["province"]["code"], rec["year"], rec["units"]) == ("unit_briefing", card.unit.code, 2024,
                                                                                "2025")
    assert (rec["total"], rec["rank"], rec["n_ranked"], rec["region_rank"]) == (card.total, card.rank, card.ys.n_ranked,
                                                                               card.region_rank)
    assert rec["title"]["title"] == "Hưng Yên (tỉnh, thành phố mới): ước tính PAPI năm 2024"
    assert "Thái Bình" in rec["title"]["merged"] and rec["members"] == list(card.unit.members)


def _record(nb: nbformat.NotebookNode) -> dict:
    from papi_research.briefing.display import RECORD_MIME
    records = [o["data"][RECORD_MIME] for c in nb.cells for o in c.get("outputs", []) if RECORD_MIME in o.get("data", {})]
    assert len(records) == 1
    return records[0]
