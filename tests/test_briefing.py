"""Briefing sections on the real data: exact headline numbers, gaps that still build, clean wording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from papi_research.analysis.scores import scorecard
from papi_research.briefing import national
from papi_research.briefing import province as briefing
from papi_research.data.i18n import fmt_num
from papi_research.data.loader import load_cached
from papi_research.errors import ParameterError, UnknownProvinceError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def papi():
    return load_cached()


@pytest.fixture(scope="module")
def son_la(papi):
    return {lang: briefing.build("Sơn La", lang=lang, data=papi) for lang in ("vi", "en")}


def _tiles(section):
    return [i for b in section.blocks if b.kind == "tiles" for i in b.items]


def test_sections_in_reading_order(son_la):
    for b in son_la.values():
        assert tuple(b.sections) == briefing.SECTIONS
        for key in briefing.SECTIONS:
            assert getattr(b, key) is b.sections[key]
            assert b.sections[key].title and b.sections[key].blocks


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_headline_matches_the_scorecard(papi, son_la, lang):
    b = son_la[lang]
    card = scorecard(papi, "Sơn La", 2024)
    assert b.year == 2024 and b.card.total == card.total
    text = b.headline.text()
    assert fmt_num(card.total, lang) in text  # 43,89 / 43.89
    rank = f"{card.rank}/{card.ys.n_ranked}" if lang == "vi" else f"{card.rank} of {card.ys.n_ranked}"
    assert rank in text
    group = {"vi": "nhóm đạt điểm trung bình cao", "en": "high-average performers"}[lang]
    assert card.group == "high_average" and group in text
    region = card.province.region(lang)
    assert region in text
    # change against the comparison year (2023, same regime)
    assert b.comparison_year == card.previous["year"] == 2023
    delta = card.total - card.previous["total"]
    assert fmt_num(abs(delta), lang) in text
    tiles = _tiles(b.action)  # the headline numbers open the action brief
    assert [t["value"] for t in tiles][:2] == [fmt_num(card.total, lang), rank]
    # a rise inside the survey margin of the change is shown, but not coloured as a gain
    beyond = abs(delta) > b.change_result.total_change_noise
    assert tiles[3]["value"] == fmt_num(delta, lang, sign=True)
    assert tiles[3]["tone"] == ("good" if beyond else "neutral")
    assert b.headline_numbers()["total_text"] == fmt_num(card.total, lang)


def test_published_figure_dong_thap_2021(papi):
    b = briefing.build("Đồng Tháp", year=2021, lang="en", data=papi)
    text = b.headline.text()
    assert "42.43 out of 80" in text and "27 of 60" in text
    u = b.card.uncertainty()
    assert f"95% interval is {fmt_num(u['ci_low'], 'en')} to {fmt_num(u['ci_high'], 'en')}" in text
    # the action brief says the same margin in plain words
    assert f"up to {fmt_num(u['margin'], 'en')} points off either way" in b.action.text()
    # a 0.02 gap to the median is inside the survey margin: "on par", never "above"
    profile = b.profile.text()
    above = next(line for line in profile.splitlines() if line.startswith("Furthest above"))
    assert "Vertical accountability" not in above
    assert "Vertical accountability (+0.02 points)" in next(line for line in profile.splitlines()
                                                             if line.startswith("On par"))


def test_boundary_note_names_the_post_2025_province(papi, son_la):
    assert "Sơn La giữ nguyên địa giới" in son_la["vi"].headline.text()
    assert "01/7/2025" in son_la["vi"].headline.text()
    vp = briefing.build("Vĩnh Phúc", year=2023, lang="vi", data=papi).headline.text()
    assert "Vĩnh Phúc, Hòa Bình và Phú Thọ hợp nhất thành Phú Thọ (mới)" in vp
    hy = briefing.build("Hưng Yên", year=2024, lang="en", data=papi).headline.text()
    assert "Hung Yen and Thai Binh have formed the new Hung Yen" in hy and "merged into Hung Yen" not in hy
    hue = briefing.build("Thừa Thiên-Huế", year=2024, lang="en", data=papi).headline.text()
    assert "now Hue" in hue or "now Huế" in hue


def test_profile_tiles_and_official_subdimension_labels(papi):
    b = briefing.build("Hà Tĩnh", year=2015, lang="en", data=papi)
    values = [t["value"] for t in _tiles(b.profile)]
    assert values == ["6.44", "7.24", "7.51", "6.67", "7.30", "7.17"]  # published 2015 dimensions
    table = b.subdimensions.tables()[0]
    labels = table["Sub-dimension"].tolist()
    assert "Poverty Lists" in labels and "Access to Information" not in labels  # 2011–2017 structure
    b24 = briefing.build("Hà Tĩnh", year=2024, lang="vi", data=papi)
    labels24 = b24.subdimensions.tables()[0]["Nội dung thành phần"].tolist()
    assert labels24[4] == "Tiếp cận thông tin" and len(labels24) == 28  # 2021+: SC52 gone


def test_change_section_sums_to_the_total_change(papi, son_la):
    b = son_la["en"]
    ch = b.change_result
    assert ch.from_year == 2023
    assert ch.by_dimension["change"].sum() == pytest.approx(ch.total_change, abs=1e-9)
    table = b.change.tables()[0]
    assert table.columns.tolist()[:3] == ["Dimension", "2023", "2024"]
    assert len(table) == 8


@pytest.mark.parametrize("province,year,status", [("Vĩnh Phúc", 2024, "missing"), ("Quảng Ninh", 2018, "partial"),
                                                  ("Bắc Giang", 2014, "missing"), ("Bắc Ninh", 2022, "partial")])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_missing_or_partial_province_year_still_builds_with_a_clear_note(papi, province, year, status, lang):
    b = briefing.build(province, year=year, lang=lang, data=papi)
    assert b.card.status == status and b.card.total is None
    warnings_ = [x for x in b.headline.blocks if x.kind == "callout" and x.tone == "warning"]
    assert len(warnings_) == 1
    word = {"missing": {"vi": "không công bố điểm", "en": "published no scores"},
            "partial": {"vi": "chỉ công bố", "en": "published only"}}[status][lang]
    assert word in warnings_[0].text
    assert tuple(b.sections) == briefing.SECTIONS
    tiles = _tiles(b.action)  # the headline numbers open the action brief
    assert tiles[0]["value"] == "–"
    official = [x.text for x in b.headline.blocks if x.kind == "callout" and x.tone == "note"][0]
    assert papi.gap_summary(year, b.province.code, lang) in official
    assert official != papi.gap_reason(year, b.province.code)  # the summary in the reader's language
    for name in briefing.FIGURES:  # every chart still draws
        assert b.figure(name) is not None


def test_quang_ninh_2018_names_the_missing_dimensions(papi):
    text = briefing.build("Quảng Ninh", year=2018, lang="vi", data=papi).headline.text()
    assert "6/8 nội dung" in text and "2 và 4" in text


def test_analysis_sections_from_the_drivers_report(son_la):
    b = son_la["vi"]
    lines = b.report.priorities.lines
    table = b.priorities.tables()[0]
    assert table.columns.tolist() == ["TT", "Nội dung thành phần", "Điểm", "Trung vị toàn quốc", "Chênh lệch",
                                      "Xu hướng so với trung vị (điểm/năm; khoảng tin cậy 95%)", "Số bậc có thể tăng",
                                      "Độ ổn định"]
    assert len(table) == len(lines) >= 3
    assert table["TT"].tolist() == [str(i) for i in range(1, len(lines) + 1)]  # ranks, not dimension numbers
    assert table.iloc[0, 1].startswith(lines[0]["label_vi"] + " (thuộc nội dung ")
    assert table.iloc[0, 2] == fmt_num(lines[0]["score"], "vi")
    assert lines[0]["sentence_vi"] in b.priorities.text()
    assert "giữ nguyên" in b.target.text()  # other provinces held where they are
    models = b.drivers.tables()[0]
    assert "Tổng điểm" in models["Biến kết quả"].tolist()
    peers = b.peers.tables()[0]
    names = {n for ln in lines for n in ln["learn_from_names"]["vi"]}
    assert set(peers["Tỉnh/thành phố"]) == names


def test_target_section_when_the_target_is_not_met(papi):
    b = briefing.build("Kiên Giang", year=2024, lang="en", target="group:best", data=papi)
    plan = b.report.target
    assert not plan.already_met and plan.needed_points > 0
    text = b.target.text()
    assert f"**{fmt_num(plan.needed_shown, 'en')} more points**" in text  # rounded up, never a hair short
    assert plan.needed_shown >= plan.needed_points
    assert f"from {plan.rank_now} to {plan.rank_after} of {plan.n_ranked}" in text
    assert "survey margin" in text and "illustrative allocation" in text


def test_data_notes_cite_sources_and_versions(papi, son_la):
    vi, en = son_la["vi"].notes.text(), son_la["en"].notes.text()
    assert "CECODES, VFF-CRT, RTA và UNDP, PAPI (2024)" in vi
    assert "CECODES, VFF-CRT, RTA & UNDP, PAPI (2024)" in en
    assert papi.version in en and "papi-research" in en
    assert "Vĩnh Phúc" in vi and "Tiền Giang" in vi  # the year's gaps
    assert "VCCI" in en  # companion data cited when the models use it
    assert "15/15/15/16" in en  # 2024's official group counts


def test_no_tiny_negative_zero_and_vietnamese_numbers(son_la):
    text = son_la["vi"].text()
    assert not re.search(r"[−-]0,00(?!\d)", text)
    assert not re.search(r"\d\.\d\d\b(?! of)", son_la["vi"].headline.text())  # decimal comma in Vietnamese


def test_same_inputs_same_briefing(papi, son_la):
    again = briefing.build("son-la", lang="vi", data=papi)
    assert again.to_dict() == son_la["vi"].to_dict()


def test_bad_parameters_raise_one_clear_error(papi):
    with pytest.raises(ParameterError, match="lang"):
        briefing.build("Sơn La", lang="fr", data=papi)
    with pytest.raises(ParameterError, match="year"):
        briefing.build("Sơn La", year=2030, data=papi)
    with pytest.raises(ParameterError, match="year"):
        briefing.build("Sơn La", year="2024", data=papi)
    with pytest.raises(ParameterError, match="comparison_year"):
        briefing.build("Sơn La", year=2024, comparison_year=2024, data=papi)
    with pytest.raises(ParameterError, match="target"):
        briefing.build("Sơn La", target="group:excellent", data=papi)
    with pytest.raises(UnknownProvinceError, match="Sơn La"):
        briefing.build("Son Laa", data=papi)
    with pytest.raises(ParameterError, match="figure"):
        briefing.build("Sơn La", data=papi).figure("pie")


def test_comparison_across_the_regime_break_compares_dimensions_only(papi):
    b = briefing.build("Sơn La", year=2019, comparison_year=2016, lang="en", data=papi)
    assert b.change_result.total_change is None
    assert "another regime" in b.change.text()


def test_national_overview(papi):
    o = national.build_national(2024, lang="vi", data=papi)
    assert tuple(o.sections) == national.NATIONAL_SECTIONS
    league = o.league.tables()[0]
    assert len(league) == 63
    assert league.iloc[0]["Xếp hạng"] == "1" and league.iloc[-1]["Xếp hạng"] == "–"
    groups = o.groups.tables()[0]
    assert groups["Số tỉnh, thành phố"].tolist() == ["15", "15", "15", "16"]  # published 2024 counts
    trends = o.trends.tables()[0]
    assert trends["Năm"].tolist() == [str(y) for y in range(2011, 2025)]
    en = national.build_national(2019, lang="en", data=papi)
    assert en.groups.tables()[0]["Provinces"].tolist() == ["16", "16", "15", "16"]  # published 2019 counts
    with pytest.raises(ParameterError, match="year"):
        national.build_national(2031, data=papi)


def test_every_catalogue_key_used_exists_in_both_languages():
    cat = yaml.safe_load((ROOT / "src" / "papi_research" / "resources" / "i18n" / "briefing.yml").read_text(encoding="utf-8"))
    assert all(k.startswith("br_") and set(v) == {"vi", "en"} and v["vi"] and v["en"] for k, v in cat.items())
    src = "".join(f.read_text(encoding="utf-8")
                  for f in sorted((ROOT / "src" / "papi_research" / "briefing").glob("*.py")))
    used = set(re.findall(r'"(br_[a-z0-9_]+)"', src))
    assert used <= set(cat), sorted(used - set(cat))
    for nb in ("province_briefing.ipynb", "national_overview.ipynb"):
        for key in re.findall(r"i18n:(br_[a-z0-9_]+)", (ROOT / "notebooks" / nb).read_text(encoding="utf-8")):
            assert key in cat
    # fields in vi and en templates agree, so a sentence never loses a number in one language
    for k, v in cat.items():
        assert set(re.findall(r"{(\w+)}", v["vi"])) == set(re.findall(r"{(\w+)}", v["en"])), k


def test_library_warnings_reach_the_data_notes_and_the_log(papi, monkeypatch, caplog):
    """A warning raised while the analysis runs is neither dropped nor printed raw: the briefing
    quotes it once in its data notes and the log names the province-year. The analysis is computed once
    for both languages (the second briefing takes the shared report) and its warnings reach both."""
    import warnings as w

    from papi_research.analysis import drivers

    real, calls = drivers.drivers_report, []

    def warning_report(*args, **kwargs):
        calls.append(args[1])
        w.warn("Maximum Likelihood optimization failed to converge", RuntimeWarning)
        w.warn("Maximum Likelihood optimization failed to converge", RuntimeWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(drivers, "drivers_report", warning_report)
    monkeypatch.setattr(drivers, "_SHARED", type(drivers._SHARED)())
    with caplog.at_level("WARNING"):
        b = briefing.build("Sơn La", 2021, lang="vi", data=papi)
        en = briefing.build("Sơn La", 2021, lang="en", data=papi)
    assert len(calls) == 1 and en.report is b.report  # computed once, shared by the two languages
    assert b.warnings == en.warnings == ["RuntimeWarning: Maximum Likelihood optimization failed to converge"]
    notes = b.notes.text()
    assert "1 cảnh báo kỹ thuật" in notes and "failed to converge" in notes
    assert "failed to converge" in en.notes.text()
    assert [r.getMessage() for r in caplog.records] == [
        "Son La 2021: RuntimeWarning: Maximum Likelihood optimization failed to converge"] * 2


def test_say_prints_a_researchers_paragraph_in_the_briefing_language(papi, capsys):
    """say(): a paragraph of the researcher's own, in the briefing's language, with its decimal mark;
    one clear error when a language or a field is missing."""
    from papi_research.briefing.base import say
    from papi_research.errors import ParameterError
    for lang, expected in (("vi", "Tổng điểm năm nay: 42,43."), ("en", "This year's total: 42.43.")):
        b = briefing.build("Đồng Tháp", year=2021, lang=lang, data=papi)
        say(b, vi="Tổng điểm năm nay: {total}.", en="This year's total: {total}.", total=b.card.total)
        assert capsys.readouterr().out.strip() == expected
    with pytest.raises(ParameterError, match="en"):
        say(b, vi="Chỉ có tiếng Việt.", en=" ")
    with pytest.raises(ParameterError, match="same fields"):
        say(b, vi="Tổng điểm: {total}.", en="Total.", total=1.0)
    with pytest.raises(ParameterError, match="rank"):
        say(b, vi="Hạng {rank}.", en="Rank {rank}.")


def test_english_agrees_in_number_and_uses_a_minus_sign():
    from papi_research.data.i18n import t
    assert fmt_num(-3.864, "en") == "−3.86" and fmt_num(-3.864, "vi") == "−3,86"
    one = t("an_line_gain", "en", gain="1")
    assert "1 place in" in one and "(s)" not in one
    assert "3 places in" in t("an_line_gain", "en", gain="3")
    assert t("an_change_restructured", "en", dims="5", a=2020, b=2021).startswith("Dimension 5 changed")
    assert t("an_change_restructured", "en", dims="5, 8", a=2018, b=2019).startswith("Dimensions 5, 8 changed")
    assert "1 technical warning," in t("br_notes_warnings", "en", n=1)
    counts = t("br_profile_counts", "en", year=2021, above=1, par=5, below=2, noise="0.22")
    assert "1 dimensions" not in counts
