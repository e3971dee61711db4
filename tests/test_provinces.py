"""Province registry and forgiving look-up."""

from __future__ import annotations

import pytest

from papi_research.data.loader import load_cached
from papi_research.errors import UnknownProvinceError


@pytest.fixture(scope="module")
def reg():
    return load_cached().provinces


@pytest.mark.parametrize("query", ["Sơn La", "Son La", "son la", "son-la", "sonla", "SON LA", "P09", "p09", "14", "014"])
def test_son_la_variants(reg, query):
    assert reg.lookup(query).code == "P09"


@pytest.mark.parametrize("query,code", [("Hà Nội", "P01"), ("hanoi", "P01"), ("Ha Noi", "P01"),
                                        ("TP. Hồ Chí Minh", "P50"), ("ho chi minh city", "P50"),
                                        ("Thừa Thiên Huế", "P31"), ("Bà Rịa - Vũng Tàu", "P49"),
                                        ("Đắk Lắk", "P42"), ("dak lak", "P42"), ("01", "P01")])
def test_other_names(reg, query, code):
    assert reg.lookup(query).code == code


def test_registry_fields(reg):
    assert len(reg) == 63
    p = reg.lookup("P09")
    assert (p.name_vi, p.name_en, p.slug, p.gso_code) == ("Sơn La", "Son La", "son-la", "14")
    assert p.region_vi == "Trung du và miền núi phía Bắc"
    slugs = [q.slug for q in reg]
    assert len(set(slugs)) == 63 and all(s.isascii() and s == s.lower() for s in slugs)


def test_merger_2025(reg):
    assert reg.lookup("Hà Giang").merged_into_vi == "Tuyên Quang"
    assert reg.lookup("Bình Dương").merged_into_vi == "TP. Hồ Chí Minh"
    assert len({p.merged_into_vi for p in reg}) == 34


def test_unknown_suggests_three_closest(reg):
    with pytest.raises(UnknownProvinceError) as e:
        reg.lookup("Son Laa")
    assert len(e.value.suggestions) == 3 and e.value.suggestions[0].startswith("Sơn La")
    with pytest.raises(UnknownProvinceError) as e:
        reg.lookup("Quang Nihn")
    assert e.value.suggestions[0].startswith("Quảng Ninh")


def test_region_lookup(reg):
    assert len(reg.in_region("Tây Nguyên")) == 5
    assert len(reg.in_region("central highlands")) == 5
    with pytest.raises(UnknownProvinceError):
        reg.in_region("Atlantis")
