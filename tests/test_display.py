"""display: multi-MIME bundles for HTML and PDF, validated input, real kernel output, Typst that compiles."""

from __future__ import annotations

import nbformat
import pandas as pd
import pypandoc
import pytest
import typst
from nbclient import NotebookClient

from papi_research.briefing import display as d
from papi_research.errors import ParameterError
from papi_research.render.builtin import TEMPLATES, _fonts
from papi_research.render.markup import markdown_to_typst

MIMES = {"text/html", "text/markdown", "text/plain"}


def compile_typst(markdown: str, tmp_path) -> str:
    """The bundle's Markdown → Typst → PDF (typst) → extracted text, through both converters that read
    it: the builtin PDF's (mistune, ``render.markup``) and Pandoc's (what Quarto runs). Both must give
    the same text; it is returned."""
    from pypdf import PdfReader
    texts = []
    for name, body in (("markup", markdown_to_typst(markdown)),
                       ("pandoc", pypandoc.convert_text(markdown, "typst", format="markdown",
                                                        extra_args=[f"--lua-filter={TEMPLATES / 'callout.lua'}"]))):
        main = tmp_path / f"{name}.typ"
        main.write_text('#import "briefing.typ": papi-callout\n#set text(font: "DejaVu Sans")\n' + body,
                        encoding="utf-8")
        (tmp_path / "briefing.typ").write_text((TEMPLATES / "briefing.typ").read_text(encoding="utf-8"),
                                               encoding="utf-8")
        pdf = tmp_path / f"{name}.pdf"
        typst.compile(str(main), output=str(pdf), root=str(tmp_path), font_paths=_fonts(), ignore_system_fonts=True)
        texts.append("\n".join(p.extract_text() for p in PdfReader(pdf).pages))
    assert texts[0].split() == texts[1].split(), texts
    return texts[0]


def test_md_bundle_renders_markdown_and_escapes_html():
    b = d.md_bundle("Tổng điểm **42,43** <script>x</script>")
    assert set(b.data) == MIMES and b.metadata == {"papi": {"kind": "md"}}
    assert "<strong>42,43</strong>" in b.html
    assert "<script>" not in b.html and "&lt;script&gt;" in b.html
    assert b.markdown == "Tổng điểm **42,43** <script>x</script>"


def test_table_bundle_aligns_numbers_escapes_and_captions():
    df = pd.DataFrame({"Nội dung": ["Công khai | minh bạch", "Thủ tục <hành chính>"],
                       "Điểm": ["5,12", "−0,40"], "Hạng": ["3/61", "–"]})
    b = d.table_bundle(df, caption="Điểm các nội dung")
    lines = b.markdown.splitlines()
    assert lines[0] == "| Nội dung | Điểm | Hạng |"
    # widths follow the content (+5 for cell padding; numeric columns at least 7 wide)
    assert lines[1] == "|:" + "-" * (21 + 5) + "|" + "-" * (7 + 5) + ":|" + "-" * (7 + 5) + ":|"
    assert "Công khai \\| minh bạch" in lines[2]
    assert lines[-1] == ": Điểm các nội dung"
    assert '<td class="num">5,12</td>' in b.html and "&lt;hành chính&gt;" in b.html
    assert "<figcaption>Điểm các nội dung</figcaption>" in b.html
    typst_body = pypandoc.convert_text(b.markdown, "typst", format="markdown")
    assert "table(" in typst_body and "caption: [Điểm các nội dung]" in typst_body
    assert "Công khai | minh bạch" in typst_body


def test_table_rejects_non_frames():
    with pytest.raises(ParameterError, match="df"):
        d.table_bundle([["a"]])


def test_tiles_bundle_validates_and_its_typst_compiles(tmp_path):
    items = [{"label": "Tổng điểm", "value": "42,43", "sub": "/80", "tone": "good"},
             {"label": "Xếp hạng \"quý\"", "value": "27/60"},
             {"label": "Thay đổi", "value": "−1,50", "tone": "bad"}]
    b = d.tiles_bundle(items)
    assert b.html.count('class="papi-tile ') == 3
    assert "papi-tone-good" in b.html and "papi-tone-neutral" in b.html and "papi-tone-bad" in b.html
    # Markdown carries both layouts: raw HTML for Quarto's HTML, raw Typst for every PDF
    assert b.markdown.startswith("```{=html}\n" + b.html + "\n```\n\n```{=typst}\n") and b.markdown.endswith("\n```")
    text = compile_typst(b.markdown, tmp_path)
    for needle in ("Tổng điểm", "42,43", "Xếp hạng \"quý\"", "27/60", "−1,50"):
        assert needle in text
    with pytest.raises(ParameterError, match=r"items\[1\]\.tone"):
        d.tiles_bundle([items[0], {"label": "x", "value": "1", "tone": "great"}])
    with pytest.raises(ParameterError, match=r"items\[0\]\.value"):
        d.tiles_bundle([{"label": "x"}])
    with pytest.raises(ParameterError, match="items"):
        d.tiles_bundle([])


def test_callout_bundle_is_a_quarto_callout_and_compiles(tmp_path):
    b = d.callout_bundle("Số liệu theo **63 tỉnh**", kind="warning")
    assert b.markdown == '::: {.callout-warning appearance="simple"}\nSố liệu theo **63 tỉnh**\n:::'
    assert 'class="papi-callout papi-callout-warning"' in b.html and "<strong>63 tỉnh</strong>" in b.html
    assert "Số liệu theo 63 tỉnh" in compile_typst(b.markdown, tmp_path)
    with pytest.raises(ParameterError, match="kind"):
        d.callout_bundle("x", kind="danger")


def test_display_functions_emit_bundles_in_a_real_kernel():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import pandas as pd\nfrom papi_research.briefing import display as d\n"
        "d.md('**Sơn La**')\n"
        "d.tiles([{'label': 'Tổng điểm', 'value': '42,43', 'tone': 'good'}])\n"
        "d.table(pd.DataFrame({'a': ['1,0']}), caption='Bảng')\n"
        "d.callout('Lưu ý')")])
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    outs = nb.cells[0].outputs
    assert [o.output_type for o in outs] == ["display_data"] * 4  # nothing returned → no duplicate result
    assert [o.metadata["papi"]["kind"] for o in outs] == ["md", "tiles", "table", "callout"]
    assert all(MIMES <= set(o.data) for o in outs)


def test_display_outside_ipython_prints_plain_text(capsys):
    d.md("Tổng điểm **42,43**")
    assert capsys.readouterr().out.strip() == "Tổng điểm **42,43**"


def test_quarto_markdown_numbers_tables_and_writes_figures(tmp_path):
    """The Quarto form of each bundle: Markdown only, captioned tables with ids, figures as files."""
    import base64

    import pandas as pd
    tb = d.table_bundle(pd.DataFrame({"Nội dung": ["Tham gia"], "Điểm": ["5,12"]}), caption="Điểm thành phần")
    md = d.quarto_markdown(tb.data, tb.metadata, table_id="tbl-7")
    assert md.startswith("::: {.papi-table}\n| Nội dung | Điểm |") and md.endswith(": Điểm thành phần {#tbl-7}\n:::")
    png = base64.b64decode(_png_b64())
    fb = d.figure_bundle(png, label="fig-profile", caption="Điểm [8] nội dung", alt='Biểu đồ "chấm"')
    md = d.quarto_markdown(fb.data, fb.metadata, files=tmp_path / "f", link="f")
    assert md == '![Điểm \\[8\\] nội dung](f/fig-profile.png){#fig-profile fig-alt="Biểu đồ \\"chấm\\""}'
    assert (tmp_path / "f" / "fig-profile.png").read_bytes() == png
    q = d.quarto_data(d.md_bundle("Một **câu**."))
    assert q == {"text/markdown": "Một **câu**.", "text/plain": "Một **câu**."}  # never text/html
    with pytest.raises(ParameterError, match="label"):
        d.figure_bundle(png, label="profile", caption="c", alt="a")
    svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100pt" height="50pt"></svg>\n'
    sb = d.figure_bundle(svg, label="fig-trend", caption="Xu hướng", alt="Biểu đồ đường")
    assert set(sb.data) == {"image/svg+xml", "text/plain"} and sb.data["image/svg+xml"] == svg
    md = d.quarto_markdown(sb.data, sb.metadata, files=tmp_path / "f", link="f")
    assert md == '![Xu hướng](f/fig-trend.svg){#fig-trend fig-alt="Biểu đồ đường"}'
    assert (tmp_path / "f" / "fig-trend.svg").read_text(encoding="utf-8") == svg
    for bad in ("not an image", b"GIF89a"):
        with pytest.raises(ParameterError, match="image"):
            d.figure_bundle(bad, label="fig-x", caption="c", alt="a")


def test_show_bundle_gives_quarto_markdown_only_when_quarto_runs_the_kernel(monkeypatch):
    monkeypatch.delenv("QUARTO_FIG_FORMAT", raising=False)
    assert not d.under_quarto()
    monkeypatch.setenv("QUARTO_FIG_FORMAT", "png")
    assert d.under_quarto()


def _png_b64() -> str:
    from conftest import png_figure
    return png_figure()


def test_show_displays_runs_of_paragraphs_as_one_output_and_keeps_lists_apart(monkeypatch):
    """A section's heading and paragraphs in a row are one Markdown output (fewer outputs to send and store);
    two lists in a row stay two outputs, so Markdown never joins them into one list."""
    import pandas as pd

    from papi_research.briefing.base import Section, show
    shown = []
    monkeypatch.setattr(d, "show_bundle", shown.append)
    s = Section("change", "Thay đổi")
    s.md("Đoạn một.")
    s.add("heading", text="Chi tiết", level=3)
    s.md("Đoạn hai.")
    s.add("md", text="- mục một")
    s.add("md", text="- mục hai")
    s.add("table", frame=pd.DataFrame({"A": ["1"]}), caption="Bảng")
    s.md("Sau bảng.")
    show(s)
    assert [b.kind for b in shown] == ["md", "md", "table", "md"]
    assert shown[0].markdown == "## Thay đổi\n\nĐoạn một.\n\n### Chi tiết\n\nĐoạn hai.\n\n- mục một"
    assert shown[1].markdown == "- mục hai" and shown[3].markdown == "Sau bảng."
    assert shown[0].html.count("<p>") == 2 and "<h2>Thay đổi</h2>" in shown[0].html
