"""Rich notebook output: display bundles (HTML + Markdown/Typst) that both briefing renderers understand.

Each function builds a *bundle*: a ``dict`` of MIME type → text holding

* ``text/html`` – used by the HTML renderers (nbconvert template, Quarto HTML), styled by the
  briefing CSS (``render/templates/briefing.css``) through ``papi-*`` classes;
* ``text/markdown`` – Pandoc Markdown used for the PDF (builtin Pandoc → Typst, or Quarto's Typst
  format); layout that Markdown cannot express (score tiles) is a self-contained ```` ```{=typst} ````
  raw block, callouts are Quarto callout divs (``::: {.callout-note}``);
* ``text/plain`` – a readable fallback for terminals and plain Jupyter.

``md(text)``, ``table(df, caption)``, ``tiles(items)`` and ``callout(text, kind)`` *display* the bundle
(in a notebook) and return ``None`` (so a call ending a cell does not display it twice); the
``*_bundle`` functions build and return the :class:`Bundle` without displaying it.

Every bundle carries ``metadata = {"papi": {"kind": ...}}`` so a renderer can tell what it is.

**Quarto.** Quarto adds CDN scripts (require.js, jQuery) to any notebook with a ``text/html``
output, so what Quarto renders is Markdown only: :func:`quarto_markdown` turns a bundle into the
Markdown Quarto reads natively (raw ``{=html}`` / ``{=typst}`` blocks for layout Markdown cannot
express, ``{#tbl-...}`` ids so tables are numbered, ``![caption](file){#fig-... fig-alt=...}``
figures). When Quarto itself executes a notebook (it sets ``QUARTO_FIG_FORMAT`` for the kernel),
:func:`show_bundle` displays that form; the Quarto renderer converts an executed notebook the same way.
"""

from __future__ import annotations

import base64
import html
import itertools
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import mistune

from papi_research.data.text import escape_literals, literal, md_escape
from papi_research.errors import ParameterError

if TYPE_CHECKING:  # pandas is imported where a table is made: a render process needs none
    import pandas as pd

TONES = ("good", "neutral", "bad")
CALLOUT_KINDS = ("note", "warning")

# Typst colours for the tile tones (kept in step with the CSS variables in briefing.css).
_TYPST_TONE = {"good": ('rgb("#e8f3ec")', 'rgb("#1e7a46")'),
               "neutral": ('rgb("#f1f3f6")', 'rgb("#5b6573")'),
               "bad": ('rgb("#fbeceb")', 'rgb("#b3261e")')}

class _TextOnlyLinks(mistune.HTMLRenderer):
    """Briefings link to nothing and load nothing: a Markdown link is its text, an image its alt text
    (the catalogue writes neither; this keeps anything that slips into a sentence inert)."""

    def link(self, text: str, url: str, title: str | None = None) -> str:
        return text

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return text


_to_html = mistune.create_markdown(escape=True, renderer=_TextOnlyLinks(escape=True),
                                   plugins=["strikethrough", "table"])


def _markdown_to_html(text: str) -> str:
    return _to_html(text)


@dataclass(frozen=True)
class Bundle:
    """One display bundle: MIME type → text, plus metadata naming its kind."""

    kind: str
    data: dict[str, str]
    metadata: dict = field(default_factory=dict)

    @property
    def html(self) -> str:
        return self.data["text/html"]

    @property
    def markdown(self) -> str:
        return self.data["text/markdown"]

    @property
    def plain(self) -> str:
        return self.data["text/plain"]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "data": dict(self.data), "metadata": dict(self.metadata)}

    def _repr_mimebundle_(self, include=None, exclude=None):
        return dict(self.data), dict(self.metadata)


def _bundle(kind: str, html_text: str, markdown: str, plain: str) -> Bundle:
    return Bundle(kind=kind, data={"text/html": html_text, "text/markdown": markdown, "text/plain": plain},
                  metadata={"papi": {"kind": kind}})


def show_bundle(bundle: Bundle) -> None:
    """Display ``bundle`` under IPython (its Quarto form when Quarto executes the notebook);
    outside IPython print the plain text."""
    from IPython import get_ipython
    from IPython.display import display
    if get_ipython() is not None:
        data = quarto_data(bundle, _quarto_files()) if under_quarto() else bundle.data
        display(data, metadata=bundle.metadata, raw=True)
    else:
        print(bundle.plain)



def typst_str(text: str) -> str:
    """``text`` as a Typst string literal (quotes and backslashes escaped)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _md_cell(text: object) -> str:
    """A table cell for a Pandoc pipe table: one line, pipes escaped."""
    s = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    s = s.replace("\n", " ").strip()
    if literal(s):  # a cell that is a data-derived string (a name, a label): all of it escaped
        return md_escape(s)
    return escape_literals(s.replace("\\", "\\\\").replace("|", "\\|"))


def _check_text(value: object, parameter: str) -> str:
    if not isinstance(value, str):
        raise ParameterError(parameter, f"must be a string; got {type(value).__name__}")
    return value


# --- Markdown text -----------------------------------------------------------------------------

def md_bundle(text: str) -> Bundle:
    """A paragraph (or several) of Markdown; HTML is rendered in-process, raw HTML escaped."""
    text = escape_literals(_check_text(text, "text").strip())
    return _bundle("md", '<div class="papi-md">' + _markdown_to_html(text) + "</div>", text, text)


def md(text: str) -> None:
    """Display Markdown text (a sentence or a paragraph from the catalogue)."""
    return show_bundle(md_bundle(text))


# --- Tables ------------------------------------------------------------------------------------

_NUMERIC = re.compile(r"^[−+\-–]?[\d.,  ]+%?(/\d+)?$|^–$")


def _is_numeric_column(values: Iterable[object]) -> bool:
    vals = [str(v).strip() for v in values if v is not None and str(v).strip() != ""]
    return bool(vals) and all(_NUMERIC.match(v) for v in vals)


def table_bundle(df: pd.DataFrame, caption: str | None = None, widths: list[int] | None = None) -> Bundle:
    """A table whose cells are already formatted strings (the index is not shown); ``widths``: the columns'
    relative widths in the PDF (default: from their contents)."""
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise ParameterError("df", f"must be a pandas DataFrame; got {type(df).__name__}")
    cols = [str(c) for c in df.columns]
    rows = [["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in r]
            for r in df.itertuples(index=False, name=None)]
    return rows_bundle(cols, rows, caption, widths)


def rows_bundle(cols: list[str], rows: list[list[str]], caption: str | None = None,
                widths: list[int] | None = None) -> Bundle:
    """:func:`table_bundle` of column names and rows of strings (no pandas: a render process uses it)."""
    if caption is not None:
        caption = _check_text(caption, "caption")
    numeric = [_is_numeric_column(r[i] for r in rows) for i in range(len(cols))]

    # HTML
    def cls(i: int) -> str:
        return ' class="num"' if numeric[i] else ""

    # focusable (tabindex) with a name: a wide table scrolls sideways inside its figure on a phone
    label = html.escape(caption or (cols[0] if cols else ""), quote=True)
    parts = [f'<figure class="papi-table" tabindex="0" role="group" aria-label="{label}">']
    if caption:
        parts.append(f"<figcaption>{html.escape(caption)}</figcaption>")
    parts.append("<table><thead><tr>")
    parts += [f"<th{cls(i)}>{html.escape(c)}</th>" for i, c in enumerate(cols)]
    parts.append("</tr></thead><tbody>")
    for r in rows:
        parts.append("<tr>" + "".join(f"<td{cls(i)}>{html.escape(v)}</td>" for i, v in enumerate(r)) + "</tr>")
    parts.append("</tbody></table></figure>")

    # Markdown (Pandoc pipe table; the caption follows as ": caption")
    # dash counts give Pandoc the relative column widths (content length, capped), so wide tables
    # get sensible proportions in the PDF
    # (+5 stands for the cell padding, so short numeric columns are never narrower than their numbers)
    dashes = [max(7 if numeric[i] else 3, min(30, max([min(len(cols[i]), 12)] + [len(w) for w in cols[i].split()]
                                                      + [len(r[i]) for r in rows]))) + 5
              for i in range(len(cols))]
    if widths is not None:
        if len(widths) != len(cols) or not all(isinstance(w, int) and w > 0 for w in widths):
            raise ParameterError("widths", f"must be {len(cols)} positive whole numbers; got {widths!r}")
        dashes = list(widths)
    lines = ["| " + " | ".join(_md_cell(c) for c in cols) + " |",
             "|" + "|".join(("-" * n + ":") if numeric[i] else (":" + "-" * n) for i, n in enumerate(dashes)) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in rows]
    markdown = "\n".join(lines)
    if caption:
        markdown += "\n\n: " + _md_cell(caption)

    # plain text
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    plain_lines = ([caption] if caption else []) + [
        "  ".join(c.ljust(w) for c, w in zip(cols, widths)),
        *("  ".join(v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
          for r in rows)]
    return _bundle("table", "".join(parts), markdown, "\n".join(plain_lines))


def table(df: pd.DataFrame, caption: str | None = None, widths: list[int] | None = None) -> None:
    """Display a table of formatted strings with an optional caption (``widths``: see :func:`table_bundle`)."""
    return show_bundle(table_bundle(df, caption, widths))


# --- Score tiles -------------------------------------------------------------------------------

def _check_tiles(items: object) -> list[dict[str, str]]:
    if not isinstance(items, (list, tuple)) or not items:
        raise ParameterError("items", "must be a non-empty list of dicts with 'label' and 'value'")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ParameterError(f"items[{i}]", f"must be a dict; got {type(item).__name__}")
        for key in ("label", "value"):
            if key not in item or item[key] is None:
                raise ParameterError(f"items[{i}].{key}", "is required")
        tone = item.get("tone") or "neutral"
        if tone not in TONES:
            raise ParameterError(f"items[{i}].tone", f"must be one of {', '.join(TONES)}; got {tone!r}")
        out.append({"label": str(item["label"]), "value": str(item["value"]),
                    "sub": "" if item.get("sub") is None else str(item["sub"]), "tone": tone})
    return out


def tiles_bundle(items: list[dict]) -> Bundle:
    """Score tiles: each item {"label", "value", "sub" (optional), "tone" good|neutral|bad}."""
    tiles = _check_tiles(items)
    esc = html.escape
    cells = []
    for it in tiles:
        sub = f'<div class="papi-tile-sub">{esc(it["sub"])}</div>' if it["sub"] else ""
        cells.append(f'<div class="papi-tile papi-tone-{it["tone"]}"><div class="papi-tile-label">{esc(it["label"])}'
                     f'</div><div class="papi-tile-value">{esc(it["value"])}</div>{sub}</div>')
    html_text = f'<div class="papi-tiles" data-n="{len(tiles)}">' + "".join(cells) + "</div>"

    ncols = min(4, len(tiles))
    cells_typ = []
    for it in tiles:
        fill, ink = _TYPST_TONE[it["tone"]]
        body = [f"#text(size: 7.5pt, fill: rgb(\"#444b55\"), {typst_str(it['label'])})",
                f"#text(size: 15pt, weight: \"bold\", fill: {ink}, {typst_str(it['value'])})"]
        if it["sub"]:
            body.append(f"#text(size: 7.5pt, fill: rgb(\"#5b6573\"), {typst_str(it['sub'])})")
        cells_typ.append(f"  grid.cell(fill: {fill}, stroke: (left: 2.5pt + {ink}), inset: (x: 7pt, y: 6pt))[\n    "
                         + " \\\n    ".join(body) + "\n  ],")
    # grid cells (not blocks) so every tile of a row has the same height
    typst = (f"#block(breakable: false, below: 10pt, grid(columns: (1fr,) * {ncols}, column-gutter: 6pt, "
             f"row-gutter: 6pt,\n" + "\n".join(cells_typ) + "\n))")
    markdown = raw_block("html", html_text) + "\n\n" + raw_block("typst", typst)
    plain = "\n".join(f"{it['label']}: {it['value']}" + (f" ({it['sub']})" if it["sub"] else "") for it in tiles)
    return _bundle("tiles", html_text, markdown, plain)


def tiles(items: list[dict]) -> None:
    """Display score tiles (headline numbers: total, rank, group, change...)."""
    return show_bundle(tiles_bundle(items))


# --- Callouts ----------------------------------------------------------------------------------

def callout_bundle(text: str, kind: str = "note") -> Bundle:
    """A boxed note or warning; ``text`` is Markdown."""
    text = escape_literals(_check_text(text, "text").strip())
    if kind not in CALLOUT_KINDS:
        raise ParameterError("kind", f"must be one of {', '.join(CALLOUT_KINDS)}; got {kind!r}")
    html_text = (f'<div class="papi-callout papi-callout-{kind}" role="note">' + _markdown_to_html(text) + "</div>")
    markdown = f"::: {{.callout-{kind} appearance=\"simple\"}}\n{text}\n:::"
    return _bundle("callout", html_text, markdown, text)


def callout(text: str, kind: str = "note") -> None:
    """Display a boxed note (``kind="note"``) or warning (``kind="warning"``)."""
    return show_bundle(callout_bundle(text, kind))


def page_break_bundle() -> Bundle:
    """A page break in the PDF (a raw Typst ``#pagebreak``); in HTML a marker that breaks the page when printed."""
    return _bundle("pagebreak", '<div class="papi-pagebreak" aria-hidden="true"></div>',
                   raw_block("typst", "#pagebreak(weak: true)"), "")


def page_break() -> None:
    """Display a page break (the action brief ends with one, so the evidence starts on a page of its own)."""
    return show_bundle(page_break_bundle())


# --- Record, footer and figures ------------------------------------------------------------------

DPI = 150
"""Dots per inch of every figure's PNG (a 6.4-inch figure is 960 pixels wide): figures are drawn at it,
renderers size images by it (kept here, not in ``figures``, so a renderer need not import matplotlib)."""

WIDTH = 6.4
"""Figure width in inches: the text width of an A4 page with 2-cm margins, give or take."""

RECORD_MIME = "application/vnd.papi.briefing+json"
"""MIME type of the briefing record (the facts the title block, the site and the manifest read)."""


def raw_block(fmt: str, text: str) -> str:
    """A Pandoc raw block (``html`` or ``typst``): kept by that output format, dropped by the others."""
    return f"```{{={fmt}}}\n{text}\n```"


def masthead_html(title: Mapping[str, str]) -> str:
    """The briefing's title block as HTML (``title``: :func:`papi_research.briefing.province.title_facts`)."""
    e = html.escape
    return (f'<header class="masthead">\n<span class="doc-type">{e(title["doc_type"])}</span>\n'
            f'<p class="kicker">{e(title["kicker"])}</p>\n<h1>{e(title["title"])}</h1>\n'
            f'<p class="region">{e(title["region"])}</p>\n<p class="score-line">{e(title["score_line"])}</p>\n'
            f'<p class="change-line">{e(title["change_line"])}</p>\n</header>')


def footer_html(title: Mapping[str, str]) -> str:
    """The closing block as HTML: citation, boundaries and merger, contents note and provenance."""
    e = html.escape
    return (f'<footer class="briefing-footer">\n<p class="citation">{e(title["citation"])}</p>\n'
            f'<p>{e(title["boundaries"])} {e(title["merged"])}</p>\n'
            f'<p>{e(title["contents_note"])} {e(title["produced_by"])}</p>\n</footer>')


def _typst_call(function: str, args: Mapping[str, str]) -> str:
    return f"#{function}(" + ", ".join(f"{k}: {typst_str(v)}" for k, v in args.items()) + ")"


def record_bundle(record: Mapping) -> Bundle:
    """The record as a bundle: JSON for every reader, and for Quarto a YAML metadata block (page
    title, language, caption words) with the masthead in HTML and Typst."""
    tb = record["title"]
    meta = {"pagetitle": tb["title"], "lang": record["lang"],
            "crossref": {"fig-title": tb["figure_word"], "tbl-title": tb["table_word"], "title-delim": "."}}
    import yaml
    typst = "\n".join([
        f"#metadata((citation: {typst_str(tb['citation'])}, page: {typst_str(tb['page'])})) <papi-page>",
        _typst_call("papi-masthead", {"title": tb["title"], "kicker": tb["kicker"], "doc-type": tb["doc_type"],
                                      "region": tb["region"], "score-line": tb["score_line"],
                                      "change-line": tb["change_line"]})])
    markdown = ("\n---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n"
                + raw_block("html", masthead_html(tb)) + "\n\n" + raw_block("typst", typst) + "\n")
    plain = "\n".join([tb["title"], tb["score_line"], tb["change_line"]])
    # text/html is for Jupyter only: the renderers skip this output, and under Quarto show_bundle
    # passes the Markdown alone
    return Bundle(kind="record", data={RECORD_MIME: dict(record), "text/html": masthead_html(tb),
                                       "text/markdown": markdown, "text/plain": plain},
                  metadata={"papi": {"kind": "record"}})


def footer_bundle(title: Mapping[str, str]) -> Bundle:
    """The closing block as raw HTML and Typst Markdown (for Quarto; the builtin renderer prints its own)."""
    typst = _typst_call("papi-closing", {"citation": title["citation"], "boundaries": title["boundaries"],
                                         "merged": title["merged"], "note": title["contents_note"],
                                         "produced-by": title["produced_by"]})
    markdown = raw_block("html", footer_html(title)) + "\n\n" + raw_block("typst", typst)
    plain = "\n".join([title["citation"], title["boundaries"], title["merged"]])
    return Bundle(kind="footer", data={"text/html": footer_html(title), "text/markdown": markdown, "text/plain": plain},
                  metadata={"papi": {"kind": "footer"}})


def figure_bundle(image: bytes | str, label: str, caption: str, alt: str, plotted: dict | None = None) -> Bundle:
    """A numbered figure: PNG (``bytes``) or SVG (``str``), with its label (``fig-...``), caption and alt
    text in the metadata, and what it plots (``plotted``: ``figures.plotted``, the numbers and words
    ``papi verify`` compares figures by) when given."""
    for name, value in (("label", label), ("caption", caption), ("alt", alt)):
        _check_text(value, name)
    if not re.fullmatch(r"fig-[A-Za-z0-9_-]+", label):
        raise ParameterError("label", f"must look like fig-name (letters, digits, - and _); got {label!r}")
    if isinstance(image, str):
        if "<svg" not in image[:2000]:
            raise ParameterError("image", "a figure given as text must be SVG (an <svg> document)")
        data = {"image/svg+xml": image}
    elif isinstance(image, (bytes, bytearray)) and bytes(image[:8]) == b"\x89PNG\r\n\x1a\n":
        data = {"image/png": base64.b64encode(image).decode("ascii")}
    else:
        raise ParameterError("image", f"must be PNG bytes or SVG text; got {type(image).__name__}")
    papi = {"kind": "figure", "label": label, "caption": caption, "alt": alt}
    if plotted is not None:
        papi["plotted"] = plotted
    return Bundle(kind="figure", data={**data, "text/plain": caption}, metadata={"papi": papi})


def _md_escape(text: str) -> str:
    """Text safe inside Markdown brackets (image captions)."""
    return re.sub(r"([\\\[\]*_`<>])", r"\\\1", text)


def figure_markdown(path: str, label: str, caption: str, alt: str) -> str:
    """A Quarto cross-referenced figure: ``![caption](path){#label fig-alt="alt"}``."""
    alt_attr = alt.replace("\\", "\\\\").replace('"', '\\"')
    return f'![{_md_escape(caption)}]({path}){{#{label} fig-alt="{alt_attr}"}}'


# --- Quarto form ---------------------------------------------------------------------------------

QUARTO_ENV = "QUARTO_FIG_FORMAT"
"""Set by Quarto for the kernels it runs (with ``QUARTO_FIG_WIDTH`` and friends)."""

_IDS = itertools.count(1)


def under_quarto() -> bool:
    """Whether Quarto is executing this kernel's notebook."""
    return bool(os.environ.get(QUARTO_ENV))


def _quarto_files() -> Path:
    """Where figures go while Quarto executes a notebook: its ``<stem>_files/mediabag`` folder, which
    Quarto removes after rendering."""
    stem = Path(os.environ.get("QUARTO_DOCUMENT_FILE") or "briefing.ipynb").stem
    return Path(f"{stem}_files") / "mediabag"


def quarto_markdown(data: Mapping[str, object], metadata: Mapping | None = None, files: Path | None = None,
                    table_id: str | None = None, link: str | None = None) -> str | None:
    """The Markdown Quarto should render for one display bundle (None: nothing to show).

    ``files`` is the folder figure images are written to, ``link`` the same folder as the Markdown
    refers to it (default: ``files`` as written); ``table_id`` numbers a captioned table (default:
    the next ``tbl-papi-N``).
    """
    papi = dict((metadata or {}).get("papi") or {})
    kind = papi.get("kind")
    image = next((m for m in ("image/svg+xml", "image/png") if m in data), None)
    if (kind == "figure" and image) or (kind is None and "text/markdown" not in data and image):
        if files is None:
            return None
        files.mkdir(parents=True, exist_ok=True)
        label = papi.get("label") or f"fig-papi-{next(_IDS)}"
        raw = data[image]
        raw = "".join(raw) if isinstance(raw, list) else raw
        target = files / f"{label}.{'svg' if image == 'image/svg+xml' else 'png'}"
        target.write_bytes(raw.encode("utf-8") if image == "image/svg+xml" else base64.b64decode(raw))
        href = f"{link}/{target.name}" if link else target.as_posix()
        if kind != "figure":
            return f"![]({href})"
        return figure_markdown(href, label, papi.get("caption") or "", papi.get("alt") or "")
    text = data.get("text/markdown")
    text = "".join(text) if isinstance(text, list) else text
    if text is None:
        html_text = data.get("text/html")
        if html_text is None:
            return None
        return raw_block("html", "".join(html_text) if isinstance(html_text, list) else html_text)
    if kind == "table":
        lines = text.rstrip("\n").split("\n")
        if lines[-1].startswith(": "):
            lines[-1] += " {#" + (table_id or f"tbl-papi-{next(_IDS)}") + "}"
        text = "::: {.papi-table}\n" + "\n".join(lines) + "\n:::"
    return text


def quarto_data(bundle: Bundle, files: Path | None = None) -> dict[str, object]:
    """The bundle as Quarto should see it: ``text/markdown`` (+ ``text/plain``), never ``text/html``."""
    text = quarto_markdown(bundle.data, bundle.metadata, files)
    out: dict[str, object] = {} if text is None else {"text/markdown": text}
    if "text/plain" in bundle.data:
        out["text/plain"] = bundle.data["text/plain"]
    return out


__all__ = ["Bundle", "md", "table", "tiles", "callout", "md_bundle", "table_bundle", "tiles_bundle",
           "callout_bundle", "typst_str", "TONES", "CALLOUT_KINDS", "RECORD_MIME", "record_bundle",
           "footer_bundle", "figure_bundle", "quarto_markdown", "quarto_data", "show_bundle", "under_quarto",
           "masthead_html", "footer_html", "raw_block"]
