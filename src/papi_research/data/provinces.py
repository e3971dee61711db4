"""The province registry: the 63 PAPI provinces and name/code look-up.

Boundaries: PAPI data through 2024 refers to the 63 provinces that existed before the
merger of 1 July 2025 (Resolution 202/2025/QH15: 34 provincial units). ``merged_into``
names the post-2025 unit each province is now part of (from ``resources/reference/merger_2025.csv``).
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from papi_research.data.files import read_rows
from papi_research.data.paths import resource_file
from papi_research.data.text import lookup_key, mark_literal, slugify
from papi_research.errors import DataValidationError, UnknownProvinceError

REQUIRED_COLUMNS = ("code", "name_en", "name_vi", "gso_code", "region_en", "region_vi")


@dataclass(frozen=True)
class Province:
    """One of the 63 pre-2025 provinces."""

    code: str
    name_vi: str
    name_en: str
    slug: str
    gso_code: str
    region_vi: str
    region_en: str
    merged_into_vi: str | None = None
    merged_into_en: str | None = None
    aliases: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en

    def region(self, lang: str) -> str:
        return self.region_vi if lang == "vi" else self.region_en

    def to_dict(self) -> dict:
        return {"code": self.code, "name_vi": self.name_vi, "name_en": self.name_en, "slug": self.slug,
                "gso_code": self.gso_code, "region_vi": self.region_vi, "region_en": self.region_en,
                "merged_into_vi": self.merged_into_vi, "merged_into_en": self.merged_into_en}


def _read_merger() -> dict[str, tuple[str, str]]:
    path = resource_file("reference", "merger_2025.csv")
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["code"]: (r["merged_into_vi"], r["merged_into_en"]) for r in csv.DictReader(fh)}


class ProvinceRegistry:
    """The 63 provinces, in code order, with forgiving look-up."""

    def __init__(self, provinces: list[Province]):
        self._list = list(provinces)
        self._by_code = {p.code: p for p in provinces}
        self._keys: dict[str, Province] = {}
        for p in provinces:
            mark_literal(p.name_vi, p.name_en, p.region_vi, p.region_en, *p.aliases)  # text, never markup
            for alias in (p.code, p.name_vi, p.name_en, p.slug, *p.aliases):
                self._keys.setdefault(lookup_key(alias), p)
            self._keys.setdefault("gso" + p.gso_code.lstrip("0"), p)

    @classmethod
    def from_csv(cls, path: Path) -> "ProvinceRegistry":
        if not path.is_file():
            raise DataValidationError("required file is missing", file=path)
        merger = _read_merger()
        _, rows = read_rows(path, REQUIRED_COLUMNS, whole_lines=True)
        provinces: list[Province] = []
        first: dict[tuple[str, str], int] = {}  # (what, key) → the row that had it first
        for i, row in rows:
            code = (row["code"] or "").strip()
            if not (len(code) == 3 and code[0] == "P" and code[1:].isdigit()):
                raise DataValidationError("province code must look like P01...P63", file=path,
                                          row=i, column="code", value=code)
            for col in REQUIRED_COLUMNS:
                if not (row[col] or "").strip():
                    raise DataValidationError("empty value", file=path, row=i, column=col, value=row[col])
            # two provinces with one code, name or slug would share a briefing (one overwriting the other)
            for what, column, key in (("code", "code", code), ("Vietnamese name", "name_vi", lookup_key(row["name_vi"])),
                                      ("English name", "name_en", lookup_key(row["name_en"])),
                                      ("slug", "name_en", slugify(row["name_en"])),
                                      ("GSO code", "gso_code", row["gso_code"].strip())):
                if (what, key) in first:
                    raise DataValidationError(f"duplicated province {what} (first on row {first[(what, key)]})",
                                              file=path, row=i, column=column, value=row[column].strip())
                first[(what, key)] = i
            aliases = tuple(v for k in ("papi_excel_name_en", "name_vi_gso_yearbook", "name_vi_vietnamcode")
                            if (v := (row.get(k) or "").strip()))
            m = merger.get(code, (None, None))
            provinces.append(Province(
                code=code, name_vi=row["name_vi"].strip(), name_en=row["name_en"].strip(),
                slug=slugify(row["name_en"]), gso_code=row["gso_code"].strip(),
                region_vi=row["region_vi"].strip(), region_en=row["region_en"].strip(),
                merged_into_vi=m[0], merged_into_en=m[1], aliases=aliases))
        return cls(provinces)

    def __iter__(self):
        return iter(self._list)

    def __len__(self) -> int:
        return len(self._list)

    def __contains__(self, code: str) -> bool:
        return code in self._by_code

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self._list]

    def by_code(self, code: str) -> Province:
        return self._by_code[code]

    def regions(self) -> list[tuple[str, str]]:
        """(region_en, region_vi) pairs in first-appearance order."""
        seen: dict[str, str] = {}
        for p in self._list:
            seen.setdefault(p.region_en, p.region_vi)
        return list(seen.items())

    def in_region(self, region: str) -> list[Province]:
        """Provinces of a region named in English or Vietnamese (case and diacritics ignored)."""
        key = lookup_key(region)
        out = [p for p in self._list if key in (lookup_key(p.region_en), lookup_key(p.region_vi))]
        if not out:
            names = [en for en, _ in self.regions()]
            close = difflib.get_close_matches(region, names, n=3, cutoff=0.0)
            raise UnknownProvinceError(f"region {region}", close)
        return out

    def lookup(self, query: str | int) -> Province:
        """Find a province by Vietnamese or English name, slug, P-code or GSO code.

        "Sơn La", "Son La", "son la", "son-la", "sonla", "P09" and GSO "14" all give Sơn La.
        """
        text = str(query).strip()
        if text.isdigit():
            hit = self._keys.get("gso" + text.lstrip("0"))
            if hit:
                return hit
        hit = self._keys.get(lookup_key(text))
        if hit:
            return hit
        raise UnknownProvinceError(text, self.suggest(text))

    def suggest(self, query: str, n: int = 3) -> list[str]:
        """The n provinces whose names are closest to the query (diacritics ignored)."""
        key = lookup_key(query)
        scored = []
        for p in self._list:
            best = max(difflib.SequenceMatcher(None, key, lookup_key(a)).ratio()
                       for a in (p.name_vi, p.name_en, p.slug))
            scored.append((-best, p.code, p))
        scored.sort()
        return [f"{p.name_vi} ({p.code})" for _, _, p in scored[:n]]
