"""Small text helpers: diacritic folding, slugs, look-up keys, and data-derived strings kept as text in Markdown."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Remove Vietnamese diacritics (and đ/Đ) and lower-case: 'Sơn La' → 'son la'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def slugify(text: str) -> str:
    """ASCII slug: 'Bà Rịa-Vũng Tàu' → 'ba-ria-vung-tau'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def lookup_key(text: str) -> str:
    """Key that ignores case, diacritics, spaces and punctuation: 'Sơn La' → 'sonla'."""
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (as in a kernel's traceback)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# --- data-derived text in Markdown ------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~$@^=&:])")
_LITERALS: dict[str, str] = {}  # data-derived string → its Markdown-escaped form (only those that need it)


def md_escape(text: str) -> str:
    """``text`` as literal Markdown (Pandoc's and mistune's readers): every character that could start
    markup — emphasis, code, links, images, raw HTML, math, footnotes, attributes — escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def mark_literal(*texts: str) -> None:
    """Record strings read from data files (names, regions, labels, reasons) as text that must never be
    read as Markdown. Only strings holding a markup character are kept (real names hold none), so
    :func:`escape_literals` costs nothing on real data."""
    for s in texts:
        if isinstance(s, str) and s and _MD_SPECIAL.search(s) and s not in _LITERALS:
            _LITERALS[s] = md_escape(s)


def escape_literals(markdown: str) -> str:
    """``markdown`` with every data-derived string recorded by :func:`mark_literal` escaped where it occurs
    (longest first), so a province called ``X ![t](http://…)`` stays those characters in every format."""
    if not _LITERALS or not markdown:
        return markdown
    found = [s for s in _LITERALS if s in markdown]
    if not found:
        return markdown
    pattern = re.compile("|".join(re.escape(s) for s in sorted(found, key=len, reverse=True)))
    return pattern.sub(lambda m: _LITERALS[m.group(0)], markdown)


def literal(text: str) -> bool:
    """Whether ``text`` is a data-derived string :func:`mark_literal` recorded."""
    return text in _LITERALS
