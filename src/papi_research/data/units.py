"""A year file's unit set: whether its rows are the 63 former provinces or the 34 since 1 July 2025.

PAPI reported the 63 provinces through 2024 and reports the 34 provinces and cities from the 2025 survey
on. A year file's ``Province`` column says which: ``P01``…``P63`` are the 63, the two-digit ``code34`` of
``join_34.csv`` (boundary folder, :func:`~papi_research.data.paths.find_geo_dir`) the 34. Names, as copied
from PAPI's workbooks ("Hưng Yên", "TP. Hồ Chí Minh"), are accepted and resolved to codes; a name both
sets know (Hà Nội, Hưng Yên …) is read in the set the file's codes (or, with names only, its year) say.
A file that mixes the two sets is an error naming the first row that does.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from papi_research.data.files import read_rows
from papi_research.data.text import lookup_key, mark_literal, slugify
from papi_research.errors import DataValidationError, PapiError, UnknownProvinceError

FIRST_YEAR_34 = 2025
"""The first PAPI survey year after the merger of 1 July 2025 (a file of names only is read on the 34 from it)."""

UNITS_63, UNITS_34 = "63", "34"


@dataclass(frozen=True)
class NewProvince:
    """One of the 34 provinces since 1 July 2025, as the data layer knows it (``join_34.csv``)."""

    code: str
    name_vi: str
    name_en: str
    slug: str
    type: str
    members: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en

    @property
    def merged(self) -> bool:
        """Whether it was formed from more than one former province."""
        return len(self.members) > 1


class NewProvinces:
    """The 34 in code order, with look-up by code, Vietnamese or English name and slug."""

    def __init__(self, units: list[NewProvince], source: Path):
        self._list = list(units)
        self.source = source
        self._by_code = {u.code: u for u in units}
        self._keys: dict[str, NewProvince] = {}
        for u in units:
            for alias in (u.code, u.name_vi, u.name_en, u.slug):
                self._keys.setdefault(lookup_key(alias), u)
                self._keys.setdefault(_bare(lookup_key(alias)), u)

    @classmethod
    def from_csv(cls, path: Path) -> "NewProvinces":
        _, rows = read_rows(path, ("code34", "name_vi", "name_en", "type", "members_papi"), whole_lines=True)
        units = []
        for i, r in rows:
            code = r["code34"].strip()
            if not (len(code) == 2 and code.isdigit()):
                raise DataValidationError("a code of the 34 must be two digits (01 … 34)", file=path, row=i,
                                          column="code34", value=code)
            mark_literal(r["name_vi"].strip(), r["name_en"].strip())
            units.append(NewProvince(code=code, name_vi=r["name_vi"].strip(), name_en=r["name_en"].strip(),
                                     slug=slugify(r["name_en"]), type=r["type"].strip(),
                                     members=tuple(m.strip() for m in r["members_papi"].split("+") if m.strip())))
        return cls(units, path)

    def __iter__(self):
        return iter(self._list)

    def __len__(self) -> int:
        return len(self._list)

    def __contains__(self, code: str) -> bool:
        return code in self._by_code

    @property
    def codes(self) -> list[str]:
        return [u.code for u in self._list]

    def by_code(self, code: str) -> NewProvince:
        return self._by_code[code]

    def find(self, text: str, provinces=None) -> NewProvince | None:
        """The new province a code or name means ("TP. Hồ Chí Minh", "Ho Chi Minh", "thanh pho Hue" …); with
        ``provinces`` (the 63), also a former province whose boundaries did not change ("Thừa Thiên Huế")."""
        key = lookup_key(text)
        hit = self._keys.get(key) or self._keys.get(_bare(key))
        if hit is None and provinces is not None and not key.isdigit():
            try:
                old = provinces.lookup(text)
            except UnknownProvinceError:
                return None
            same = [u for u in self._list if u.members == (old.code,)]
            hit = same[0] if same else None
        return hit

    def lookup(self, query: str) -> NewProvince:
        hit = self.find(str(query).strip())
        if hit:
            return hit
        key = lookup_key(str(query))
        scored = sorted((-max(difflib.SequenceMatcher(None, key, lookup_key(a)).ratio()
                              for a in (u.name_vi, u.name_en, u.slug)), u.code, u) for u in self._list)
        raise UnknownProvinceError(str(query).strip(), [f"{u.name_vi} ({u.code})" for _, _, u in scored[:3]])


PREFIXES = ("thanhpho", "tp", "tinh")  # "Thành phố …", "TP. …", "Tỉnh …" (lookup keys)
SUFFIXES = ("city", "province")


def _bare(key: str) -> str:
    """A lookup key without the administrative prefix or suffix its name may be written with."""
    for p in PREFIXES:
        if key.startswith(p) and len(key) > len(p) + 2:
            key = key[len(p):]
            break
    for x in SUFFIXES:
        if key.endswith(x) and len(key) > len(x) + 2:
            key = key[:-len(x)]
            break
    return key


def load_new_provinces(papi_dir: Path) -> NewProvinces | None:
    """The 34 from the boundary folder beside the PAPI data (None when there is no boundary folder)."""
    from papi_research.data.paths import find_geo_dir
    try:
        directory = find_geo_dir(papi_dir)
    except PapiError:
        return None
    path = directory / "join_34.csv"
    return NewProvinces.from_csv(path) if path.is_file() else None


def units_of_year(year: int) -> str:
    """The set a year's names are read in when its file gives no code: the 63 before 2025, the 34 after."""
    return UNITS_63 if year < FIRST_YEAR_34 else UNITS_34


def cell_units(text: str, year: int) -> str:
    """The set one ``Province`` cell says (a P-code, a two-digit code, or a name read by the year)."""
    text = text.strip()
    return UNITS_63 if _is_p_code(text) else UNITS_34 if _is_code34(text) else units_of_year(year)


def _is_p_code(text: str) -> bool:
    return len(text) == 3 and text[0] == "P" and text[1:].isdigit()


def _is_code34(text: str) -> bool:
    return len(text) == 2 and text.isdigit()


def resolve_codes(path: Path, year: int, cells: list[tuple[int, str]], provinces,
                  new: NewProvinces | None) -> tuple[str, list[str]]:
    """The unit set of a year file (``"63"`` or ``"34"``) and each row's province code.

    ``cells`` are (row, Province cell). Codes decide the set; a file of names only is read on the set of its
    year (:func:`units_of_year`). Raises one
    ``DataValidationError`` for a file mixing the sets, a code or name neither knows (with the closest
    names of the file's set), or a year on the 34 without the boundary folder's ``join_34.csv``.
    """
    values = [(i, v.strip()) for i, v in cells]
    kinds = {}
    for i, v in values:
        kind = UNITS_63 if _is_p_code(v) else UNITS_34 if _is_code34(v) else None
        if kind:
            kinds.setdefault(kind, (i, v))
    if len(kinds) == 2:
        (i63, v63), (i34, v34) = kinds[UNITS_63], kinds[UNITS_34]
        raise DataValidationError(f"the file mixes the 63 former provinces' codes ({v63!r} on row {i63}) with the "
                                  f"34 provinces' codes; a year file is on one set (P01…P63 through 2024, the "
                                  f"two-digit codes of join_34.csv from 2025)", file=path, row=max(i63, i34),
                                  column="Province", value=v34 if i34 > i63 else v63)
    units = next(iter(kinds)) if kinds else units_of_year(year)  # names only: the year says
    if units == UNITS_34 and new is None:
        raise DataValidationError("the file is on the 34 provinces since 1 July 2025, but no boundary folder with "
                                  "join_34.csv was found (set PAPI_GEO_DIR)", file=path)
    codes = []
    for i, v in values:
        hit = _find63(provinces, v) if units == UNITS_63 else new.find(v, provinces)
        if hit is None:
            other = new.find(v) if units == UNITS_63 and new is not None else (
                _find63(provinces, v) if units == UNITS_34 else None)
            if other is not None and units == UNITS_34:
                into = [u for u in new if other.code in u.members]
                where = f"; since 1 July 2025 it is part of {into[0].code} {into[0].name_vi}" if into else ""
                raise DataValidationError(f"a former province ({other.code} {other.name_vi}) in a file on the 34 "
                                          f"provinces{where}: a year on the 34 has one row per new province",
                                          file=path, row=i, column="Province", value=v)
            if other is not None:
                raise DataValidationError(f"a province of the {'34' if units == UNITS_63 else '63'} in a file on the "
                                          f"{units} ({other.code} {other.name_vi}); a year file is on one set",
                                          file=path, row=i, column="Province", value=v)
            registry = provinces if units == UNITS_63 else new
            try:
                registry.lookup(v)
            except UnknownProvinceError as exc:
                hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
                raise DataValidationError(f"unknown province code or name (this file is on the "
                                          f"{units} provinces){hint}", file=path, row=i, column="Province",
                                          value=v) from None
        codes.append(hit.code)
    return units, codes


def _find63(provinces, text: str):
    try:
        return provinces.lookup(text) if not text.isdigit() else (provinces.by_code(text) if text in provinces
                                                                  else None)
    except UnknownProvinceError:
        return None
