"""The Word copy (render/word.py): read back with python-docx, the same briefing as the HTML and the PDF."""

from __future__ import annotations

import hashlib
import zipfile

import docx
import pytest

from papi_research.render import render
from papi_research.render.prepare import prepare
from papi_research.render.quarto import QUARTO_FILES, QUARTO_TEMPLATES
from papi_research.render.word import docx_bytes, reference_doc


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_word_copy_holds_the_briefing_with_editable_tables(tmp_path, lang):
    from conftest import synthetic_notebook
    nb = synthetic_notebook(tmp_path / f"son-la-2024.{lang}.ipynb", lang=lang)
    out = render(nb, ("docx",), renderer="builtin")
    assert set(out) == {"docx"} and out["docx"] == nb.with_suffix(".docx")
    d = docx.Document(str(out["docx"]))
    sec = d.sections[0]
    assert round(sec.page_width.cm, 1) == 21.0 and round(sec.page_height.cm, 1) == 29.7  # A4
    text = "\n".join(p.text for p in d.paragraphs)
    b = prepare(nb)
    assert b.title.title in text and b.title.score_line in text
    assert ("Tổng điểm đạt 42,43." if lang == "vi" else "The total is 42.43.") in text
    # the table is a real table, its caption numbered above it
    word = "Bảng" if lang == "vi" else "Table"
    caption = "Điểm thành phần" if lang == "vi" else "Dimension scores"
    assert f"{word} 1. {caption}" in text
    cells = [[c.text for c in r.cells] for t in d.tables for r in t.rows]
    assert ["Tham gia", "5,12" if lang == "vi" else "5.12"] in cells
    # tiles become a table too; the two captioned figures are pictures with numbered captions
    assert any(r[0].startswith("Tổng điểm" if lang == "vi" else "Total") for r in cells)
    assert len(d.inline_shapes) == 2
    fig = "Hình" if lang == "vi" else "Figure"
    assert f"{fig} 2. Second figure" in text
    for leak in ("STDERR-LEAK", "STDOUT-LEAK", "HIDDEN-CELL", "HIDDEN-OUTPUT", "PLAIN-REPR", "#|"):
        assert leak not in text
    styles = zipfile.ZipFile(out["docx"]).read("word/styles.xml").decode()
    assert {"vi": 'w:val="vi-VN"', "en": 'w:val="en-GB"'}[lang] in styles
    assert b.title.citation in d.sections[0].footer.paragraphs[0].text


def test_word_copy_is_the_same_bytes_for_the_same_notebook(executed_nb):
    b = prepare(executed_nb)
    assert hashlib.sha256(docx_bytes(b)).digest() == hashlib.sha256(docx_bytes(prepare(executed_nb))).digest()


def test_quarto_word_format_gets_the_committed_a4_reference_document():
    ref = QUARTO_TEMPLATES / "reference-a4.docx"
    assert ref in QUARTO_FILES and ref.read_bytes() == reference_doc()  # regenerate with word.reference_doc()
    d = docx.Document(str(ref))
    assert round(d.sections[0].page_width.cm, 1) == 21.0


def test_an_output_without_a_pdf_or_word_form_is_named_in_the_log(tmp_path, caplog):
    import nbformat
    from conftest import synthetic_notebook
    path = synthetic_notebook(tmp_path / "son-la-2024.vi.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("HTML('<b>x</b>')", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": "<b>HTML-ONLY</b>", "text/plain": "<IPython.core.display.HTML>"})]))
    nb.cells.append(nbformat.v4.new_code_cell("#| tbl-cap: \"Own table\"\ndf", outputs=[nbformat.v4.new_output(
        "execute_result", execution_count=3, data={
            "text/html": "<table class='dataframe'><thead><tr><th></th><th>x</th></tr></thead>"
                         "<tbody><tr><th>0</th><td>1.25</td></tr></tbody></table>", "text/plain": "x"})]))
    nbformat.write(nb, path)
    with caplog.at_level("WARNING"):
        b = prepare(path)
    assert any("HTML-ONLY" not in r.getMessage() and f"cell {len(nb.cells) - 2}" in r.getMessage()
               and "not in the PDF or Word copy" in r.getMessage() for r in caplog.records)
    assert len(b.dropped) == 1
    table = [blk for blk in b.blocks if blk.output_kind == "table" and "Own table" in blk.data.get("text/markdown", "")]
    assert table and "| 0 | 1,25 |" in table[0].data["text/markdown"]  # the briefing's decimal mark
