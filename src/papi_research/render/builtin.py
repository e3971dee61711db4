"""The pip-only renderer: HTML through nbconvert with the briefing template, A4 PDF through Typst.

* HTML: :class:`nbconvert.HTMLExporter` with the ``briefing`` template (``templates/briefing``), run on
  the cleaned notebook of :func:`briefing.prepare`; CSS inline, images as ``data:`` URIs, no scripts,
  so the file is self-contained and works offline.
* PDF: the visible blocks become Markdown (``text/markdown`` of the display bundles, figures as raw
  Typst ``#figure``), :mod:`~papi_research.render.markup` writes it as Typst (mistune, the parser the
  HTML uses; no Pandoc process per briefing), and the ``typst`` Python package compiles it in-process
  with ``briefing.typ`` (A4, footer with citation and page numbers). Fonts: the DejaVu fonts that
  matplotlib ships plus Typst's embedded Libertinus — no system fonts, so the PDF is the same on every
  machine and covers every Vietnamese letter.

The exporter, the Jinja template and the Typst font set are built once per process and reused.
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from papi_research import __version__
from papi_research.briefing.display import DPI, WIDTH, typst_str
from papi_research.data.files import atomic_write_bytes
from papi_research.render.markup import markdown_to_typst
from papi_research.render.prepare import PreparedBriefing, RenderError, markdown_body, source_date_epoch, write_images

TEMPLATES = Path(__file__).resolve().parent / "templates"
_LOCK = threading.Lock()  # nbconvert exporters and Jinja environments are not thread-safe


# --- HTML ----------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _css() -> str:
    return (TEMPLATES / "briefing.css").read_text(encoding="utf-8")


def _exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class BriefingExporter(HTMLExporter):
        """nbconvert's HTML exporter without its accessibility pass over the finished page (alt text for
        images that have none, tabindex on JupyterLab cells, done by re-parsing the whole page with
        BeautifulSoup, a sixth of a briefing's render time): the briefing template writes the alt text of
        every image itself and has no JupyterLab cells."""

        def from_notebook_node(self, nb, resources=None, **kw):
            lang = nb.metadata.get("language_info", {})
            lexer = lang.get("pygments_lexer", lang.get("name", None))
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return BriefingExporter


@lru_cache(maxsize=1)
def _exporter():
    from traitlets.config import Config
    # The notebook is already cleaned by render.prepare: no preprocessors (nbconvert validates the whole
    # notebook again after each one, which cost a quarter of a second per briefing for nothing).
    config = Config({"HTMLExporter": Config({"default_preprocessors": []})})
    exp = _exporter_class()(config=config, extra_template_basedirs=[str(TEMPLATES)], template_name="briefing",
                       exclude_input_prompt=True, exclude_output_prompt=True, exclude_anchor_links=True)
    exp.display_data_priority = ["text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown"]
    return exp


def links_html(b: PreparedBriefing, formats: tuple[str, ...] = ("html",)) -> str:
    """The briefing's links: its other language, its PDF and Word copies (the formats rendered with it) and
    the index of every briefing (``papi site``), relative, so a copied reports folder keeps working."""
    import html as _html
    stem = b.path.stem  # son-la-2021.vi
    other = "en" if b.lang == "vi" else "vi"
    base = stem[: -len(b.lang)] if stem.endswith("." + b.lang) else stem + "."
    depth = 3 if b.record.get("kind") == "unit_briefing" else 2  # <year>/units-2025/<slug>/ or <year>/<slug>/
    items = [(f"{base}{other}.html", b.word("rd_other_language"), other)]
    if "pdf" in formats:
        items.append((f"{stem}.pdf", b.word("rd_link_pdf"), None))
    if "docx" in formats:
        items.append((f"{stem}.docx", b.word("rd_link_docx"), None))
    items.append(("../" * depth + "index.html", b.word("rd_link_index"), None))
    links = "".join(f'<a href="{_html.escape(href)}"' + (f' hreflang="{lang}" lang="{lang}"' if lang else "")
                    + f">{_html.escape(text)}</a>" for href, text, lang in items)
    return f'<nav class="papi-links" aria-label="{_html.escape(b.word("rd_links_label"))}">{links}</nav>'


def html_text(b: PreparedBriefing, formats: tuple[str, ...] = ("html",)) -> str:
    """The briefing as one self-contained HTML document (linking the other ``formats`` rendered with it)."""
    from papi_research.briefing.display import footer_html, masthead_html
    title = b.title.to_dict()
    resources = {"papi": {"lang": b.lang, "title": title, "css": _css(), "version": __version__,
                          "province_code": b.province_code, "year": b.year,
                          "masthead": links_html(b, formats) + masthead_html(title), "footer": footer_html(title)}}
    with _LOCK:
        body, _ = _exporter().from_notebook_node(b.cleaned, resources=resources)
    return body


# --- PDF -----------------------------------------------------------------------------------------

def pdf_width(raw: bytes, mime: str) -> str:
    """A figure's width on the A4 page: the text width, or its own width when it is narrower (a small
    locator map stays small). PNG widths come from the header at the house dpi (``display.DPI``), SVG
    widths from the root element's ``width`` in points (as matplotlib writes it)."""
    if mime == "image/svg+xml":
        found = re.search(rb'<svg[^>]*?\swidth="([\d.]+)pt"', raw[:4000])
        if found is None:
            return "100%"
        inches = float(found.group(1)) / 72
    elif mime != "image/png" or len(raw) < 24 or raw[:8] != b"\x89PNG\r\n\x1a\n":
        return "100%"
    else:
        inches = int.from_bytes(raw[16:20], "big") / DPI
    return "100%" if inches >= WIDTH - 0.05 else f"{inches:.2f}in"


def briefing_markdown(b: PreparedBriefing, image_dir: Path) -> str:
    """Markdown of the briefing body (for :func:`markup.markdown_to_typst`); figure images are written into
    ``image_dir``."""
    def output(blk, n: int) -> str:
        d = blk.data
        if "text/markdown" in d:
            return d["text/markdown"]
        if "image/png" in d or "image/jpeg" in d:
            mime = "image/png" if "image/png" in d else "image/jpeg"
            name = f"img-{n}.{mime.split('/')[1]}"
            (image_dir / name).write_bytes(base64.b64decode(d[mime]))
            return f"```{{=typst}}\n#align(center, image({typst_str(name)}, width: 100%))\n```"
        return ""  # text/html-only outputs have no PDF form; display.* bundles always carry text/markdown

    def figure(fig, n: int) -> str:
        alt = f", alt: {typst_str(fig.alt)}" if fig.alt else ""
        imgs = [f"image({typst_str(name)}, width: {pdf_width((image_dir / name).read_bytes(), mime)}{alt})"
                for name, (mime, _) in zip(write_images(fig, image_dir, f"fig-{fig.number or 'x'}-{n}"), fig.images)]
        body = imgs[0] if len(imgs) == 1 else "stack(spacing: 6pt, " + ", ".join(imgs) + ")"
        cap = f", caption: {typst_str(fig.caption)}" if fig.caption else ""
        numbering = "" if fig.number else ", numbering: none"
        label = f" <{fig.label}>" if fig.label and all(c.isalnum() or c in "-_" for c in fig.label) else ""
        return f"```{{=typst}}\n#figure({body}{cap}{numbering}, kind: image){label}\n```"

    return markdown_body(b, output, figure) + "\n"


@lru_cache(maxsize=1)
def font_dirs() -> tuple[str, ...]:
    """Font folders for Typst: matplotlib's DejaVu (full Vietnamese coverage), always available. Found
    without importing matplotlib (a render process stays small)."""
    from importlib.util import find_spec
    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RenderError("matplotlib is not installed: its DejaVu fonts are the PDF's fonts")
    return (str(Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"),)


@lru_cache(maxsize=1)
def _fonts():
    import typst
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=list(font_dirs()))


def warm_typst() -> None:
    """Load the fonts and compile a one-line document once, so a new render process's first briefing
    is not the slow one (called when the process starts, while the kernel works)."""
    import typst
    work = Path(tempfile.mkdtemp(prefix="papi-typst-"))
    try:
        (work / "main.typ").write_text('#set text(font: "DejaVu Sans", lang: "vi")\nPAPI: Sơn La 42,43', encoding="utf-8")
        typst.compile(str(work / "main.typ"), root=str(work), font_paths=_fonts(), ignore_system_fonts=True,
                      timestamp=0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def typst_main(b: PreparedBriefing, body: str) -> str:
    """The Typst main file: the briefing layout applied to ``body``."""
    tb = b.title
    page_word = b.word("rd_page", page="#p", total="#n")
    args = {"lang": b.lang, "title": tb.title, "kicker": tb.kicker, "doc-type": tb.doc_type, "region": tb.region,
            "score-line": tb.score_line, "change-line": tb.change_line, "citation": tb.citation,
            "boundaries": tb.boundaries, "merged": tb.merged, "note": tb.contents_note,
            "produced-by": tb.produced_by, "figure-word": b.word("rd_figure"), "table-word": b.word("rd_table")}
    arg_text = ",\n  ".join(f"{k}: {typst_str(v)}" for k, v in args.items())
    return ('#import "briefing.typ": briefing, papi-callout\n'
            f"#show: briefing.with(\n  {arg_text},\n  page-word: (p, n) => [{page_word}],\n)\n\n" + body)


def pdf_bytes(b: PreparedBriefing, keep_dir: Path | None = None) -> bytes:
    """The briefing as an A4 PDF (bytes). ``keep_dir`` keeps the Typst sources there (for debugging)."""
    import typst
    work = Path(tempfile.mkdtemp(prefix="papi-typst-"))
    try:
        md = briefing_markdown(b, work)
        body = markdown_to_typst(md)
        shutil.copyfile(TEMPLATES / "briefing.typ", work / "briefing.typ")
        main = work / "main.typ"
        main.write_text(typst_main(b, body), encoding="utf-8")
        epoch = source_date_epoch()
        try:
            pdf, warnings = typst.compile_with_warnings(str(main), root=str(work), font_paths=_fonts(),
                                                        ignore_system_fonts=True,
                                                        timestamp=epoch if epoch is not None else 0)
        except typst.TypstError as exc:
            raise RenderError(f"Typst could not compile the briefing {b.path.name}: {exc.message} "
                              f"{exc.diagnostic}".strip()) from None
        if warnings:  # e.g. a glyph missing from the fonts: the PDF would print a wrong letter
            raise RenderError(f"Typst warned while compiling the briefing {b.path.name}: "
                              + "; ".join(w.message for w in warnings))
        if keep_dir is not None:
            shutil.copytree(work, keep_dir, dirs_exist_ok=True)
        return pdf
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- files ---------------------------------------------------------------------------------------



class BuiltinRenderer:
    """HTML (nbconvert), PDF (mistune → Typst) and Word (python-docx), pip-installable only."""

    name = "builtin"
    formats = ("html", "pdf", "docx")

    @staticmethod
    def available() -> tuple[bool, str]:
        return True, "always available (nbconvert, mistune, typst)"

    @staticmethod
    def version() -> str:
        """The renderer's version for the manifest: the package's, with the libraries that write the files."""
        from papi_research.data.provenance import package_versions
        v = package_versions()
        return f"papi-research {__version__} (nbconvert {v['nbconvert']}, mistune {v['mistune']}, typst {v['typst']})"

    def render(self, b: PreparedBriefing, formats: tuple[str, ...], outputs: dict[str, Path]) -> dict[str, Path]:
        done: dict[str, Path] = {}
        if "html" in formats:
            done["html"] = atomic_write_bytes(outputs["html"], html_text(b, b.links or formats).encode("utf-8"))
        if "pdf" in formats:
            done["pdf"] = atomic_write_bytes(outputs["pdf"], pdf_bytes(b))
        if "docx" in formats:
            from papi_research.render.word import docx_bytes
            done["docx"] = atomic_write_bytes(outputs["docx"], docx_bytes(b))
        return done
