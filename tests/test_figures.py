"""The figure house style: deterministic SVGs and PNGs at a fixed size, Vietnamese text, clear input errors."""

from __future__ import annotations

import struct
import warnings

import matplotlib
import pandas as pd
import pytest
from matplotlib.font_manager import FontProperties, findfont

from papi_research.analysis.scores import scorecard
from papi_research.briefing import figures
from papi_research.briefing.national import dimension_trend_frame, league_frame
from papi_research.briefing.province import trend_frame
from papi_research.data.loader import load_cached
from papi_research.errors import ParameterError


@pytest.fixture(scope="module")
def papi():
    return load_cached()


@pytest.fixture(scope="module")
def card(papi):
    return scorecard(papi, "Sơn La", 2024)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def _charts(papi, card, lang):
    """Every chart function on real data."""
    dt = card.dimension_table()
    return {
        "profile": lambda: figures.dimension_profile(dt, lang=lang, label=card.province.name(lang)),
        "trend": lambda: figures.score_trend(trend_frame(papi, card.province, 2024), lang=lang),
        "change": lambda: figures.change_bars(pd.DataFrame({"label": dt[f"short_{lang}"],
                                                            "change": dt["score"] - dt["national_median"]}),
                                              lang=lang),
        "gap": lambda: figures.gap_bars(pd.DataFrame({"label": dt[f"short_{lang}"], "score": dt["score"],
                                                      "national_median": dt["national_median"]}), lang=lang),
        "league": lambda: figures.league_chart(league_frame(papi, 2024, lang), lang=lang),
        "trends": lambda: figures.dimension_trends(dimension_trend_frame(papi, 2024, lang), segment="segment",
                                                   lang=lang),
    }


@pytest.mark.parametrize("name", ["profile", "trend", "change", "gap", "league", "trends"])
def test_charts_are_deterministic_pngs_at_fixed_dpi(papi, card, name):
    make = _charts(papi, card, "vi")[name]
    fig = make()
    assert isinstance(fig, figures.HouseFigure)
    first = figures.to_png(fig)
    assert figures.to_png(fig) == first  # rendering twice gives the same bytes
    assert figures.to_png(make()) == first  # so does drawing the chart again
    w, h = fig.get_size_inches()
    pw, ph = png_size(first)  # the whole figure at DPI (no tight-bbox crop); matplotlib truncates
    assert abs(pw - w * figures.DPI) < 1 and abs(ph - h * figures.DPI) < 1
    assert b"Matplotlib version" not in first  # no software/version stamp in the file
    assert round(w, 2) == figures.WIDTH


@pytest.mark.parametrize("name", ["profile", "trend", "change", "gap", "league", "trends"])
def test_charts_are_embedded_as_deterministic_svg_at_the_figure_size(papi, card, name):
    make = _charts(papi, card, "vi")[name]
    fig = make()
    mime, svg = figures.to_image(fig)
    assert mime == "image/svg+xml" and isinstance(svg, str) and svg.lstrip().startswith("<?xml")
    assert figures.to_svg(fig) == svg and figures.to_image(make())[1] == svg  # same figure, same text
    w, h = fig.get_size_inches()
    assert f'width="{w * 72:g}pt"' in svg and f'height="{h * 72:g}pt"' in svg
    assert "<text" not in svg  # letters drawn as paths: no font needed to show the chart
    assert "<dc:date>" not in svg  # no time stamp


def test_maps_stay_png_and_an_svg_keeps_its_width_in_the_pdf(papi, card):
    from papi_research.briefing import maps
    from papi_research.render.builtin import pdf_width
    mime, png = figures.to_image(maps.locator(["P09"], lang="vi"))
    assert mime == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    chart = _charts(papi, card, "vi")["profile"]()
    assert pdf_width(figures.to_svg(chart).encode(), "image/svg+xml") == "100%"
    small = figures._new_figure(2.0, width=3.0)
    small.add_subplot().plot([0, 1], [1, 2])
    assert pdf_width(figures.to_svg(small).encode(), "image/svg+xml") == "3.00in"


def test_vietnamese_text_draws_with_dejavu_and_no_missing_glyphs(card):
    with figures.house_style():
        assert findfont(FontProperties(family=matplotlib.rcParams["font.sans-serif"])).endswith("DejaVuSans.ttf")
    frame = pd.DataFrame({"label": ["Quản trị điện tử", "Trách nhiệm giải trình", "Đóng góp tự nguyện ở xã/phường"],
                          "change": [0.25, -0.125, 0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would fail here
        png = figures.to_png(figures.change_bars(frame, lang="vi"))
        figures.to_png(figures.dimension_profile(card.dimension_table(), lang="vi"))
    assert len(png) > 1000


def test_language_changes_words_and_number_format(card):
    dt = card.dimension_table()
    vi = figures.dimension_profile(dt, lang="vi")
    en = figures.dimension_profile(dt, lang="en")
    ax_vi, ax_en = vi.axes[0], en.axes[0]
    assert ax_vi.get_xlabel() == "Điểm (tối đa 10)" and ax_en.get_xlabel() == "Points (out of 10)"
    labels_vi = [t.get_text() for t in ax_vi.get_yticklabels()]
    assert labels_vi[0] == "Tham gia" and labels_vi[-1] == "Quản trị điện tử"
    notes_vi = [t.get_text() for t in ax_vi.texts]
    notes_en = [t.get_text() for t in ax_en.texts]
    assert "5,20" in notes_vi and "5.20" in notes_en  # Sơn La 2024 participation 5.204


def test_drawing_leaves_global_style_alone_and_no_pyplot_figures(card):
    import matplotlib.pyplot as plt
    before = dict(matplotlib.rcParams)
    n_before = len(plt.get_fignums())
    figures.to_png(figures.dimension_profile(card.dimension_table(), lang="en"))
    assert dict(matplotlib.rcParams) == before
    assert len(plt.get_fignums()) == n_before


def test_palettes():
    assert list(figures.GROUP_COLORS) == ["best", "high_average", "low_average", "poor"]
    assert len(set(figures.GROUP_COLORS.values())) == 4
    roles = [figures.ROLE_COLORS[k] for k in ("province", "median", "best", "region")]
    assert len(set(roles)) == 4
    assert figures.style()["font.sans-serif"] == ["DejaVu Sans"]


def test_missing_columns_and_unknown_values_are_named(card):
    with pytest.raises(ParameterError, match="national_median"):
        figures.dimension_profile(card.dimension_table().drop(columns="national_median"))
    with pytest.raises(ParameterError, match="needs a pandas DataFrame"):
        figures.change_bars([1, 2, 3])
    with pytest.raises(ParameterError, match="unknown group"):
        figures.league_chart(pd.DataFrame({"name": ["A"], "total": [40.0], "group": ["excellent"]}))
    with pytest.raises(ParameterError, match="unknown series"):
        figures.score_trend(pd.DataFrame({"year": [2020], "province": [40.0]}), series=("province", "mean"))
    with pytest.raises(ParameterError, match="lang"):
        figures.change_bars(pd.DataFrame({"label": ["a"], "change": [1.0]}), lang="fr")


def test_missing_values_do_not_break_a_chart(papi):
    # Vĩnh Phúc 2024 was not published: the profile still draws the national references
    dt = scorecard(papi, "Vĩnh Phúc", 2024).dimension_table()
    assert dt["score"].isna().all()
    png = figures.to_png(figures.dimension_profile(dt, lang="vi"))
    assert png_size(png)[0] == round(figures.WIDTH * figures.DPI)
    bars = figures.change_bars(pd.DataFrame({"label": ["a", "b"], "change": [float("nan"), float("nan")]}))
    assert [t.get_text() for t in bars.axes[0].texts] == ["–", "–"]


def test_save_png_is_atomic(tmp_path, card):
    fig = figures.dimension_profile(card.dimension_table(), lang="vi")
    out = figures.save_png(fig, tmp_path / "sub" / "profile.png")
    assert out.read_bytes() == figures.to_png(fig)
    assert sorted(p.name for p in out.parent.iterdir()) == ["profile.png"]


def test_dimension_chart_shows_the_survey_interval(card):
    """The briefing's dimension chart draws each score's 95% interval (and keeps it inside the axis)."""
    from papi_research.briefing.province import dimension_frame
    dt = dimension_frame(card)
    assert (dt["ci_low"] < dt["score"]).all() and (dt["score"] < dt["ci_high"]).all()
    fig = figures.dimension_profile(dt, lang="vi")
    ax = fig.axes[0]
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "Khoảng tin cậy 95%" in legend
    lo, hi = ax.get_xlim()
    assert lo <= dt["ci_low"].min() and dt["ci_high"].max() <= hi
    plain = figures.dimension_profile(card.dimension_table(), lang="vi")  # without interval columns: no band
    assert "Khoảng tin cậy 95%" not in [t.get_text() for lg in plain.legends for t in lg.get_texts()]


def test_change_within_the_survey_margin_is_drawn_neutral(papi):
    from papi_research.briefing.province import build
    b = build("Sơn La", year=2021, lang="vi", data=papi)  # some changes within their ±0,36 margin, some not
    noise = b.change_result.dimension_noise
    frame = b.change_frame()
    fig = figures.change_bars(frame, lang="vi", noise=noise)
    bars = [p for c in fig.axes[0].containers for p in c.patches]
    widths = [p.get_width() for p in bars]
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in bars]
    assert any(abs(w) <= noise for w in widths) and any(abs(w) > noise for w in widths)  # both kinds drawn
    for w, c in zip(widths, colours):  # grey exactly when the change is within the margin
        expected = "within" if abs(w) <= noise else "up" if w >= 0 else "down"
        assert c == figures.ROLE_COLORS[expected], (w, c)
    plain = figures.change_bars(b.change_frame(), lang="vi")  # without a margin: green and red, as before
    colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in plain.axes[0].patches
               if isinstance(p, matplotlib.patches.Rectangle) and p.get_height() < 1}
    assert colours == {figures.ROLE_COLORS["up"], figures.ROLE_COLORS["down"]}
