"""Small text helpers: diacritic folding, slugs, look-up keys."""

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
