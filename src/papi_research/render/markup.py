"""Markdown → Typst markup for the builtin PDF, with the same Markdown parser as the HTML (mistune).

The display bundles' ``text/markdown`` and the notebook's Markdown cells are parsed by mistune (the
parser :mod:`papi_research.briefing.display` already uses for their HTML) and written as Typst markup,
so the HTML and the PDF read the same Markdown the same way. What the briefing uses, and what the
PDF makes of it:

* headings (``##`` → ``==``), paragraphs, ``*emphasis*``, ``**strong**``, ``~~strike~~``, links,
  inline code, hard line breaks, block quotes, horizontal rules, bullet and numbered lists (a
  numbered list keeps its first number);
* pipe tables: a ``#figure(table(...), kind: table)`` with the columns' alignment and, as in Pandoc,
  widths in proportion to the delimiter row's segments; a paragraph ``: caption`` (or
  ``Table: caption``) right after a table is its caption, and only captioned tables are numbered
  (as in the HTML);
* raw blocks: ```` ```{=typst} ```` is copied as it is, other ``{=format}`` blocks and raw HTML are
  dropped; other fenced code is printed verbatim;
* fenced divs (``::: {.callout-note}`` … ``:::``): Quarto callouts become ``#papi-callout`` boxes
  (defined in ``templates/briefing.typ``); the content of any other div is kept without a box;
* images in Markdown text have no file to point to in the PDF: their alt text is printed.

Text is escaped so that nothing in it is read as Typst markup (``#``, ``$``, ``*``, ``_``, ``<``,
``@``, brackets, ``//`` comments, list markers at the start of a line…).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from papi_research.briefing.display import typst_str

KEEP_WHOLE_LINES = 24
"""A table of at most this many printed lines (estimated from its cells' lengths and its columns' widths) is
never split across pages nor cut from its caption; a longer one breaks between rows, its header repeated."""
LINE_CHARS = 100  # characters of table text across the A4 text width

CALLOUT_KINDS = {"callout-note": "note", "callout-tip": "note", "callout-warning": "warning",
                 "callout-important": "warning", "callout-caution": "warning"}

# Characters that Typst markup would otherwise read as syntax; each is written with a backslash.
_ESCAPE = re.compile(r"([\\#$*_`<>@\[\]~/=+\-])")
_DIV_OPEN = re.compile(r"^(:{3,})\s*(?:\{([^}]*)\}|([\w-]+))?\s*$")
_DIV_CLOSE = re.compile(r"^(:{3,})\s*$")
_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_CAPTION = re.compile(r"^(?::|Table:)\s+")


@lru_cache(maxsize=1)
def _parser():
    import mistune
    return mistune.create_markdown(renderer=None, plugins=["strikethrough", "table"])


def escape(text: str) -> str:
    """``text`` as literal Typst markup: every syntax character escaped (quotes stay smart quotes)."""
    return _ESCAPE.sub(r"\\\1", text)


def markdown_to_typst(markdown: str) -> str:
    """Typst markup for ``markdown`` (see the module docstring for what is supported)."""
    parts = []
    for kind, text in _divs(markdown):
        if kind is None:
            parts.append(_Writer(text).blocks(_parser()(text)))
        else:
            inner = markdown_to_typst(text)
            parts.append(f'#papi-callout(kind: "{kind}")[\n{inner}\n]' if kind != "div" else inner)
    return "\n\n".join(p for p in parts if p.strip())


def _divs(markdown: str) -> list[tuple[str | None, str]]:
    """Split ``markdown`` at its top-level fenced divs: (None, text) outside, (kind, content) inside,
    kind being a callout kind or ``"div"``. Fences inside code blocks are left alone."""
    out: list[tuple[str | None, str]] = []
    buf: list[str] = []
    depth, kind = 0, None
    for line, code in _code_lines(markdown):
        stripped = line.strip()
        if not code:
            opened = _DIV_OPEN.match(stripped)
            if opened and (opened.group(2) is not None or opened.group(3)):
                if depth == 0:
                    out.append((None, "\n".join(buf)))
                    buf = []
                    classes = re.findall(r"\.([\w-]+)", opened.group(2) or "") + [opened.group(3) or ""]
                    kind = next((CALLOUT_KINDS[c] for c in classes if c in CALLOUT_KINDS), "div")
                    depth = 1
                    continue
                depth += 1
            elif depth and _DIV_CLOSE.match(stripped):
                depth -= 1
                if depth == 0:
                    out.append((kind, "\n".join(buf)))
                    buf = []
                    continue
        buf.append(line)
    if buf:
        out.append((kind if depth else None, "\n".join(buf)))
    return [(k, t) for k, t in out if t.strip()]


class _Writer:
    """Writes mistune's syntax tree of one Markdown text as Typst markup."""

    def __init__(self, source: str):
        # The widths of the source's pipe tables, in order: mistune keeps the alignment, not the dashes.
        self.widths = [_segment_widths(line) for line in _outside_code(source)
                       if "|" in line and _DELIMITER_ROW.match(line)]
        self.n_table = 0

    # blocks
    def blocks(self, tokens: list[dict]) -> str:
        out: list[str] = []
        tokens = [t for t in tokens if t["type"] != "blank_line"]
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok["type"] == "table":
                caption = None
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if nxt is not None and nxt["type"] == "paragraph" and _is_caption(nxt):
                    caption = _CAPTION.sub("", self.inline(nxt["children"]), count=1)
                    i += 1
                out.append(self.table(tok, caption))
            else:
                text = self.block(tok)
                if text:
                    out.append(text)
            i += 1
        return "\n\n".join(out)

    def block(self, tok: dict) -> str:
        kind = tok["type"]
        if kind in ("paragraph", "block_text"):
            return self.inline(tok["children"])
        if kind == "heading":
            return "=" * int(tok["attrs"]["level"]) + " " + self.inline(tok["children"])
        if kind == "list":
            return self.list(tok)
        if kind == "block_quote":
            return "#quote(block: true)[\n" + self.blocks(tok["children"]) + "\n]"
        if kind == "thematic_break":
            return "#line(length: 100%, stroke: 0.5pt)"
        if kind == "block_code":
            info = (tok.get("attrs") or {}).get("info") or ""
            raw = tok["raw"].rstrip("\n")
            if info.strip() == "{=typst}":
                return raw
            if info.strip().startswith("{="):
                return ""  # a raw block for another format (HTML)
            lang = info.split()[0] if info.split() else ""
            return f"#raw(block: true, lang: {typst_str(lang)}, {typst_str(raw)})" if lang else \
                f"#raw(block: true, {typst_str(raw)})"
        if kind == "block_html":
            return ""
        return self.inline(tok.get("children", [])) if "children" in tok else escape(tok.get("raw", ""))

    def list(self, tok: dict) -> str:
        attrs = tok.get("attrs") or {}
        items = ["[" + self.blocks(item["children"]) + "]" for item in tok["children"]]
        tight = "true" if tok.get("tight", True) else "false"
        if attrs.get("ordered"):
            return f"#enum(start: {int(attrs.get('start') or 1)}, tight: {tight},\n  " + ",\n  ".join(items) + ",\n)"
        return f"#list(tight: {tight},\n  " + ",\n  ".join(items) + ",\n)"

    def table(self, tok: dict, caption: str | None) -> str:
        head = next((c for c in tok["children"] if c["type"] == "table_head"), {"children": []})
        body = next((c for c in tok["children"] if c["type"] == "table_body"), {"children": []})
        n = len(head["children"])
        widths = self.widths[self.n_table] if self.n_table < len(self.widths) else None
        self.n_table += 1
        columns = f"({', '.join(widths)},)" if widths is not None and len(widths) == n else str(n)
        align = "(" + ", ".join((c.get("attrs") or {}).get("align") or "left" for c in head["children"]) + ",)"

        def cells(row: dict) -> str:
            return ", ".join("[" + self.inline(c["children"]) + "]" for c in row["children"])

        lines = [f"    columns: {columns},", f"    align: {align},",
                 f"    table.header({cells(head)},),", "    table.hline(),"]
        lines += [f"    {cells(row)}," for row in body["children"]]
        cap = f",\n  caption: [{caption}]" if caption is not None else ",\n  numbering: none"
        fig = "figure(\n  align(center)[#table(\n" + "\n".join(lines) + f"\n  )]{cap},\n  kind: table,\n)"
        if self._lines(head, body, widths) <= KEEP_WHOLE_LINES:  # a short table stays whole, with its caption
            return "#block(breakable: false, width: 100%)[#" + fig + "]"
        return "#" + fig

    @staticmethod
    def _lines(head: dict, body: dict, widths: list[str] | None) -> int:
        """Estimated printed lines of a table: per row, its tallest cell's text wrapped in its column."""
        rows = [head] + body["children"]
        n = len(head["children"]) or 1
        shares = [float(w.rstrip("%")) / 100 for w in widths] if widths and len(widths) == n else [1 / n] * n

        def text(cell: dict) -> str:
            out = []
            for c in cell.get("children", []):
                out.append(c.get("raw", "") if "raw" in c else text(c))
            return "".join(out)
        return sum(max((-(-len(text(c)) // max(1, int(LINE_CHARS * s))) or 1)
                       for c, s in zip(r["children"], shares)) for r in rows)

    # inline
    def inline(self, tokens: list[dict]) -> str:
        text = "".join(self.span(t) for t in tokens)
        return re.sub(r"^(\s*\d+)\.", r"\1\\.", text) if text[:1].isdigit() else text

    def span(self, tok: dict) -> str:
        kind = tok["type"]
        if kind == "text":
            return _autolink(tok["raw"])
        if kind == "emphasis":
            return "#emph[" + self.inline(tok["children"]) + "]"
        if kind == "strong":
            return "#strong[" + self.inline(tok["children"]) + "]"
        if kind == "strikethrough":
            return "#strike[" + self.inline(tok["children"]) + "]"
        if kind == "codespan":
            return "#raw(" + typst_str(tok["raw"]) + ")"
        if kind == "link":  # a briefing links to nothing (display._TextOnlyLinks): the link's text
            return self.inline(tok["children"])
        if kind == "image":
            return self.inline(tok.get("children", []))  # no image file in the PDF: its alt text
        if kind == "softbreak":
            return " "
        if kind == "linebreak":
            return " \\\n"
        if kind == "inline_html":
            return ""
        return self.inline(tok["children"]) if "children" in tok else escape(tok.get("raw", ""))


_URL = re.compile(r"(https?://[^\s<>()\[\]]+[^\s<>()\[\].,;:]|www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^\s<>()\[\]]*[^\s<>()\[\].,;:])?)",
                  re.I)


def _autolink(text: str) -> str:
    """Escaped text whose bare web addresses (``https://…``, ``www.…``) are clickable links in the PDF."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = m.group(0)
        out.append(escape(text[last:m.start()]))
        out.append(f"#link({typst_str(url if '://' in url else 'https://' + url)})[{escape(url)}]")
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _is_caption(tok: dict) -> bool:
    first = tok["children"][0] if tok.get("children") else None
    return first is not None and first["type"] == "text" and bool(_CAPTION.match(first["raw"]))


def _code_lines(source: str) -> Iterator[tuple[str, bool]]:
    """Each line of ``source`` and whether it belongs to a fenced code (or raw) block, fences included."""
    fence = None
    for line in source.split("\n"):
        stripped = line.strip()
        if fence is None and stripped[:3] in ("```", "~~~"):
            fence = stripped[0] * (len(stripped) - len(stripped.lstrip(stripped[0])))
            yield line, True
        elif fence is not None:
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            yield line, True
        else:
            yield line, False


def _outside_code(source: str) -> list[str]:
    """The lines of ``source`` that are not inside a fenced code (or raw) block."""
    return [line for line, code in _code_lines(source) if not code]


def _segment_widths(line: str) -> list[str]:
    """Pandoc's relative column widths of a pipe table: each delimiter segment's share of the row."""
    segments = [s.strip() for s in line.strip().strip("|").split("|")]
    total = sum(len(s) for s in segments) or 1
    return [f"{round(100 * len(s) / total, 2):g}%" for s in segments]
