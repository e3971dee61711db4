"""The Word copy of a briefing (``.docx``, python-docx): the same content as the PDF, its tables editable.

Built, like the HTML and the PDF, from the executed notebook as :func:`~papi_research.render.prepare.prepare`
cleaned it: the title block from the record, then every visible block in order —

* Markdown (cells and the display bundles' ``text/markdown``), parsed by mistune as the PDF's is: headings,
  paragraphs with bold, italics and links, bullet and numbered lists; a fenced div (a note or warning) is an
  indented paragraph; raw ``{=typst}``/``{=html}`` blocks are left out (the tiles and the page break have
  their own forms below);
* pipe tables (every briefing table, the action plan among them, and a researcher's DataFrame) as real Word
  tables with a header row that repeats on each page, numbered captions above ("Bảng 1." / "Table 1.");
* score tiles as a one-row table of label, value and note; the action brief's page break as a page break;
* figures as pictures with their numbered captions below (SVG charts drawn to PNG by Typst, the PDF's own
  engine, at the house resolution), alt text kept as the picture's description.

A4 with 2-cm margins, the document language (``vi-VN`` / ``en-GB``) set on the styles so Word checks the
right language; the page footer carries the citation and the page number. The file is the same bytes for the
same notebook (fixed zip dates and document properties).
"""

from __future__ import annotations

import base64
import io
import logging
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from papi_research.render.prepare import PreparedBriefing, RenderError

log = logging.getLogger(__name__)

FONT = "Times New Roman"  # every Vietnamese letter, the administrative standard
LANG_TAG = {"vi": "vi-VN", "en": "en-GB"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_CAPTION = re.compile(r"^(?::|Table:)\s+")


def _parser():
    from papi_research.render.markup import _parser as parser
    return parser()


def svg_to_png(svg: str, dpi: int) -> bytes:
    """An SVG chart as PNG at ``dpi``, drawn by Typst with the PDF's fonts (Word cannot show SVG everywhere)."""
    import typst

    from papi_research.render.builtin import _fonts
    work = Path(tempfile.mkdtemp(prefix="papi-docx-"))
    try:
        (work / "f.svg").write_text(svg, encoding="utf-8")
        (work / "main.typ").write_text('#set page(width: auto, height: auto, margin: 0pt)\n#image("f.svg")\n',
                                       encoding="utf-8")
        out = typst.compile(str(work / "main.typ"), root=str(work), font_paths=_fonts(), ignore_system_fonts=True,
                            format="png", ppi=float(dpi), timestamp=0)
        return out[0] if isinstance(out, list) else out
    except typst.TypstError as exc:
        raise RenderError(f"a chart could not be drawn for the Word file: {exc.message}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Writer:
    """Adds the briefing's blocks to a python-docx ``Document``."""

    def __init__(self, b: PreparedBriefing):
        from docx import Document
        from docx.enum.section import WD_ORIENT
        from docx.shared import Cm, Pt
        self.b = b
        self.doc = Document()
        sec = self.doc.sections[0]
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
        sec.left_margin = sec.right_margin = Cm(2.0)
        sec.top_margin, sec.bottom_margin = Cm(1.8), Cm(2.0)
        self.width = sec.page_width - sec.left_margin - sec.right_margin
        for name in ("Normal", "Heading 1", "Heading 2", "Heading 3", "Heading 4", "Caption", "Title", "Subtitle"):
            try:
                style = self.doc.styles[name]
            except KeyError:
                continue
            style.font.name = FONT
            self._lang(style.element.get_or_add_rPr())
        self.doc.styles["Normal"].font.size = Pt(10.5)
        self.pending_caption: str | None = None

    # --- helpers ---------------------------------------------------------------------------------

    def _lang(self, rpr) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        tag = LANG_TAG[self.b.lang]
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), tag)
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.insert(0, fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), FONT)

    def _inline(self, paragraph, children: list[dict], bold: bool = False, italic: bool = False) -> None:
        for c in children or []:
            kind = c.get("type")
            if kind in ("text", "codespan"):
                run = paragraph.add_run(c.get("raw", ""))
                run.bold, run.italic = bold or None, italic or None
            elif kind == "strong":
                self._inline(paragraph, c.get("children"), True, italic)
            elif kind == "emphasis":
                self._inline(paragraph, c.get("children"), bold, True)
            elif kind == "link":
                self._link(paragraph, c["attrs"].get("url", ""), c.get("children"))
            elif kind in ("linebreak", "softbreak"):
                paragraph.add_run().add_break() if kind == "linebreak" else paragraph.add_run(" ")
            elif kind == "image":
                paragraph.add_run(c.get("attrs", {}).get("alt") or "")
            elif c.get("children"):
                self._inline(paragraph, c["children"], bold, italic)

    def _link(self, paragraph, url: str, children) -> None:
        """A clickable hyperlink (external URL) or the link's text alone (an in-document anchor)."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        text = "".join(x.get("raw", "") for x in _flatten(children)) or url
        if not re.match(r"^(https?|mailto):", url):
            paragraph.add_run(text)
            return
        rid = paragraph.part.relate_to(url, "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                                            "hyperlink", is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), rid)
        run = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        color = OxmlElement("w:color")
        color.set(qn("w:val"), "1F4E8C")
        underline = OxmlElement("w:u")
        underline.set(qn("w:val"), "single")
        rpr.append(color)
        rpr.append(underline)
        run.append(rpr)
        t = OxmlElement("w:t")
        t.text = text
        t.set(qn("xml:space"), "preserve")
        run.append(t)
        link.append(run)
        paragraph._p.append(link)

    # --- blocks ----------------------------------------------------------------------------------

    def markdown(self, text: str) -> None:
        from papi_research.render.markup import _divs
        for kind, part in _divs(text):
            if kind is None:
                self._blocks(_parser()(part))
            else:  # a note or a warning: an indented paragraph in italics
                from docx.shared import Cm
                start = len(self.doc.paragraphs)
                self._blocks(_parser()(part))
                for p in self.doc.paragraphs[start:]:
                    p.paragraph_format.left_indent = Cm(0.6)
                    for r in p.runs:
                        r.italic = True

    def _blocks(self, tokens: list[dict]) -> None:
        tokens = [x for x in tokens if x.get("type") != "blank_line"]
        for i, tok in enumerate(tokens):
            kind = tok.get("type")
            if kind == "heading":
                level = min(int(tok["attrs"]["level"]), 4)
                h = self.doc.add_heading(level=max(1, level - 1))
                self._inline(h, tok.get("children"))
            elif kind == "paragraph":
                raw = "".join(x.get("raw", "") for x in tok.get("children", []) if x.get("type") == "text")
                if i > 0 and tokens[i - 1].get("type") == "table" and _CAPTION.match(raw):
                    continue  # the caption of the table before it, printed above that table
                self._inline(self.doc.add_paragraph(), tok.get("children"))
            elif kind == "list":
                self._list(tok, 0)
            elif kind == "table":
                cap = None
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if nxt is not None and nxt.get("type") == "paragraph":
                    raw = "".join(x.get("raw", "") for x in nxt.get("children", []) if x.get("type") == "text")
                    if _CAPTION.match(raw):
                        cap = _CAPTION.sub("", raw)
                self.table(tok, cap)
            elif kind == "block_code":
                info = (tok.get("attrs") or {}).get("info") or ""
                if info.startswith("{="):
                    continue  # raw Typst/HTML layout: the tiles and page breaks have their own Word forms
                p = self.doc.add_paragraph()
                run = p.add_run(tok.get("raw", "").rstrip("\n"))
                run.font.name = "Courier New"
            elif kind == "block_quote":
                self._blocks(tok.get("children", []))
            elif kind == "thematic_break":
                self.doc.add_paragraph("—")

    def _list(self, tok: dict, depth: int) -> None:
        ordered = tok.get("attrs", {}).get("ordered")
        style = "List Number" if ordered else "List Bullet"
        if depth:
            style += f" {min(depth + 1, 3)}"
        for item in tok.get("children", []):
            for child in item.get("children", []):
                if child.get("type") in ("block_text", "paragraph"):
                    self._inline(self.doc.add_paragraph(style=style), child.get("children"))
                elif child.get("type") == "list":
                    self._list(child, depth + 1)

    def table(self, tok: dict, caption: str | None) -> None:
        """A pipe table as an editable Word table: caption above, header row repeated on each page."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        head = next((x for x in tok["children"] if x["type"] == "table_head"), None)
        body = next((x for x in tok["children"] if x["type"] == "table_body"), {"children": []})
        header = head["children"] if head else []
        rows = [r["children"] for r in body.get("children", [])]
        if caption:
            self.number_table(caption)
        t = self.doc.add_table(rows=1 + len(rows), cols=len(header))
        t.style = "Table Grid"
        trpr = t.rows[0]._tr.get_or_add_trPr()
        repeat = OxmlElement("w:tblHeader")
        repeat.set(qn("w:val"), "true")
        trpr.append(repeat)
        for r_i, cells in enumerate([header] + rows):
            for c_i, cell in enumerate(cells):
                p = t.cell(r_i, c_i).paragraphs[0]
                self._inline(p, cell.get("children"), bold=r_i == 0)
                if (cell.get("attrs") or {}).get("align") == "right":
                    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        self.doc.add_paragraph()

    def number_table(self, caption: str) -> None:
        self.n_tables = getattr(self, "n_tables", 0) + 1
        p = self.doc.add_paragraph(style="Caption")
        p.add_run(f"{self.b.word('rd_table')} {self.n_tables}. ").bold = True
        p.add_run(caption)
        p.paragraph_format.keep_with_next = True

    def tiles(self, plain: str) -> None:
        """Score tiles (label: value (note) per line) as a one-row table."""
        items = []
        for line in plain.splitlines():
            m = re.match(r"^(.*?): (.*?)(?: \((.*)\))?$", line)
            if m:
                items.append(m.groups())
        if not items:
            return
        t = self.doc.add_table(rows=1, cols=len(items))
        t.style = "Table Grid"
        for i, (label, value, sub) in enumerate(items):
            cell = t.cell(0, i)
            cell.paragraphs[0].add_run(label)
            cell.add_paragraph().add_run(value).bold = True
            if sub:
                from docx.shared import Pt
                cell.add_paragraph().add_run(sub).font.size = Pt(8.5)
        self.doc.add_paragraph()

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def figure(self, fig) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        from papi_research.briefing.display import DPI
        for mime, data in fig.images:
            png = svg_to_png(data, DPI) if mime == "image/svg+xml" else base64.b64decode(data)
            width_px = int.from_bytes(png[16:20], "big") if png[:8] == b"\x89PNG\r\n\x1a\n" else 0
            from docx.shared import Inches
            width = min(self.width, Inches(width_px / DPI)) if width_px else self.width
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.keep_with_next = True
            shape = p.add_run().add_picture(io.BytesIO(png), width=width)
            if fig.alt:
                shape._inline.docPr.set("descr", fig.alt)
        if fig.caption:
            p = self.doc.add_paragraph(style="Caption")
            if fig.number:
                p.add_run(f"{self.b.word('rd_figure')} {fig.number}. ").bold = True
            p.add_run(fig.caption)

    def title_block(self) -> None:
        tb = self.b.title
        from docx.shared import Pt, RGBColor
        p = self.doc.add_paragraph()
        r = p.add_run(tb.kicker)
        r.font.size, r.font.color.rgb = Pt(8.5), RGBColor(0x1F, 0x4E, 0x8C)
        self.doc.add_heading(tb.title, level=0)
        for text, bold in ((tb.region, False), (tb.score_line, True), (tb.change_line, False)):
            if text:
                self.doc.add_paragraph().add_run(text).bold = bold or None

    def footer(self) -> None:
        """The closing block (citation, boundaries, provenance) and the page footer (citation, page N)."""
        tb = self.b.title
        for text in (tb.citation, tb.boundaries, tb.merged, tb.produced_by):
            if text:
                self.doc.add_paragraph(text)
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        p = self.doc.sections[0].footer.paragraphs[0]
        p.text = tb.citation + " · "
        run = p.add_run()
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                fld = OxmlElement("w:fldChar")
                fld.set(qn("w:fldCharType"), kind)
                run._r.append(fld)
            else:
                instr = OxmlElement("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = text
                run._r.append(instr)


def reference_doc() -> bytes:
    """The reference document Quarto's Word format is given (``templates/quarto/reference-a4.docx``): the
    builtin Word copy's page (A4, 2-cm margins) and fonts, so both renderers' Word files look alike."""
    from docx import Document
    from docx.shared import Cm, Pt
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.0)
    sec.top_margin, sec.bottom_margin = Cm(1.8), Cm(2.0)
    for name in ("Normal", "Heading 1", "Heading 2", "Heading 3", "Caption", "Title"):
        doc.styles[name].font.name = FONT
    doc.styles["Normal"].font.size = Pt(10.5)
    import datetime as dt
    props = doc.core_properties
    props.author = props.last_modified_by = "papi-research"
    props.created = props.modified = dt.datetime(2000, 1, 1)
    props.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue())


def _flatten(children) -> list[dict]:
    out = []
    for c in children or []:
        out.append(c)
        out += _flatten(c.get("children"))
    return [c for c in out if "raw" in c]


def docx_bytes(b: PreparedBriefing) -> bytes:
    """The briefing as a Word document (bytes, the same for the same notebook)."""
    w = _Writer(b)
    w.title_block()
    for blk in b.blocks:
        if blk.kind == "markdown":
            w.markdown(blk.text)
        elif blk.kind == "code":
            p = w.doc.add_paragraph()
            p.add_run(blk.text).font.name = "Courier New"
        elif blk.kind == "figure" and blk.figure is not None:
            w.figure(blk.figure)
        elif blk.kind == "output":
            kind = blk.output_kind
            if kind == "tiles":
                w.tiles(blk.data.get("text/plain", ""))
            elif kind == "pagebreak":
                w.page_break()
            elif "text/markdown" in blk.data:
                w.markdown(blk.data["text/markdown"])
            elif "image/png" in blk.data:
                from docx.shared import Inches

                from papi_research.briefing.display import DPI
                png = base64.b64decode(blk.data["image/png"])
                width_px = int.from_bytes(png[16:20], "big")
                w.doc.add_picture(io.BytesIO(png), width=min(w.width, Inches(width_px / DPI)))
    w.footer()
    props = w.doc.core_properties
    props.title = b.title.title
    props.language = LANG_TAG[b.lang]
    props.author = props.last_modified_by = "papi-research"
    import datetime as dt
    props.created = props.modified = dt.datetime(2000, 1, 1)
    props.revision = 1
    buf = io.BytesIO()
    w.doc.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same package with every entry dated 1980-01-01 (python-docx stamps the time of saving)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()
