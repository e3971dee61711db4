"""Shared test helpers: a synthetic executed briefing notebook built with nbformat (no kernel needed)."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import nbformat
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SOURCE_DATE_EPOCH", "1735689600")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def png_figure(seed: int = 0) -> str:
    """A small deterministic bar chart as base64 PNG (no timestamps in the file)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.bar(["Tham gia", "Công khai", "Trách nhiệm", "Tham nhũng"], [5.1 + seed, 5.4, 4.9, 6.3], color="#1f3b63")
    ax.set_title("Điểm theo nội dung")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figure_outputs(nb) -> dict[str, int]:
    """How many figure images an executed notebook displayed, by MIME type (charts are SVG, maps PNG)."""
    counts = {"image/svg+xml": 0, "image/png": 0}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            for mime in counts:
                counts[mime] += mime in o.get("data", {})
    return counts


VECTOR_PATHS_PER_CHART = 250
"""A chart drawn as vectors in a PDF adds hundreds of sub-paths (bars, lines, and every letter of its
labels, written as outlines); a page of text and tables has a few dozen."""


def pdf_drawing(path) -> tuple[int, int]:
    """(raster images, vector sub-paths) in a PDF: maps are raster images, charts vector drawings; the
    number of sub-paths (``m`` operators in the page content) is what the charts add."""
    from pypdf import PdfReader
    from pypdf.generic import ContentStream
    reader = PdfReader(path)
    images = paths = 0
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        images += sum(1 for x in xobjects.values() if x.get_object()["/Subtype"] == "/Image")
        paths += sum(op == b"m" for _, op in ContentStream(page.get_contents(), reader).operations)
    return images, paths


def assert_pdf_has_figures(pdf, counts: dict[str, int]) -> None:
    """Every figure of ``counts`` (:func:`figure_outputs`) is drawn in ``pdf``: the PNGs as raster images,
    the SVG charts as vector drawings."""
    images, paths = pdf_drawing(pdf)
    assert images == counts["image/png"], (images, counts)
    assert paths >= VECTOR_PATHS_PER_CHART * counts["image/svg+xml"], (paths, counts)


def _out(bundle) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=dict(bundle.data), metadata=dict(bundle.metadata))


def scoped_record(kind: str, lang: str = "vi", year: int = 2024, province: str = "Hưng Yên") -> dict:
    """The real record of a new province's briefing (``kind="unit"``) or of the national briefing."""
    if kind == "unit":
        from papi_research.briefing.unit import build_unit
        return build_unit(province, year=year, lang=lang).to_record()
    from papi_research.briefing.national import build_national_briefing
    return build_national_briefing(year, lang=lang).to_record()


def synthetic_notebook(path: Path, province: str = "Sơn La", lang: str = "vi", year: int | None = 2024,
                       data_dir: str | None = None, record: dict | None = None,
                       extra_outputs: list | None = None) -> Path:
    """Write an 'executed' briefing notebook like papermill leaves it, with the record (real scores;
    ``record`` replaces the province's, e.g. :func:`scoped_record`), the display bundles,
    a captioned PNG figure (``#| fig-cap: i18n:...``), a cell that printed to stderr, a cell that
    raised an error, a hidden cell and a plain-text repr — everything a renderer must sort out;
    ``extra_outputs`` (display bundles) go in one more cell at the end."""
    import pandas as pd

    from papi_research.analysis.change import decompose_change
    from papi_research.analysis.scores import scorecard
    from papi_research.briefing import display as d
    from papi_research.briefing.province import Briefing
    from papi_research.data.i18n import fmt_num
    from papi_research.data.loader import load_cached

    if record is None:
        data = load_cached(data_dir)
        card = scorecard(data, province, year)
        change = decompose_change(data, card.province, card.year, None)
        rec = Briefing(province=card.province, year=card.year, lang=lang, target_spec="group:high_average",
                       card=card, data=data, change_result=change).to_record()
    else:
        rec, lang, year = record, record["lang"], record["year"]
    v = nbformat.v4
    params = {"province": province, "year": year, "comparison_year": None, "lang": lang,
              "target": "group:high_average", "data_dir": data_dir}
    cells = [
        v.new_code_cell("#| echo: false\nprovince = 'Sơn La'\nyear = None\nlang = 'vi'",
                        metadata={"tags": ["parameters"]}),
        v.new_code_cell("#| echo: false\nprovince = " + repr(province), metadata={"tags": ["injected-parameters"]}),
        v.new_code_cell("#| output: asis\nbriefing.show_record(b)", outputs=[_out(d.record_bundle(rec))]),
        v.new_code_cell("#| echo: false\nfrom papi_research.briefing import display as d\nd.tiles(...)",
                        outputs=[_out(d.tiles_bundle([
                            {"label": "Tổng điểm" if lang == "vi" else "Total", "value": fmt_num(42.432, lang),
                             "sub": "/80", "tone": "good"},
                            {"label": "Xếp hạng" if lang == "vi" else "Rank", "value": "27/60", "tone": "neutral"},
                            {"label": "Thay đổi" if lang == "vi" else "Change", "value": fmt_num(-1.5, lang, sign=True),
                             "tone": "bad"}]))]),
        v.new_markdown_cell("## " + ("Điểm theo nội dung" if lang == "vi" else "Scores by dimension")),
        v.new_code_cell("#| echo: false\nimport warnings; warnings.warn('noisy')",
                        outputs=[v.new_output("stream", name="stderr", text="UserWarning: noisy STDERR-LEAK\n"),
                                 v.new_output("stream", name="stdout", text="STDOUT-LEAK\n")]),
        v.new_code_cell("#| echo: false\nd.md(...)",
                        outputs=[_out(d.md_bundle(("Tổng điểm đạt **" if lang == "vi" else "The total is **")
                                                  + fmt_num(42.432, lang) + "**."))]),
        v.new_code_cell("#| echo: false\n#| label: fig-dimensions\n#| fig-cap: i18n:rd_title\n"
                        "#| fig-alt: i18n:citation\nfig",
                        outputs=[v.new_output("execute_result", data={"image/png": png_figure(),
                                                                      "text/plain": "<Figure size 600x300>"},
                                              execution_count=5)]),
        v.new_code_cell("#| echo: false\nd.table(...)",
                        outputs=[_out(d.table_bundle(pd.DataFrame({
                            ("Nội dung" if lang == "vi" else "Dimension"): ["Tham gia", "Công khai"],
                            ("Điểm" if lang == "vi" else "Score"): [fmt_num(5.12, lang), fmt_num(6.0, lang)]}),
                            caption="Điểm thành phần" if lang == "vi" else "Dimension scores"))]),
        v.new_code_cell("#| echo: false\n#| include: false\nsecret()",
                        outputs=[_out(d.md_bundle("HIDDEN-CELL"))]),
        v.new_code_cell("#| echo: false\n#| output: false\nx = 1",
                        outputs=[_out(d.md_bundle("HIDDEN-OUTPUT"))]),
        v.new_code_cell("#| echo: false\n1 + 1",
                        outputs=[v.new_output("execute_result", data={"text/plain": "PLAIN-REPR"},
                                              execution_count=9)]),
        v.new_code_cell("#| echo: false\nd.callout(...)",
                        outputs=[_out(d.callout_bundle("Số liệu theo địa giới 63 tỉnh." if lang == "vi"
                                                       else "Data for the 63 provinces.", kind="note"))]),
        v.new_code_cell("#| echo: false\nfig2",
                        metadata={"tags": []},
                        outputs=[v.new_output("display_data", data={"image/png": png_figure(1)})]),
    ]
    cells[-1].source = "#| echo: false\n#| label: fig-second\n#| fig-cap: \"Second figure\"\nfig2"
    if extra_outputs:
        cells.append(v.new_code_cell("briefing.show_figure(o, ...)", outputs=[_out(b) for b in extra_outputs]))
    nb = v.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["papermill"] = {"parameters": params, "input_path": "province_briefing.ipynb"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def executed_nb(tmp_path) -> Path:
    """A synthetic executed Vietnamese briefing notebook for Sơn La 2024."""
    return synthetic_notebook(tmp_path / "son-la-2024.vi.ipynb")


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests keep files for people to look at (test-artifacts/, gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def make_reports(out: Path, specs: list[tuple[str, int, str]], render_formats=("html", "pdf"),
                 failed: list[tuple[str, int, str]] = ()) -> Path:
    """A reports folder like ``papi run`` leaves it: synthetic executed notebooks, their briefings
    (builtin renderer) and ``manifest.json``; ``failed`` adds runs that failed (no outputs)."""
    import json

    from papi_research.data.loader import load_cached
    from papi_research.render import render

    reg = load_cached(None).provinces
    runs = []
    for province, year, lang in specs:
        p = reg.lookup(province)
        rel = Path(str(year)) / p.slug / f"{p.slug}-{year}.{lang}.ipynb"
        nb = synthetic_notebook(out / rel, province=p.name_vi, lang=lang, year=year)
        written = render(nb, render_formats, renderer="builtin")
        runs.append({"key": f"{year}/{p.slug}/{lang}", "province_code": p.code, "slug": p.slug, "year": year,
                     "lang": lang, "parameters": {"province": p.name_vi, "year": year, "lang": lang},
                     "inputs": {}, "versions": {}, "status": "ok", "duration_s": 1.0,
                     "outputs": {"ipynb": rel.as_posix(),
                                 **{k: v.relative_to(out).as_posix() for k, v in written.items()}},
                     "error": None, "reason": None})
    for province, year, lang in failed:
        p = reg.lookup(province)
        runs.append({"key": f"{year}/{p.slug}/{lang}", "province_code": p.code, "slug": p.slug, "year": year,
                     "lang": lang, "parameters": {}, "inputs": {}, "versions": {}, "status": "failed",
                     "duration_s": 0.5, "outputs": {}, "error": "boom", "reason": None})
    (out / "manifest.json").write_text(json.dumps({"schema": 1, "runs": runs}, ensure_ascii=False, indent=1),
                                       encoding="utf-8")
    return out


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    """Skip (saying why) where Debian chromium is missing; in CI (CI=true) a missing chromium fails."""
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install it (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    """Debian chromium driven by Playwright, one per test module (the browser suites)."""
    from playwright import sync_api
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def offline_page(playwright):
    """Chromium with one page that records console/page errors and aborts every request leaving file:// or
    data: (returns browser, page, errors, remote)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors, remote = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file://", "data:"))
               else (remote.append(route.request.url), route.abort()))
    return browser, page, errors, remote


@pytest.fixture(autouse=True, scope="session")
def _model_cache(tmp_path_factory):
    """Saved national fits go to a folder of the test session, not the user's cache."""
    os.environ["PAPI_CACHE_DIR"] = str(tmp_path_factory.mktemp("papi-cache"))
    yield
