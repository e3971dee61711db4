"""render.markup: the builtin PDF's Markdown → Typst, compiled by the real Typst and read back from the PDF."""

from __future__ import annotations

import re

import pytest
import typst
from pypdf import PdfReader

from papi_research.render.builtin import TEMPLATES, _fonts
from papi_research.render.markup import escape, markdown_to_typst


def pdf_text(markdown: str, tmp_path) -> str:
    """``markdown`` converted, compiled with the briefing's callout box, and the PDF's text (one line)."""
    (tmp_path / "briefing.typ").write_text((TEMPLATES / "briefing.typ").read_text(encoding="utf-8"), encoding="utf-8")
    main = tmp_path / "main.typ"
    main.write_text('#import "briefing.typ": papi-callout\n#set text(font: "DejaVu Sans")\n'
                    + markdown_to_typst(markdown), encoding="utf-8")
    pdf = tmp_path / "out.pdf"
    typst.compile(str(main), output=str(pdf), root=str(tmp_path), font_paths=_fonts(), ignore_system_fonts=True)
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(pdf).pages)


def test_text_that_looks_like_typst_syntax_is_printed_as_it_is(tmp_path):
    md = r"Giá \#1 \$5 \*a\* a < b > c @d \[e\] ~f // g -- h = i + j /* k */ 2018–2024 “trích dẫn”"
    text = pdf_text(md, tmp_path)
    assert "Giá #1 $5 *a* a < b > c @d [e] ~f // g -- h = i + j /* k */ 2018–2024 “trích dẫn”" in text
    assert escape("#x_y") == r"\#x\_y"


def test_emphasis_links_code_and_line_breaks(tmp_path):
    md = "Năm 2024 đạt **43,89/80 điểm**, *ngang mức*, ~~cũ~~ [PAPI](https://papi.org.vn) `D1`  \ndòng mới"
    body = markdown_to_typst(md)
    assert "#strong[43,89\\/80 điểm]" in body and "#emph[ngang mức]" in body and "#strike[cũ]" in body
    # a briefing links to nothing (issue 24): a link is its text
    assert "#link" not in body and " PAPI " in body and '#raw("D1")' in body and " \\\n" in body
    text = pdf_text(md, tmp_path)
    assert "Năm 2024 đạt 43,89/80 điểm, ngang mức, cũ PAPI D1 dòng mới" in text


def test_a_paragraph_or_cell_starting_with_a_number_is_not_a_list(tmp_path):
    body = markdown_to_typst("1\\. Tham gia\n\n| Nội dung |\n|---|\n| 2. Công khai |")
    assert body.startswith("1\\. Tham gia") and "[2\\. Công khai]" in body
    assert "1. Tham gia" in pdf_text("1\\. Tham gia", tmp_path)


def test_lists_keep_their_first_number_and_nest(tmp_path):
    md = "3. ba\n4. bốn\n   - lồng\n\n- một\n- hai"
    body = markdown_to_typst(md)
    assert "#enum(start: 3, tight: true," in body and "#list(tight: true," in body
    text = pdf_text(md, tmp_path)
    assert re.search(r"3\. ba 4\. bốn • lồng • một • hai", text), text


def test_tables_keep_widths_alignment_and_only_captioned_ones_are_numbered(tmp_path):
    md = ("| A | B |\n|:---|---:|\n| x | 1,5 |\n\n"
          "| Nội dung | Điểm |\n|:-------------------|------:|\n| Công khai \\| minh bạch | 5,12 |\n\n"
          ": Điểm các nội dung\n")
    body = markdown_to_typst(md)
    first, second = body.split("#figure(")[1:]
    assert "columns: 2," not in first and "columns: (50%, 50%,)" in first and "numbering: none" in first
    assert "align: (left, right,)" in first
    # Pandoc's relative widths: each delimiter segment's share of the row (20 and 7 characters)
    assert "columns: (74.07%, 25.93%,)" in second and "caption: [Điểm các nội dung]" in second
    text = pdf_text(md, tmp_path)
    assert "Table 1: Điểm các nội dung" in text and "Table 2" not in text
    assert "Công khai | minh bạch 5,12" in text


def test_callouts_other_divs_and_raw_blocks(tmp_path):
    md = ("Trước.\n\n::: {.callout-warning appearance=\"simple\"}\nSố liệu theo **63 tỉnh**\n:::\n\n"
          "::: {.aside}\nGhi chú trong div\n:::\n\n"
          "```{=typst}\n#text(fill: red)[THÔ]\n```\n\n```{=html}\n<p>CHỈ HTML</p>\n```\n\n"
          "```python\n::: {.callout-note}\nx = 1\n```\n\nSau <span>nội dòng</span>.")
    body = markdown_to_typst(md)
    assert body.count("#papi-callout(") == 1 and '#papi-callout(kind: "warning")[' in body
    assert '#raw(block: true, lang: "python", "::: {.callout-note}\\nx = 1")' in body
    text = pdf_text(md, tmp_path)
    for needle in ("Trước.", "Số liệu theo 63 tỉnh", "Ghi chú trong div", "THÔ", "x = 1", "Sau nội dòng."):
        assert needle in text
    assert "CHỈ HTML" not in text and "<span>" not in text and ":::" not in text.replace("::: {.callout-note}", "")


@pytest.mark.parametrize("md, needle", [("## Kết quả chung", "== Kết quả chung"),
                                        ("> Trích", "#quote(block: true)[\nTrích\n]"),
                                        ("---", "#line(length: 100%"),
                                        ("![Bản đồ vị trí](map.png)", "Bản đồ vị trí")])
def test_block_elements(md, needle):
    assert needle in markdown_to_typst(md)


def test_bare_web_addresses_are_clickable_links():
    from papi_research.render.markup import markdown_to_typst
    out = markdown_to_typst("Boundaries: geoBoundaries (www.geoboundaries.org), see https://papi.org.vn/eng/.")
    assert '(#link("https://www.geoboundaries.org")[www.geoboundaries.org]),' in out
    assert 'see #link("https://papi.org.vn/eng/")[https:\\/\\/papi.org.vn\\/eng\\/].' in out


def test_a_short_table_stays_whole_and_a_long_one_may_break():
    from papi_research.render.markup import markdown_to_typst
    short = "| A | B |\n|:--|:--|\n| x | y |\n\n: Short"
    assert markdown_to_typst(short).startswith("#block(breakable: false, width: 100%)[#figure(")
    long_ = "| A | B |\n|:--|:--|\n" + "".join(f"| {'word ' * 30} | {i} |\n" for i in range(12)) + "\n: Long"
    assert markdown_to_typst(long_).startswith("#figure(")
