"""What every briefing document shares: sections of plain values, the record, and showing them.

A document (:class:`~papi_research.briefing.province.Briefing`, the new-province
:class:`~papi_research.briefing.unit.UnitBriefing`, the
:class:`~papi_research.briefing.national.NationalBriefing`) is an ordered set of :class:`Section`, each
an ordered list of :class:`Block` holding finished sentences from the catalogue, tables of formatted
strings and score tiles. :func:`show` hands a section to :mod:`papi_research.briefing.display`;
:func:`show_figure` draws a figure with its caption and alt text. The record (:func:`record`,
:func:`show_record`) is the first output of every executed briefing notebook: the facts the
renderers, the site and the manifest read, so they need no data folder.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from papi_research import __version__
from papi_research.data.codebook import dimensions
from papi_research.data.i18n import fmt_num, t
from papi_research.data.provinces import Province
from papi_research.errors import ParameterError

log = logging.getLogger(__name__)

TONE = {"best": "good", "high_average": "neutral", "low_average": "neutral", "poor": "bad", None: "neutral"}
"""Tone of a score tile by quartile group."""


# --- plain values ----------------------------------------------------------------------------------

@dataclass
class Block:
    """One thing to show: ``kind`` is heading | md | table | tiles | callout | pagebreak.

    * heading: ``text`` and ``level``; md: ``text`` (Markdown); callout: ``text`` and ``tone``
      ("note" | "warning"); table: ``frame`` (formatted strings) and ``caption``; tiles: ``items``.
    """

    kind: str
    text: str | None = None
    level: int = 2
    tone: str = "note"
    frame: pd.DataFrame | None = None
    caption: str | None = None
    items: list[dict] | None = None
    widths: list[int] | None = None  # table: the columns' relative widths in the PDF (None: from the contents)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        if self.text is not None:
            out["text"] = self.text
        if self.kind == "heading":
            out["level"] = self.level
        if self.kind == "callout":
            out["tone"] = self.tone
        if self.frame is not None:
            out["columns"] = [str(c) for c in self.frame.columns]
            out["rows"] = self.frame.astype(str).values.tolist()
        if self.caption is not None:
            out["caption"] = self.caption
        if self.items is not None:
            out["items"] = [dict(i) for i in self.items]
        return out

    def plain(self) -> str:
        """The block as plain text (for tests, logs and terminals)."""
        if self.kind == "table" and self.frame is not None:
            head = [self.caption] if self.caption else []
            rows = [" | ".join(map(str, self.frame.columns))]
            rows += [" | ".join(map(str, r)) for r in self.frame.itertuples(index=False, name=None)]
            return "\n".join(head + rows)
        if self.kind == "tiles" and self.items is not None:
            return "\n".join(f"{i['label']}: {i['value']}" + (f" ({i['sub']})" if i.get("sub") else "")
                             for i in self.items)
        return self.text or ""


@dataclass
class Section:
    """A titled section: its key, its title in the briefing's language and its blocks in order."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2

    def add(self, kind: str, **kw) -> Block:
        b = Block(kind, **kw)
        self.blocks.append(b)
        return b

    def md(self, text: str) -> None:
        if text:
            self.add("md", text=text)

    def note(self, text: str, warning: bool = False) -> None:
        if text:
            self.add("callout", text=text, tone="warning" if warning else "note")

    def table(self, frame: pd.DataFrame, caption: str | None = None, widths: list[int] | None = None) -> None:
        if frame is not None and len(frame):
            self.add("table", frame=frame, caption=caption, widths=widths)

    def tables(self) -> list[pd.DataFrame]:
        return [b.frame for b in self.blocks if b.kind == "table" and b.frame is not None]

    def text(self) -> str:
        """Everything the section says, as plain text."""
        return "\n\n".join([self.title] + [b.plain() for b in self.blocks])

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "blocks": [b.to_dict() for b in self.blocks]}


_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")


def show(section: Section) -> None:
    """Display a section in the notebook through ``papi_research.briefing.display`` (heading first).

    Headings and paragraphs that follow one another are one Markdown output (the same Markdown, and the
    same page, as one output each: the paragraphs' margins collapse alike), so a briefing has half as many
    outputs for the kernel to send and the batch worker to check and store."""
    from papi_research.briefing import display
    text = ["#" * section.level + " " + section.title]

    def flush() -> None:
        if text:
            display.md("\n\n".join(text))
            text.clear()

    for b in section.blocks:
        if b.kind == "heading":
            text.append("#" * b.level + " " + (b.text or ""))
        elif b.kind == "md":
            para = (b.text or "").strip()
            if para and text and _LIST_ITEM.match(text[-1].split("\n")[-1]) and _LIST_ITEM.match(para):
                flush()  # two lists in a row stay two lists
            if para:
                text.append(para)
        elif b.kind == "callout":
            flush()
            display.callout(b.text or "", kind=b.tone)
        elif b.kind == "table" and b.frame is not None:
            flush()
            display.table(b.frame, caption=b.caption, widths=b.widths)
        elif b.kind == "tiles" and b.items:
            flush()
            display.tiles(b.items)
        elif b.kind == "pagebreak":
            flush()
            display.page_break()
    flush()


# --- small formatting helpers ---------------------------------------------------------------------


def join_words(items: list[str], lang: str) -> str:
    """'a, b và c' / 'a, b and c'."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + t("br_and", lang) + items[-1]


def dim_name(number: int, lang: str, short: bool = True) -> str:
    return dimensions()[int(number)].name(lang, short=short)


def rank_text(rank: int | float | None, n: int | None, lang: str) -> str:
    if rank is None or n is None or pd.isna(rank):
        return "–"
    return t("rank_of", lang, rank=int(rank), n=int(n))


class SectionAccess:
    """``doc.headline`` for ``doc.sections["headline"]``: a document's sections read as attributes."""

    def __getattr__(self, name: str) -> Section:
        sections = self.__dict__.get("sections") or {}
        if name in sections:
            return sections[name]
        raise AttributeError(name)


@contextmanager
def library_warnings(context: str):
    """Record what the libraries (statsmodels, matplotlib, pandas) warn about inside the block, and
    log each distinct warning once (a researcher sees them in the notebook, renderers leave them
    out of the briefing). Yields the list of distinct warning texts, filled when the block ends."""
    distinct: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield distinct
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in distinct:
            distinct.append(text)
            log.warning("%s: %s", context, text)


def signed(x: float | None, lang: str, decimals: int = 2) -> str:
    """A signed number rounded first, so a tiny negative shows as +0,00 rather than −0,00."""
    if x is None or pd.isna(x):
        return "–"
    r = round(float(x), decimals)
    return fmt_num(0.0 if r == 0 else r, lang, decimals, sign=True)


# --- the record: what the title, the site and the manifest read from the executed notebook ----------

RECORD_SCHEMA = 1
"""Version of the record (``schema`` key); a reader refuses a record of another version."""

RECORD_KINDS = ("province_briefing", "unit_briefing", "national_briefing")
"""What a record is about (its ``kind``): one of the 63 provinces PAPI measured, one of the 34 provinces
since 1 July 2025 (estimates, :mod:`papi_research.briefing.unit`), or the country
(:mod:`papi_research.briefing.national`)."""

SUBJECT_KEYS = ("code", "slug", "name_vi", "name_en", "region_vi", "region_en")
"""Keys of the record's ``province``: the briefing's subject (for a national briefing, the country)."""


def record_subject(p: Province) -> dict[str, str]:
    """The record's ``province``: code, slug, names and region in both languages."""
    d = p.to_dict()
    return {k: d[k] for k in SUBJECT_KEYS}


def title_common(lang: str, year: int) -> dict[str, str]:
    """Title-block and footer sentences every briefing shares (kicker, citation, boundaries, provenance,
    page footer and caption words)."""
    return {"kicker": t("rd_kicker", lang), "citation": t("citation", lang, year=year),
            "boundaries": t("boundaries_note", lang), "produced_by": t("rd_produced_by", lang, version=__version__),
            "page": t("rd_page", lang, page="{page}", total="{total}"),
            "figure_word": t("rd_figure", lang), "table_word": t("rd_table", lang)}


def change_line(lang: str, prev: dict | None, delta: float | None) -> str:
    """The title block's change line: the total's change since ``prev`` (year, rank, n_ranked)."""
    if prev is None or delta is None:
        return t("rd_no_comparison", lang)
    return t("rd_change_line", lang, prev_year=prev["year"], delta=signed(delta, lang),
             prev_rank="–" if prev.get("rank") is None else prev["rank"],
             prev_n="–" if prev.get("n_ranked") is None else prev["n_ranked"])


def record(b) -> dict:
    """The facts every later step needs, as JSON-safe values (``b.to_record()``): kind, subject
    (``province``), year, language, comparison year, scores, data version and the title block. The
    notebook displays it (:func:`show_record`); renderers, the site and the manifest read it from the
    executed notebook, so they need no data folder.

    Keys of every kind: ``schema`` (1), ``kind`` (:data:`RECORD_KINDS`), ``province`` (the subject,
    :data:`SUBJECT_KEYS`), ``year``, ``lang``, ``comparison_year``, ``status``, ``total``, ``total_max``,
    ``rank``, ``n_ranked``, ``group``, ``data_version``, ``title``. A national briefing has no single
    province: its ``province`` is the country (code ``VN``, slug ``vietnam``), ``total``, ``rank`` and
    ``group`` are null, ``n_ranked`` is the number of provinces ranked that year and ``median`` the
    median total. A new province's record (``unit_briefing``) adds ``units`` ("2025"), ``members``
    (former provinces' codes) and ``coverage``; its ranks are among the 34.

    ``provenance`` (:func:`papi_research.briefing.provenance.provenance`): the code (version, git commit,
    dirty), Python, the libraries' versions, the data version and every data file read with its SHA-256,
    and the parameters the document was built with.
    """
    from papi_research.briefing.provenance import provenance
    rec = b.to_record()
    return {**rec, "provenance": provenance(b, rec["kind"])}


def show_record(b) -> None:
    """Display the record (first output of a briefing notebook; for Quarto also the page title,
    language, caption words and masthead)."""
    from papi_research.briefing import display
    display.show_bundle(display.record_bundle(record(b)))


def show_footer(b) -> None:
    """Display the closing block (citation, boundaries, provenance) for Quarto; the builtin renderer
    prints it from the record."""
    from papi_research.briefing import display
    display.show_bundle(display.footer_bundle(record(b)["title"]))


def show_figure(b, name: str) -> None:
    """Display figure ``name`` of a briefing (province, new province or national) with its label
    (``fig-<name>``), caption and alt text from the catalogue (``b.figure_keys()``); nothing when the
    briefing has no such figure to draw (``b.figure(name)`` is None)."""
    from papi_research.briefing import display, figures
    keys = b.figure_keys()
    if name not in keys:
        raise ParameterError("name", f"unknown figure {name!r}; choose from {', '.join(keys)}")
    fig = b.figure(name)
    if fig is None:
        return
    cap, alt = keys[name]
    fields = b.caption_fields()
    image = figures.to_image(fig)[1]  # drawn: its tick labels are set for figures.plotted
    display.show_bundle(display.figure_bundle(image, label="fig-" + name.replace("_", "-"),
                                              caption=t(cap, b.lang, **fields), alt=t(alt, b.lang, **fields),
                                              plotted=figures.plotted(fig)))


def say(doc, vi: str, en: str, **fields) -> None:
    """Display a paragraph of your own in the document's language (``doc.lang``).

    For a researcher adding a sentence to a notebook without touching the catalogue: write it in
    both languages; fields in ``{braces}`` are filled in each, floats with that language's decimal
    mark (``42,43`` in Vietnamese). Both texts must use the same fields, so a number is never lost
    in one language::

        say(briefing, vi="Tổng điểm năm nay: {total}.", en="This year's total: {total}.",
            total=briefing.card.total)

    Parameters
    ----------
    doc : a briefing (province, new province or national): its ``lang`` picks the text.
    vi, en : the paragraph (Markdown) in Vietnamese and in English.
    **fields : the values of the fields.
    """
    import re

    from papi_research.briefing import display
    texts = {"vi": vi, "en": en}
    for lang, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise ParameterError(lang, "the paragraph must be given in both languages (vi= and en=)")
    names = {lang: set(re.findall(r"{(\w+)}", text)) for lang, text in texts.items()}
    if names["vi"] != names["en"]:
        raise ParameterError("vi/en", f"both languages must use the same fields; vi has {sorted(names['vi'])}, "
                                      f"en has {sorted(names['en'])}")
    missing = names[doc.lang] - set(fields)
    if missing:
        raise ParameterError(", ".join(sorted(missing)), "field used in the paragraph but not given")
    values = {k: fmt_num(v, doc.lang) if isinstance(v, float) else v for k, v in fields.items()}
    display.md(texts[doc.lang].format(**values))
