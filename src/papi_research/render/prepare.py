"""What a briefing shows: an executed notebook cleaned into title block, visible cells and numbered figures.

Both renderers start here, so the builtin and the Quarto output hold the same content.

* **The record** (an output of type ``application/vnd.papi.briefing+json``, displayed by
  ``briefing.base.show_record``) holds the kind (province, new province or national briefing; see
  ``briefing.base.record``), the subject, year, language, scores and the title block (headline, score line,
  change line, footer sentences). Everything is read from the executed
  notebook: rendering needs no data folder. The notebook itself prints no title.
* **Cell options** (Quarto ``#|`` lines at the top of a code cell) are honoured: ``include: false``
  drops the cell, ``output: false`` drops its outputs, ``echo`` (default ``false``: a briefing shows
  no code), ``label``, ``fig-cap``, ``fig-alt``, ``tbl-cap``. Values written ``i18n:<key>`` are resolved
  with ``t(key, lang, province=<province name in lang>, year=<year>)``.
* **Outputs**: stream outputs (stdout/stderr), errors and outputs with nothing but ``text/plain``
  (stray reprs such as ``<Figure size ...>``) are dropped. Cells tagged ``parameters``,
  ``injected-parameters``, ``remove-cell``/``remove_cell`` are dropped; ``remove-output`` keeps none
  of their outputs.
* **Figures**: image outputs (SVG, PNG) of a cell with a ``fig-cap`` (or a ``fig-`` label) are one numbered figure
  ("Hình 1." / "Figure 1."); tables with captions are numbered "Bảng 1." / "Table 1.".
"""

from __future__ import annotations

import html
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

import yaml

from papi_research.briefing.display import RECORD_MIME
from papi_research.data.i18n import check_lang, t
from papi_research.errors import PapiError, ParameterError

if TYPE_CHECKING:  # nbformat is imported where a notebook is read: importing it costs about a second
    import nbformat  # (jsonschema's format checkers compile their grammars), which a cached run never needs

log = logging.getLogger(__name__)

DROP_TAGS = {"parameters", "injected-parameters", "remove-cell", "remove_cell", "remove-input-and-output"}
DROP_OUTPUT_TAGS = {"remove-output", "remove_output"}
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
SKIP_KINDS = {"record", "footer"}


class RenderError(PapiError):
    """A briefing could not be rendered; the message names the notebook, cell and cause."""


@dataclass
class Figure:
    """One numbered figure: its images (MIME type → base64 data), caption and alt text."""

    number: int | None
    label: str | None
    caption: str | None
    alt: str | None
    images: list[tuple[str, str]]


@dataclass
class Block:
    """One piece of the briefing body, in order.

    ``kind`` is ``markdown`` (a markdown cell: ``text``), ``code`` (shown source: ``text``),
    ``output`` (a display bundle: ``data`` MIME → text, ``table_number`` if it is a captioned table)
    or ``figure`` (``figure``).
    """

    kind: str
    text: str = ""
    data: dict[str, str] = field(default_factory=dict)
    figure: Figure | None = None
    table_number: int | None = None
    cell_index: int = -1
    output_kind: str | None = None  # the display bundle's kind (md, table, tiles, callout, pagebreak…)


@dataclass
class TitleBlock:
    """The headline and the score lines printed above the body and in the document metadata."""

    kicker: str
    doc_type: str
    title: str
    region: str
    score_line: str
    change_line: str
    citation: str
    boundaries: str
    merged: str
    produced_by: str
    contents_note: str
    page: str
    figure_word: str
    table_word: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class PreparedBriefing:
    """An executed notebook ready for a renderer: parameters, title block and visible blocks."""

    path: Path
    lang: str
    parameters: dict
    record: dict
    title: TitleBlock
    blocks: list[Block]
    cleaned: nbformat.NotebookNode
    dropped: list[str] = field(default_factory=list)  # outputs the PDF and Word copies cannot show, said why
    links: tuple[str, ...] = ()  # the formats published beside it, which the HTML links to (render(links=...))

    @property
    def year(self) -> int:
        return int(self.record["year"])

    @property
    def province_code(self) -> str:
        return self.record["province"]["code"]

    @property
    def province_name(self) -> str:
        return self.record["province"]["name_" + self.lang]

    @property
    def figures(self) -> list[Figure]:
        return [b.figure for b in self.blocks if b.kind == "figure" and b.figure is not None]

    def word(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "lang": self.lang, "parameters": self.parameters,
                "province": self.province_code, "year": self.year, "title": self.title.to_dict(),
                "blocks": [{"kind": b.kind, "cell_index": b.cell_index} for b in self.blocks]}


# --- cell options --------------------------------------------------------------------------------

def split_cell_options(source: str) -> tuple[dict, str]:
    """Quarto ``#|`` options at the top of a code cell (as a dict) and the rest of the source."""
    lines = source.splitlines()
    opt_lines: list[str] = []
    i = 0
    while i < len(lines) and lines[i].startswith("#|"):
        opt_lines.append(lines[i][2:].removeprefix(" "))
        i += 1
    if not opt_lines:
        return {}, source
    try:
        opts = yaml.safe_load("\n".join(opt_lines)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"cell options are not valid YAML: {exc}") from None
    if not isinstance(opts, dict):
        raise RenderError(f"cell options must be 'key: value' lines; got {opt_lines[0]!r}")
    return opts, "\n".join(lines[i:])


def resolve_option(value: object, lang: str, fields: dict) -> object:
    """``i18n:<key>`` → the catalogue text in ``lang`` (other values unchanged)."""
    if isinstance(value, str) and value.startswith("i18n:"):
        key = value[5:].strip()
        try:
            return t(key, lang, **fields)
        except KeyError:
            raise RenderError(f"cell option refers to translation key {key!r}, which is in no "
                              f"resources/i18n/*.yml catalogue") from None
    return value


def _truthy(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "none")
    return bool(value)


# --- parameters and title block -----------------------------------------------------------------

def read_parameters(nb: nbformat.NotebookNode) -> dict:
    """The papermill parameters of an executed notebook ({} when it was not run by papermill)."""
    return dict(nb.metadata.get("papermill", {}).get("parameters", {}) or {})


RECORD_KEYS = ("province", "year", "lang", "status", "total", "total_max", "rank", "n_ranked", "group", "title")


def read_record(nb: nbformat.NotebookNode, path: Path) -> dict:
    """The briefing record the notebook displayed (``briefing.base.show_record``), checked."""
    found = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
             if RECORD_MIME in out.get("data", {})]
    if not found:
        raise RenderError(f"{path}: no briefing record in the notebook (an output of type {RECORD_MIME}, "
                          "displayed by briefing.show_record(b)); re-run it: papi run ... --force")
    rec = found[0]["data"][RECORD_MIME]
    if not isinstance(rec, dict) or rec.get("schema") != 1:
        raise RenderError(f"{path}: briefing record schema must be 1; got "
                          f"{rec.get('schema') if isinstance(rec, dict) else type(rec).__name__!r}")
    missing = [k for k in RECORD_KEYS if k not in rec]
    missing += [f"province.{k}" for k in ("code", "name_vi", "name_en") if k not in (rec.get("province") or {})]
    missing += [f"title.{k}" for k in TitleBlock.__dataclass_fields__ if k not in (rec.get("title") or {})]
    if missing:
        raise RenderError(f"{path}: briefing record has no {', '.join(missing)}")
    try:
        check_lang(rec["lang"])
    except ParameterError as exc:
        raise RenderError(f"{path}: briefing record lang: {exc}") from None
    return rec


# --- cleaning ------------------------------------------------------------------------------------

def _choose(data: dict) -> dict[str, str]:
    """The MIME types worth keeping from an output (everything but a lone text/plain)."""
    keep = {k: v for k, v in data.items() if k != "text/plain"}
    if not keep:
        return {}
    return {k: ("".join(v) if isinstance(v, list) else v) for k, v in data.items()}


def figure_html(fig: Figure, lang: str) -> str:
    """A figure as HTML: its images as data: URIs, alt text, and the numbered caption."""
    alt = html.escape(fig.alt or fig.caption or "", quote=True)
    ident = f' id="{html.escape(fig.label, quote=True)}"' if fig.label else ""
    # focusable (tabindex): on a phone a chart keeps a readable size and scrolls sideways inside its figure
    label = html.escape(fig.caption or fig.alt or "", quote=True)
    parts = [f'<figure class="papi-figure"{ident} tabindex="0" role="group" aria-label="{label}">']
    for mime, data in fig.images:
        chart = ' class="papi-chart"' if mime == "image/svg+xml" else ""
        parts.append(f'<img{chart} src="{image_src(mime, data)}" alt="{alt}">')
    if fig.caption:
        num = (f'<span class="papi-num">{html.escape(t("rd_figure", lang))} {fig.number}.</span> '
               if fig.number else "")
        parts.append(f"<figcaption>{num}{html.escape(fig.caption)}</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def image_src(mime: str, data: str) -> str:
    """A ``data:`` URI for an image output (PNG/JPEG: the notebook's base64; SVG: its text, encoded here,
    so several SVGs on one page never share element ids)."""
    import base64
    if mime == "image/svg+xml":
        data = base64.b64encode(data.encode("utf-8")).decode("ascii")
    return f"data:{mime};base64,{data.strip()}"


def _number_table_caption(html_text: str, prefix: str) -> str:
    """Insert 'Bảng N.' before the caption of a display.table HTML bundle."""
    return html_text.replace("<figcaption>", f'<figcaption><span class="papi-num">{prefix}</span> ', 1)


def prepare(path: Path | str) -> PreparedBriefing:
    """Read an executed notebook and work out exactly what its briefing shows."""
    path = Path(path)
    if not path.is_file():
        raise RenderError(f"executed notebook not found: {path}")
    try:
        import nbformat
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise RenderError(f"{path}: not a readable notebook ({exc})") from None
    rec = read_record(nb, path)
    lang = rec["lang"]
    fields = {"province": rec["province"]["name_" + lang], "year": rec["year"]}

    cleaned = nb  # read here and held by nothing else: cleaned in place, no deep copy of the whole notebook
    blocks: list[Block] = []
    dropped: list[str] = []
    kept_cells = []
    n_fig = n_tab = 0
    for idx, cell in enumerate(cleaned.cells):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            if tags & DROP_TAGS:
                continue
            kept_cells.append(cell)
            if cell.source.strip():
                blocks.append(Block("markdown", text=cell.source, cell_index=idx))
            continue
        if cell.cell_type != "code" or tags & DROP_TAGS:
            continue
        try:
            opts, code = split_cell_options(cell.source)
            opts = {k: resolve_option(v, lang, fields) for k, v in opts.items()}
        except RenderError as exc:
            raise RenderError(f"{path}: cell {idx}: {exc}") from None
        if not _truthy(opts.get("include"), True):
            continue
        show_output = _truthy(opts.get("output"), True) and not tags & DROP_OUTPUT_TAGS
        echo = _truthy(opts.get("echo"), False)
        label = opts.get("label")
        label = str(label) if label else None
        caption = opts.get("fig-cap")
        alt = opts.get("fig-alt")
        tbl_cap = opts.get("tbl-cap")
        is_fig = bool(caption) or (label or "").startswith("fig-")

        outputs = []
        if echo and code.strip():
            blocks.append(Block("code", text=code.strip("\n"), cell_index=idx))
        images: list[tuple[str, str]] = []  # a captioned cell's plain image outputs: one figure together
        shown: list[Figure] = []  # briefing.show_figure outputs: a figure each, with its own caption
        for out in cell.get("outputs", []) if show_output else []:
            if out.output_type not in ("display_data", "execute_result"):
                continue  # stdout/stderr streams and errors never reach a briefing
            papi = out.get("metadata", {}).get("papi", {})
            if papi.get("kind") in SKIP_KINDS:
                continue  # the record and the Quarto footer: the renderers print them from the record
            data = _choose(out.get("data", {}))
            if not data:
                continue
            img = next((m for m in IMAGE_MIMES if m in data), None)
            if img and papi.get("kind") == "figure":  # briefing.show_figure: caption and alt in the metadata
                shown.append(Figure(number=None, label=papi.get("label") or label, caption=papi.get("caption"),
                                    alt=papi.get("alt"), images=[(img, data[img].strip())]))
                continue
            if img and is_fig and not ({"text/html", "text/markdown"} & set(data)):
                images.append((img, data[img].strip() if img != "image/svg+xml" else data[img]))
                continue
            kind = papi.get("kind")
            if kind is None and "text/markdown" not in data and "text/html" in data:
                table = html_table(data["text/html"], lang)
                if table is not None:  # a researcher's DataFrame: a briefing table in every format
                    from papi_research.briefing.display import rows_bundle
                    data = dict(rows_bundle(table[0], table[1], str(tbl_cap) if tbl_cap else None).data)
                    kind = "table"
                else:
                    dropped.append(f"cell {idx}: an output shown only as HTML (no Markdown, table or image form) "
                                   "is in the HTML briefing but not in the PDF or Word copy")
            elif kind is None and not ({"text/markdown", "text/html"} & set(data)) and not img:
                dropped.append(f"cell {idx}: an output of type {', '.join(sorted(data))} has no form in a briefing")
            block = Block("output", data=data, cell_index=idx, output_kind=kind)
            if kind == "table" and "<figcaption>" in data.get("text/html", ""):
                n_tab += 1
                block.table_number = n_tab
                data["text/html"] = _number_table_caption(data["text/html"],
                                                          f"{t('rd_table', lang)} {n_tab}.")
            blocks.append(block)
            out["data"] = data
            outputs.append(out)
        if images:
            shown.insert(0, Figure(number=None, label=label, caption=str(caption) if caption else None,
                                   alt=str(alt) if alt else None, images=images))
        figures = []
        for fig in shown:
            if fig.caption:
                n_fig += 1
                fig.number = n_fig
            blocks.append(Block("figure", figure=fig, cell_index=idx))
            figures.append({"number": fig.number, "label": fig.label, "caption": fig.caption})
            from nbformat.v4 import new_output
            outputs.append(new_output("display_data", data={"text/html": figure_html(fig, lang)},
                                                  metadata={"papi": {"kind": "figure"}}))
        if not outputs and not figures and not echo:
            continue
        cell.outputs = outputs
        cell.source = code if echo else ""
        cell.metadata["papi"] = {"echo": echo, "label": label, "figures": figures}
        kept_cells.append(cell)
    cleaned.cells = kept_cells
    for what in dropped:  # named in the run's log, never dropped silently
        log.warning("%s: %s", path.name, what)
    return PreparedBriefing(path=path, lang=lang, parameters=read_parameters(nb), record=rec,
                    title=TitleBlock(**{k: rec["title"][k] for k in TitleBlock.__dataclass_fields__}),
                    blocks=blocks, cleaned=cleaned, dropped=dropped)


_NUMBER = re.compile(r"^[−+-]?\d+(?:[.,]\d{3})*\.\d+$|^[−+-]?\d+\.\d+(?:e[−+-]?\d+)?$")


def html_table(text: str, lang: str) -> tuple[list[str], list[list[str]]] | None:
    """The columns and rows of the one ``<table>`` of an HTML output (pandas' DataFrame display), numbers
    written with the briefing's decimal mark (``3,14`` in Vietnamese); None when it is not one plain table."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.rows, self.cell, self.head = 0, [], None, []
            self.in_head = False

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables += 1
            elif tag == "thead":
                self.in_head = True
            elif tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag):
            if tag == "thead":
                self.in_head = False
            elif tag in ("td", "th") and self.cell is not None and self.rows:
                self.rows[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "tr" and self.in_head and self.rows:
                self.head.append(self.rows.pop())

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    if "<table" not in text:
        return None
    p = Cells()
    p.feed(text)
    if p.tables != 1 or not p.head or not p.rows:
        return None
    cols = p.head[-1]
    width = max(len(r) for r in p.rows)
    cols = [""] * (width - len(cols)) + cols if len(cols) < width else cols[:width]

    def mark(v: str) -> str:
        if lang == "vi" and _NUMBER.match(v):
            return v.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return v.replace("-", "−") if _NUMBER.match(v) else v
    rows = [[mark(v) for v in r] + [""] * (width - len(r)) for r in p.rows]
    return cols, rows


def markdown_body(b: "PreparedBriefing", output, figure) -> str:
    """The visible blocks as Pandoc Markdown (both renderers' PDF/Quarto path): markdown cells and
    shown code as they are, ``output(block, n)`` for a display output and ``figure(fig, n)`` for a
    figure (``n``: the block's position, for unique file names)."""
    parts: list[str] = []
    for n, blk in enumerate(b.blocks):
        if blk.kind == "markdown":
            parts.append(blk.text.strip())
        elif blk.kind == "code":
            parts.append("```python\n" + blk.text + "\n```")
        elif blk.kind == "output":
            parts.append(output(blk, n))
        elif blk.kind == "figure" and blk.figure is not None:
            parts.append(figure(blk.figure, n))
    return "\n\n".join(p.strip() for p in parts if p)


def write_images(fig: Figure, folder: Path, stem: str) -> list[str]:
    """Write a figure's images into ``folder`` as ``<stem>-<k>.<ext>``; return the file names."""
    import base64
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for k, (mime, data) in enumerate(fig.images):
        name = f"{stem}-{k}." + {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}[mime]
        (folder / name).write_bytes(data.encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(data))
        names.append(name)
    return names


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` as an int (None when unset); a bad value is a clear error."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ParameterError("SOURCE_DATE_EPOCH", f"must be whole seconds since 1970; got {raw!r}") from None
