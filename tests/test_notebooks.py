"""The committed notebooks: the parameters contract, clean cells, Quarto options, real papermill runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from papi_research.data import load_cached
from papi_research.i18n import catalogue, fmt_num
from papi_research.scores import scorecard

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PROVINCE = NOTEBOOKS / "province_briefing.ipynb"
NATIONAL = NOTEBOOKS / "national_overview.ipynb"
UNIT = NOTEBOOKS / "unit_briefing.ipynb"

CONTRACT = '''province = "Sơn La"
year = None             # None: the latest year with data
comparison_year = None  # None: the latest earlier year of the same regime with a total
lang = "vi"
target = "group:high_average"
data_dir = None         # None: default search (PAPI_DATA_DIR, data/raw/papi, ../shared/papi)'''

NATIONAL_PARAMS = '''year = None             # None: the latest year with data
lang = "vi"
data_dir = None         # None: default search (PAPI_DATA_DIR, data/raw/papi, ../shared/papi)
map_dimension = None    # a dimension number (1–8) adds its map; None: the total's groups only'''

UNIT_PARAMS = '''province = "Đồng Tháp"    # a new province (or a former province's name: it finds the new one)
year = None             # None: the latest year with data
lang = "vi"
target = "group:high_average"
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
    assert tagged[0].source.startswith("#| echo: false\n")
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
    assert meta["execute"] == {"echo": False, "warning": False}
    assert "format" not in meta  # left to _quarto.yml
    assert not [c for c in nb.cells if c.cell_type == "markdown"]  # every word comes from the catalogue
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None
        assert cell.source.startswith("#| echo: false\n")
        assert "print(" not in cell.source
        ast.parse(_body(cell.source))  # valid Python once the Quarto options are stripped


@pytest.mark.parametrize("path,count", [(PROVINCE, 4), (NATIONAL, 5), (UNIT, 4)])
def test_figure_cells_carry_label_caption_and_alt_text(path, count):
    nb = _read(path)
    figs = [c for c in nb.cells if c.cell_type == "code" and "figure(" in c.source]
    assert len(figs) == count
    labels = []
    for cell in figs:
        opts = _options(cell.source)
        assert opts["label"].startswith("fig-")
        labels.append(opts["label"])
        for key in ("fig-cap", "fig-alt"):
            assert opts[key].startswith(("i18n:br_", "i18n:map_", "i18n:un_", "i18n:nat_"))
            if key == "fig-alt" and ("map" in opts["label"] or "locator" in opts["label"]):
                assert catalogue()[opts[key].removeprefix("i18n:")]["vi"].startswith("Bản đồ")
            entry = catalogue()[opts[key].removeprefix("i18n:")]
            for lang in ("vi", "en"):  # the renderer fills {province} and {year} only
                assert set(re.findall(r"{(\w+)}", entry[lang])) <= {"province", "year"}
    assert len(set(labels)) == len(labels)


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
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == 4  # profile, trend, change and the locator map
    assert nb.metadata["papermill"]["parameters"]["lang"] == lang
    assert ("CECODES, VFF-CRT, RTA" in text) and ("2025" in text)


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
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == 4  # league, trends and the maps of the 63 and the 34 (no dimension map asked)
    assert "Biggest movers" in text and "Tay Ninh" in text  # +8.11 from 2023, the largest rise


@pytest.mark.slow
def test_unit_briefing_executes_with_the_estimates(tmp_path):
    from papi_research.units import unit_scorecard
    nb = _execute(UNIT, tmp_path / "hy.ipynb", province="Hưng Yên", year=2024, lang="vi")
    _assert_clean(nb)
    text = _texts(nb)
    card = unit_scorecard(load_cached(), "Hưng Yên", 2024)
    assert fmt_num(card.total, "vi") in text and f"{card.rank}/{card.ys.n_ranked}" in text
    assert "Thái Bình" in text and "không phải số liệu chính thức của PAPI" in text
    assert f"{card.region_rank}/{card.n_region_ranked}" in text
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == 4
