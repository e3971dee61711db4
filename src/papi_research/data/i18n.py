"""Words and numbers in Vietnamese and English.

Every sentence a briefing prints comes from a catalogue in ``resources/i18n/*.yml`` (one file per
area, each key holding ``vi`` and ``en`` templates with ``{named}`` fields), never from an
f-string in a notebook. Numbers follow the language: ``42,43`` in Vietnamese, ``42.43`` in English.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import yaml

from papi_research.data.paths import resource_files
from papi_research.errors import ParameterError

LANGS = ("vi", "en")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ParameterError("lang", f"must be one of {', '.join(LANGS)}; got {lang!r}")
    return lang


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All catalogue entries from ``resources/i18n/*.yml`` (or the user's edited copies); a key defined twice is an error."""
    out: dict[str, dict[str, str]] = {}
    for path in resource_files("i18n", "*.yml"):
        # libyaml's loader when PyYAML has it (every process reads the catalogue once; it is 10× faster)
        entries = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        for key, value in entries.items():
            if key in out:
                raise ValueError(f"translation key {key!r} defined twice (again in {path})")
            if not isinstance(value, dict) or set(value) != set(LANGS):
                raise ValueError(f"translation key {key!r} in {path} must have exactly 'vi' and 'en'")
            out[key] = value
    return out


_PLURAL = re.compile(r"\{(\w+)(#?)\|([^|{}]*)\|([^|{}]*)\}")


def _plural(template: str, fields: dict) -> str:
    """``{n|place|places}`` → "place" when the field ``n`` is 1, else "places"; ``{dims#|dimension|dimensions}``
    counts the items of a comma-separated field ("5" is one, "2, 3" two). English needs it, Vietnamese does
    not ("1 bậc", "3 bậc")."""
    def pick(m: re.Match) -> str:
        value = fields.get(m.group(1))
        if value is None:
            raise KeyError(m.group(1))
        text = str(value).strip()
        if m.group(2):
            one = len([x for x in re.split(r",| and ", text) if x.strip()]) == 1
        else:
            one = text.lstrip("+−-") in ("1", "1.0")
        return m.group(3) if one else m.group(4)
    return _PLURAL.sub(pick, template)


def t(key: str, lang: str, **fields) -> str:
    """The catalogue text for ``key`` in ``lang`` with ``{fields}`` filled in (``{n|one|other}`` picks the
    word that agrees with the field ``n``)."""
    try:
        template = catalogue()[key][check_lang(lang)]
    except KeyError:
        raise KeyError(f"no translation for {key!r}") from None
    if "|" in template:
        template = _plural(template, fields)
    return template.format(**fields) if fields else template


def fmt_num(x: float | None, lang: str, decimals: int = 2, sign: bool = False) -> str:
    """'42,43' (vi) or '42.43' (en); thousands separated by '.' (vi) or ',' (en); negatives with a minus sign
    (−3,86); '–' for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    s = f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"
    if lang == "vi":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return s.replace("-", "−")  # a minus sign, never a hyphen ("changed by −3.86")


def fmt_int(x: int | None, lang: str) -> str:
    return "–" if x is None else fmt_num(float(x), lang, decimals=0)


def fmt_pct(x: float | None, lang: str, decimals: int = 0) -> str:
    """A share 0..1 as a percentage: '45%' / '45 %' is not used; Vietnamese also writes '45%'."""
    return "–" if x is None else fmt_num(100 * x, lang, decimals) + "%"
