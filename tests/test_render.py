"""render: both renderers over an executed notebook — content, cell options, A4 PDF text, determinism, errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, synthetic_notebook
from pypdf import PdfReader

from papi_research.briefing.display import RECORD_MIME
from papi_research.cli import main
from papi_research.errors import ParameterError
from papi_research.render import RenderError, prepare, render
from papi_research.render.quarto import QuartoRenderer, quarto_document, quarto_path

A4 = (595.28, 841.89)
LEAKS = ("STDERR-LEAK", "STDOUT-LEAK", "HIDDEN-CELL", "HIDDEN-OUTPUT", "PLAIN-REPR", "UserWarning", "Traceback")


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def pdf_images(path: Path) -> int:
    n = 0
    for page in PdfReader(path).pages:
        xobjects = page["/Resources"].get("/XObject", {})
        n += sum(1 for x in xobjects.values() if x.get_object()["/Subtype"] == "/Image")
    return n


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The synthetic Sơn La 2024 briefing rendered by the builtin renderer, in Vietnamese and English."""
    out = {}
    for lang in ("vi", "en"):
        nb = synthetic_notebook(tmp_path_factory.mktemp(lang) / f"son-la-2024.{lang}.ipynb", lang=lang)
        out[lang] = render(nb, ("html", "pdf"), renderer="builtin")
    return out


def test_outputs_sit_beside_the_notebook_and_nothing_else_is_left(rendered):
    html, pdf = rendered["vi"]["html"], rendered["vi"]["pdf"]
    assert html.name == "son-la-2024.vi.html" and pdf.name == "son-la-2024.vi.pdf"
    assert sorted(p.name for p in html.parent.iterdir()) == ["son-la-2024.vi.html", "son-la-2024.vi.ipynb",
                                                             "son-la-2024.vi.pdf"]
    assert oct(html.stat().st_mode & 0o044) == oct(0o044)  # readable by a web server


def test_prepare_honours_cell_options_and_resolves_i18n(executed_nb):
    b = prepare(executed_nb)
    assert (b.lang, b.year, b.province_code) == ("vi", 2024, "P09")
    assert [blk.kind for blk in b.blocks] == ["output", "markdown", "output", "figure", "output", "output", "figure"]
    first, second = b.figures
    assert (first.number, first.label) == (1, "fig-dimensions")
    assert first.caption == "Sơn La: kết quả PAPI năm 2024"
    assert first.alt == "Nguồn: CECODES, VFF-CRT, RTA và UNDP, PAPI (2024)."
    assert (second.number, second.caption) == (2, "Second figure")
    assert b.title.title == "Sơn La: kết quả PAPI năm 2024"
    assert b.title.score_line == "Tổng điểm 43,89/80 · Xếp hạng 25/61 · nhóm đạt điểm trung bình cao"


def test_html_is_a_clean_self_contained_vietnamese_briefing(rendered):
    html = rendered["vi"]["html"].read_text(encoding="utf-8")
    assert re.search(r'<html lang="vi">', html)
    assert "<h1>Sơn La: kết quả PAPI năm 2024</h1>" in html
    assert "Tổng điểm 43,89/80 · Xếp hạng 25/61" in html and "So với năm 2023: +1,49 điểm" in html
    assert '<span class="papi-num">Hình 1.</span> Sơn La: kết quả PAPI năm 2024' in html
    assert '<span class="papi-num">Hình 2.</span> Second figure' in html
    assert '<span class="papi-num">Bảng 1.</span> Điểm thành phần' in html
    assert "Nguồn: CECODES, VFF-CRT, RTA và UNDP, PAPI (2024)." in html
    assert html.count('class="papi-tile ') == 3
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert 'alt="Nguồn: CECODES' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "briefing must not load anything from the network"
    assert "<script" not in html and "<pre" not in html and "In&nbsp;[" not in html
    for leak in LEAKS:
        assert leak not in html


def test_pdf_is_a4_with_vietnamese_text_figures_and_no_code(rendered):
    pdf = rendered["vi"]["pdf"]
    reader = PdfReader(pdf)
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - A4[0]) < 0.5 and abs(h - A4[1]) < 0.5
    text = pdf_text(pdf)
    assert "Sơn La: kết quả PAPI năm 2024" in text
    assert "Tổng điểm 43,89/80" in text and "42,43" in text and "42.43" not in text
    assert "Hình 1. Sơn La: kết quả PAPI năm 2024" in text and "Hình 2. Second figure" in text
    assert "\x00" not in text  # no glyph missing from the embedded fonts
    assert "Bảng 1. Điểm thành phần" in text
    assert f"Trang 1/{len(reader.pages)}" in text
    assert "Nguồn: CECODES, VFF-CRT, RTA và UNDP, PAPI (2024)." in text
    assert pdf_images(pdf) == 2
    for leak in LEAKS + ("#|", "d.tiles", "import ", "fig2"):
        assert leak not in text
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()
             for f in [f.get_object()["/BaseFont"]]}
    assert any("DejaVu" in f for f in fonts), fonts  # embedded, from matplotlib's font folder


def test_english_variant_uses_english_words_and_numbers(rendered):
    html = rendered["en"]["html"].read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "<h1>Son La: PAPI 2024 results</h1>" in html
    assert '<span class="papi-num">Figure 1.</span>' in html and '<span class="papi-num">Table 1.</span>' in html
    text = pdf_text(rendered["en"]["pdf"])
    assert "Total 43.89 out of 80 · Rank 25 of 61" in text and "42.43" in text and "42,43" not in text
    assert "Figure 1. Son La: PAPI 2024 results" in text and "Page 1 of" in text
    assert "Source: CECODES, VFF-CRT, RTA & UNDP, PAPI (2024)." in text


def test_same_inputs_give_identical_files(tmp_path, rendered):
    nb = synthetic_notebook(tmp_path / "son-la-2024.vi.ipynb", lang="vi")
    again = render(nb, "html,pdf", renderer="builtin")
    assert again["html"].read_bytes() == rendered["vi"]["html"].read_bytes()
    assert again["pdf"].read_bytes() == rendered["vi"]["pdf"].read_bytes()


def test_bad_inputs_give_one_clear_error(tmp_path, executed_nb):
    with pytest.raises(ParameterError, match="formats"):
        render(executed_nb, "html,odt")
    with pytest.raises(ParameterError, match="renderer"):
        render(executed_nb, renderer="latex")
    with pytest.raises(RenderError, match="not found"):
        render(tmp_path / "missing.ipynb")
    nb = nbformat.read(executed_nb, as_version=4)
    nb.cells[2].outputs = []
    nbformat.write(nb, tmp_path / "norecord.ipynb")
    with pytest.raises(RenderError, match=r"norecord.ipynb: no briefing record"):
        render(tmp_path / "norecord.ipynb")
    nb = nbformat.read(executed_nb, as_version=4)
    nb.cells[7].source = nb.cells[7].source.replace("i18n:rd_title", "i18n:no_such_key")
    nbformat.write(nb, tmp_path / "badkey.ipynb")
    with pytest.raises(RenderError, match=r"cell 7: .*'no_such_key'"):
        render(tmp_path / "badkey.ipynb", "html")
    nb = nbformat.read(executed_nb, as_version=4)
    nb.cells[2].outputs[0]["data"][RECORD_MIME]["lang"] = "fr"
    nbformat.write(nb, tmp_path / "french.ipynb")
    with pytest.raises(RenderError, match="record lang.*'fr'"):
        render(tmp_path / "french.ipynb", "html")
    nb = nbformat.read(executed_nb, as_version=4)
    del nb.cells[2].outputs[0]["data"][RECORD_MIME]["title"]["score_line"]
    nbformat.write(nb, tmp_path / "short.ipynb")
    with pytest.raises(RenderError, match="record has no title.score_line"):
        render(tmp_path / "short.ipynb", "html")
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".*"))


def test_render_needs_no_data_folder(executed_nb, monkeypatch, rendered):
    """The executed notebook is the record: with the data folder gone the briefing is the same."""
    from test_site import no_data_folder
    no_data_folder(monkeypatch)
    out = render(executed_nb, ("html", "pdf"), renderer="builtin")
    assert out["html"].read_bytes() == rendered["vi"]["html"].read_bytes()
    assert out["pdf"].read_bytes() == rendered["vi"]["pdf"].read_bytes()
    b = prepare(executed_nb)
    assert b.title.change_line == "So với năm 2023: +1,49 điểm (năm 2023 xếp hạng 30/61)"


@pytest.mark.parametrize("kind,lang", [("unit", "vi"), ("national", "en")])
def test_unit_and_national_briefings_render_with_no_data_folder(kind, lang, tmp_path, monkeypatch):
    """A new province's and the national briefing: the title block comes from their record, builtin HTML,
    PDF and the Quarto document, with the data folder gone."""
    from conftest import scoped_record
    from test_site import no_data_folder
    rec = scoped_record(kind, lang)
    nb = synthetic_notebook(tmp_path / f"{kind}.{lang}.ipynb", record=rec)
    no_data_folder(monkeypatch)
    out = render(nb, ("html", "pdf"), renderer="builtin")
    import html as html_mod
    html = html_mod.unescape(out["html"].read_text(encoding="utf-8"))
    text = " ".join(pdf_text(out["pdf"]).split())
    title = rec["title"]
    if kind == "unit":
        assert title["title"] == "Hưng Yên (tỉnh, thành phố mới): ước tính PAPI năm 2024"
        assert title["score_line"].startswith("Tổng điểm ước tính 44,61/80 · Xếp hạng 8/32")  # Phú Thọ partial: not ranked
        assert "Thái Bình" in title["merged"] and "không phải số liệu chính thức của PAPI" in title["contents_note"]
    else:
        assert title["title"] == "Vietnam: PAPI 2024 results" and title["merged"] == ""
        assert title["score_line"] == "61 provinces ranked · Median total 43.48 out of 80"
        assert title["change_line"] == "2023: median 42.33 out of 80"
    assert f'<html lang="{lang}">' in html and f"<h1>{title['title']}</h1>" in html
    for key in ("score_line", "change_line", "citation"):
        assert title[key] in html and title[key] in text, key
    doc = quarto_document(prepare(nb), tmp_path / "q")
    front, meta = (yaml.safe_load(m) for m in re.findall(r"^---\n(.*?)\n---$", doc, flags=re.S | re.M))
    assert front["pagetitle"] == meta["pagetitle"] == title["title"] and meta["lang"] == lang
    assert f"<h1>{title['title']}</h1>" in doc and title["score_line"] in doc and "#papi-closing(" in doc


def test_title_change_line_honours_comparison_year(tmp_path):
    """The title's change line and the body compare with the same year (comparison_year=2021)."""
    from papi_research.briefing.base import record
    from papi_research.briefing.province import build
    b = build("Sơn La", year=2024, comparison_year=2021, lang="vi")
    title = record(b)["title"]
    assert b.comparison_year == 2021 and title["change_line"].startswith("So với năm 2021: ")
    assert "năm 2021 xếp hạng" in title["change_line"]
    assert "2021" in b.headline.text()  # the body's change sentence and tile say the same year


def test_cli_render(executed_nb):
    res = CliRunner().invoke(main, ["render", str(executed_nb), "--format", "html", "--renderer", "builtin"])
    assert res.exit_code == 0, res.output
    assert executed_nb.with_suffix(".html").is_file() and not executed_nb.with_suffix(".pdf").exists()
    res = CliRunner().invoke(main, ["render", str(executed_nb), "--format", "odt"])
    assert res.exit_code == 2 and "formats" in res.output


def test_cli_render_several_notebooks_keeps_going_past_a_bad_one(executed_nb, tmp_path):
    """Each notebook is rendered beside itself; one without a briefing record is reported (exit 2) and
    does not stop the others."""
    import nbformat
    from nbformat.v4 import new_notebook
    other = tmp_path / "other" / "son-la-2024.vi.ipynb"
    other.parent.mkdir()
    other.write_bytes(executed_nb.read_bytes())
    bad = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(), bad)
    res = CliRunner().invoke(main, ["render", str(executed_nb), str(bad), str(other), "--format", "html",
                                    "--renderer", "builtin"])
    assert res.exit_code == 2, res.output
    assert f"FAILED {bad}: {bad}: no briefing record in the notebook" in res.output
    assert "2 of 3 rendered (builtin)" in res.output
    for nb in (executed_nb, other):
        assert nb.with_suffix(".html").read_text(encoding="utf-8").count("<h1>Sơn La: kết quả PAPI năm 2024</h1>") == 1
    assert not bad.with_suffix(".html").exists()


def test_quarto_document_is_the_same_briefing_in_markdown(executed_nb, tmp_path):
    b = prepare(executed_nb)
    doc = quarto_document(b, tmp_path)
    front, record = re.findall(r"^---\n(.*?)\n---$", doc, flags=re.S | re.M)
    body = doc.split(record, 1)[1]
    fm = yaml.safe_load(front)
    assert fm["pagetitle"] == "Sơn La: kết quả PAPI năm 2024" and fm["lang"] == "vi"
    assert fm["language"] == "_language-vi.yml" and fm["format"]["typst"]["font-paths"]
    meta = yaml.safe_load(record)  # the record's YAML block: Quarto reads it as document metadata
    assert meta["crossref"] == {"fig-title": "Hình", "tbl-title": "Bảng", "title-delim": "."}
    assert '<h1>Sơn La: kết quả PAPI năm 2024</h1>' in body and "#papi-masthead(" in body
    assert "Tổng điểm 43,89/80 · Xếp hạng 25/61" in body and "So với năm 2023: +1,49 điểm" in body
    assert body.count('class="papi-tile ') == 3 and body.count("grid.cell(") == 3  # tiles in HTML and Typst
    assert "![Sơn La: kết quả PAPI năm 2024](figures/fig-dimensions-1-0.png){#fig-dimensions " in body
    assert 'fig-alt="Nguồn: CECODES, VFF-CRT, RTA và UNDP, PAPI (2024)."' in body
    assert "{#fig-second" in body and ": Điểm thành phần {#tbl-1}" in body
    assert "::: {.callout-note" in body and '<footer class="briefing-footer">' in body and "#papi-closing(" in body
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["fig-dimensions-1-0.png", "fig-second-2-0.png"]
    # its HTML links the other language and the index (raw HTML: the PDF and Word drop it)
    assert '```{=html}\n<nav class="papi-links"' in doc and 'href="son-la-2024.en.html"' in doc
    assert 'href="../../index.html"' in doc
    for leak in LEAKS + ("HIDDEN-CELL", "i18n:", "<script"):
        assert leak not in doc


@pytest.mark.skipif(quarto_path() is not None, reason="quarto is on PATH; the Quarto render test runs instead")
def test_quarto_renderer_says_why_it_is_unavailable(executed_nb):
    ok, why = QuartoRenderer.available()
    assert not ok and "quarto is not on PATH" in why
    with pytest.raises(ParameterError, match="quarto is not on PATH"):
        render(executed_nb, renderer="quarto")


@pytest.mark.slow
@pytest.mark.skipif(quarto_path() is None, reason="quarto is not on PATH (pip cannot install Quarto; "
                                                   "install it with conda or from quarto.org to run this test)")
def test_quarto_renders_the_same_briefing(executed_nb, tmp_path):
    """The checks the builtin briefing passes, on Quarto's HTML and Typst PDF (no data folder)."""
    from test_site import no_data_folder
    mp = pytest.MonkeyPatch()
    no_data_folder(mp)
    try:
        out = render(executed_nb, ("html", "pdf"), renderer="quarto")
    finally:
        mp.undo()
    html = out["html"].read_text(encoding="utf-8")
    assert re.search(r'<html [^>]*lang="vi"', html) and "<title>Sơn La: kết quả PAPI năm 2024</title>" in html
    assert "<h1>Sơn La: kết quả PAPI năm 2024</h1>" in html
    assert "Tổng điểm 43,89/80 · Xếp hạng 25/61" in html and "So với năm 2023: +1,49 điểm" in html
    caps = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", html, re.S)]
    assert "Hình 1. Sơn La: kết quả PAPI năm 2024" in [c.replace("\xa0", " ") for c in caps]
    assert any(c.replace("\xa0", " ").startswith("Bảng 1. Điểm thành phần") for c in caps)
    assert html.count('class="papi-tile ') == 3 and '<footer class="briefing-footer">' in html
    assert 'alt="Nguồn: CECODES' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "briefing must not load anything from the network"
    assert "Other Formats" not in html and "fonts.googleapis" not in html
    text = pdf_text(out["pdf"]).replace("\xa0", " ")
    reader = PdfReader(out["pdf"])
    assert all(abs(float(p.mediabox.width) - A4[0]) < 0.5 and abs(float(p.mediabox.height) - A4[1]) < 0.5
               for p in reader.pages)
    assert "Sơn La: kết quả PAPI năm 2024" in text and "Tổng điểm 43,89/80" in text and "42,43" in text
    assert "Hình 1. Sơn La: kết quả PAPI năm 2024" in text and "Hình 2. Second figure" in text
    assert "Bảng 1. Điểm thành phần" in text and f"Trang 1/{len(reader.pages)}" in text
    assert "Nguồn: CECODES, VFF-CRT, RTA và UNDP, PAPI (2024)." in text and "\x00" not in text
    assert pdf_images(out["pdf"]) == 2
    for leak in LEAKS:
        assert leak not in html and leak not in text


REAL_NOTEBOOK = ROOT / "notebooks" / "province_briefing.ipynb"


@pytest.mark.slow
@pytest.mark.skipif(not REAL_NOTEBOOK.is_file(), reason="notebooks/province_briefing.ipynb not written yet")
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_real_briefing_notebook(tmp_path, lang):
    executed = tmp_path / f"son-la-2024.{lang}.ipynb"
    subprocess.run([str(Path(sys.executable).parent / "papermill"), str(REAL_NOTEBOOK), str(executed),
                    "-p", "province", "Sơn La", "-p", "lang", lang, "--log-level", "ERROR"],
                   check=True, capture_output=True, env=dict(os.environ, MPLBACKEND="Agg"))
    out = render(executed, ("html", "pdf"), renderer="builtin")
    html = out["html"].read_text(encoding="utf-8")
    text = pdf_text(out["pdf"])
    b = prepare(executed)
    assert f'<html lang="{lang}">' in html and f"<h1>{b.title.title}</h1>" in html
    assert b.province_name in text and b.title.score_line in text.replace("\n", " ")
    total = b.record["total"]
    from papi_research.data.i18n import fmt_num
    assert fmt_num(total, lang) in text
    n_fig = len(b.figures)
    assert n_fig >= 1 and html.count('<figure class="papi-figure"') == n_fig
    # each chart shown is a figure of its own, numbered, under its own caption (two charts of one cell too)
    assert [(f.number, f.label) for f in b.figures] == [(1, "fig-locator"), (2, "fig-profile"), (3, "fig-trend"),
                                                        (4, "fig-change")]
    word = "Hình" if lang == "vi" else "Figure"
    flat = " ".join(text.split())
    for f in b.figures:
        assert f"{word} {f.number}. {' '.join(f.caption.split())}" in flat
    from conftest import assert_pdf_has_figures, figure_outputs
    counts = figure_outputs(nbformat.read(executed, as_version=4))
    assert counts == {"image/svg+xml": 3, "image/png": 1}  # profile, trend, change; the locator map
    assert_pdf_has_figures(out["pdf"], counts)
    for leak in ("Traceback", "Warning:", "#|", "import "):
        assert leak not in html and leak not in text
    shutil.copy(out["pdf"], tmp_path / "keep.pdf")


def vietnamese_letters() -> str:
    """Every Vietnamese letter: 12 vowels × 6 tones, đ, and their capitals (NFC)."""
    import unicodedata
    vowels = ["a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031b", "u", "u\u031b", "y"]
    tones = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
    low = [unicodedata.normalize("NFC", v + t) for v in vowels for t in tones] + ["đ"]
    assert all(len(c) == 1 for c in low) and len(low) == 73
    return "".join(low) + "".join(c.upper() for c in low)


@pytest.mark.parametrize("font", ["Libertinus Serif", "DejaVu Sans", "DejaVu Serif"])
def test_briefing_fonts_print_every_vietnamese_letter(font):
    import io

    import typst

    from papi_research.render.builtin import _fonts
    letters = vietnamese_letters()
    src = f'#set text(font: "{font}", fallback: false)\n{letters}'.encode()
    pdf = typst.compile(src, font_paths=_fonts(), ignore_system_fonts=True)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert text == letters  # a missing glyph would extract as "\x00"
    fonts = {f.get_object()["/BaseFont"] for f in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()}
    assert any(font.replace(" ", "") in str(f) for f in fonts), fonts
