"""The notes every analysis result carries: what a reader must see, in Vietnamese and English.

A :class:`Note` has a stable key (a ``an_*`` key of the catalogue, so tests and renderers can pick
notes out) and the finished sentence in both languages; :func:`make_note` fills it from the
catalogue. Results keep their notes in a ``notes`` list; briefings print them in the data notes.
"""

from __future__ import annotations

from dataclasses import dataclass

from papi_research.data.i18n import fmt_num, t


@dataclass
class Note:
    """One note a reader must see: a stable key, and the sentence in Vietnamese and English."""

    key: str
    vi: str
    en: str

    def text(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en

    def to_dict(self) -> dict:
        return {"key": self.key, "vi": self.vi, "en": self.en}


def make_note(key: str, **fields) -> Note:
    """A note whose sentences come from the ``an_`` catalogue (float fields are formatted per language)."""

    def fill(lang: str) -> dict:
        return {k: (fmt_num(v, lang) if isinstance(v, float) else v) for k, v in fields.items()}
    return Note(key, t(key, "vi", **fill("vi")), t(key, "en", **fill("en")))
