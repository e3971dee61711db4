"""Maps: every province drawn from ../shared/geo, the credit line, Hoàng Sa and Trường Sa labelled,
byte-identical PNGs, clear errors."""

from __future__ import annotations

import pytest

from papi_research.analysis.scores import year_scores
from papi_research.analysis.units import unit_year_scores
from papi_research.briefing import figures, maps
from papi_research.data.i18n import t
from papi_research.data.loader import load_cached
from papi_research.errors import DataNotFoundError, ParameterError


def texts(fig) -> str:
    return "\n".join(x.get_text() for x in fig.texts + [a for ax in fig.axes for a in ax.texts])


@pytest.fixture(scope="module")
def data():
    return load_cached()


def test_boundaries_cover_the_63_and_the_34(data):
    assert sorted(maps.boundaries("63").paths) == data.provinces.codes
    assert sorted(maps.boundaries("2025").paths) == sorted(unit_year_scores(data, 2024).units.codes)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_choropleth_carries_credit_and_both_archipelagos(data, lang):
    fig = maps.choropleth(maps.group_frame(year_scores(data, 2024)), lang=lang)
    words = texts(fig)
    assert words.count("geoBoundaries (www.geoboundaries.org)") == 1 and "202/2025/QH15" in words
    if lang == "vi":
        assert "Quần đảo Hoàng Sa" in words and "Quần đảo Trường Sa" in words and "Không phải ranh giới chính thức" in words
    else:
        assert "Hoang Sa archipelago" in words and "Truong Sa archipelago" in words
    legend = [x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    assert legend[:4] == [t(f"br_group_{g}", lang) for g in ("best", "high_average", "low_average", "poor")]
    assert legend[4] == t("map_no_data", lang)  # Vĩnh Phúc and Tiền Giang are unpublished in 2024
    # one outline per province (drawn as one collection, in code order), coloured by its group
    import matplotlib.colors as mc
    provinces = fig.axes[0].collections[0]
    groups = maps.group_frame(year_scores(data, 2024)).set_index("code")["group"].sort_index()
    assert len(provinces.get_paths()) == 63 == len(groups)
    want = [mc.to_rgba(maps.GROUP_COLORS[g] if isinstance(g, str) else maps.NO_DATA) for g in groups]
    assert [tuple(c) for c in provinces.get_facecolors()] == want


def test_same_input_same_png_bytes(data):
    frame = maps.group_frame(unit_year_scores(data, 2024).ys, dimension=3)
    a = figures.to_png(maps.choropleth(frame, units="2025", lang="vi", title="Nội dung 3"))
    b = figures.to_png(maps.choropleth(frame, units="2025", lang="vi", title="Nội dung 3"))
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"
    c = figures.to_png(maps.locator(["P52", "P56"], lang="vi"))
    assert c == figures.to_png(maps.locator(["P52", "P56"], lang="vi"))


def test_alt_texts_start_with_map():
    for key in ("map_alt_national", "map_alt_national_34", "map_alt_locator", "map_alt_locator_34"):
        assert t(key, "vi", province="Sơn La", year=2024).startswith("Bản đồ")
        assert t(key, "en", province="Son La", year=2024).startswith("Map")


def test_errors_name_what_is_wrong(data, tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match="P99"):
        maps.locator(["P99"])
    with pytest.raises(ParameterError, match="dimension"):
        maps.group_frame(year_scores(data, 2015), dimension=8)
    monkeypatch.setenv("PAPI_GEO_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="PAPI_GEO_DIR"):
        maps.boundaries("63")


def test_pdf_keeps_the_locator_small_and_the_national_map_full_width(data):
    from papi_research.render.builtin import pdf_width
    assert pdf_width(figures.to_png(maps.locator(["P09"])), "image/png") == "3.20in"
    assert pdf_width(figures.to_png(maps.choropleth(maps.group_frame(year_scores(data, 2024)))), "image/png") == "100%"
