"""After the merger, end to end on the real data: `papi run --units 2025` (two of the 34 new provinces) and
`papi run --national` (both languages) → HTML + A4 PDF with maps → `papi site`, checked in chromium and with
a PDF reader. Kept small on purpose: Hưng Yên (two former provinces, an estimate) and Đồng Tháp (no 2024
estimate: Tiền Giang was not published), one language for them, both for the national briefing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import offline_page, require_chromium
from test_end_to_end import papi

from papi_research.analysis.units import unit_scorecard
from papi_research.data.i18n import fmt_num
from papi_research.data.loader import load_cached

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_merger_briefings_end_to_end(tmp_path):
    """One test on purpose: the runs are the expensive part, and one test keeps them on one xdist worker."""
    out = make(tmp_path)
    check_manifest(out)
    check_unit_pdf(out)
    for lang in ("vi", "en"):
        check_national_pdf(out, lang)
    check_chromium(out)


def make(out: Path) -> Path:
    r = papi("run", "--units", "2025", "Hưng Yên", "Đồng Tháp", "--year", "2024", "--lang", "vi",
             "--format", "html,pdf", "--jobs", "2", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    r = papi("run", "--national", "--year", "2024", "--lang", "vi,en", "--format", "html,pdf", "--jobs", "2",
             "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    r = papi("site", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def pdf_text(path: Path) -> tuple[str, object]:
    from pypdf import PdfReader
    pdf = PdfReader(path)
    for page in pdf.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - 595.28) < 1 and abs(h - 841.89) < 1  # A4 in points
    return " ".join("\n".join(p.extract_text() for p in pdf.pages).split()), pdf


def check_manifest(out):
    runs = {r["key"]: r for r in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]}
    assert {k: r["status"] for k, r in runs.items()} == {
        "2024/units-2025/hung-yen/vi": "ok", "2024/units-2025/dong-thap/vi": "ok",
        "2024/national/vi": "ok", "2024/national/en": "ok"}
    assert runs["2024/units-2025/hung-yen/vi"]["parameters"]["units"] == "2025"
    for r in runs.values():
        for ext in ("ipynb", "html", "pdf"):
            assert (out / r["outputs"][ext]).is_file()


def check_unit_pdf(out):
    card = unit_scorecard(load_cached(), "Hưng Yên", 2024)
    text, pdf = pdf_text(out / "2024" / "units-2025" / "hung-yen" / "hung-yen-2024.vi.pdf")
    assert f"{fmt_num(card.total, 'vi')}/80" in text and f"{card.rank}/{card.ys.n_ranked}" in text
    assert f"xếp hạng {card.region_rank}/{card.n_region_ranked} so với khu vực Đồng bằng sông Hồng" in text
    assert "không phải số liệu chính thức của PAPI" in text and "Thái Bình" in text and "0,605" in text
    assert "geoBoundaries (www.geoboundaries.org)" in text and "dân số trung bình năm 2016" in text
    from conftest import assert_pdf_has_figures
    assert_pdf_has_figures(out / "2024" / "units-2025" / "hung-yen" / "hung-yen-2024.vi.pdf",
                           {"image/png": 1, "image/svg+xml": 3})  # locator map; parts, profile, trend
    assert "Traceback" not in text and "import " not in text
    dt, _ = pdf_text(out / "2024" / "units-2025" / "dong-thap" / "dong-thap-2024.vi.pdf")
    assert "Không có ước tính năm 2024 cho Đồng Tháp" in dt and "49,2%" in dt and "Tiền Giang" in dt


def check_national_pdf(out, lang):
    """League table, maps, movers and gaps, in the language's words and numbers."""
    text, pdf = pdf_text(out / "2024" / "national" / f"vietnam-2024.{lang}.pdf")
    from conftest import assert_pdf_has_figures
    assert_pdf_has_figures(out / "2024" / "national" / f"vietnam-2024.{lang}.pdf",
                           {"image/png": 2, "image/svg+xml": 2})  # two maps; league chart, trends
    if lang == "vi":
        for words in ("Việt Nam: kết quả PAPI năm 2024", "Bảng xếp hạng", "Thay đổi lớn nhất", "Tây Ninh",
                      "Vĩnh Phúc", "Tiền Giang", "Ranh giới tỉnh: geoBoundaries", "47,82"):
            assert words in text, words
    else:
        for words in ("Vietnam: PAPI 2024 results", "Biggest movers", "Tay Ninh", "Vinh Phuc",
                      "Province boundaries: geoBoundaries", "47.82"):
            assert words in text, words
        assert "47,82" not in text


def check_chromium(out):
    from playwright import sync_api  # a test dependency: installed by `make test`

    require_chromium()
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser, page, errors, remote = offline_page(p)

        def images():
            return page.evaluate("Array.from(document.images).filter(i => i.offsetParent !== null)"
                                 ".map(i => [i.complete, i.naturalWidth, i.alt])")

        page.goto((out / "2024" / "national" / "vietnam-2024.vi.html").as_uri())
        page.wait_for_load_state("load")
        assert page.inner_text("h1") == "Việt Nam: kết quả PAPI năm 2024"
        imgs = images()
        assert len(imgs) == 4 and all(done and width > 0 and alt for done, width, alt in imgs), imgs
        assert [alt for _, _, alt in imgs if alt.startswith("Bản đồ")][:2] == [imgs[0][2], imgs[1][2]]
        page.screenshot(path=str(artifacts / "e2e-national-2024.vi.png"), full_page=True)
        page.goto((out / "2024" / "national" / "vietnam-2024.en.html").as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert sum(alt.startswith("Map of Vietnam") for _, _, alt in images()) == 2

        page.goto((out / "2024" / "units-2025" / "hung-yen" / "hung-yen-2024.vi.html").as_uri())
        page.wait_for_load_state("load")
        assert page.inner_text("h1") == "Hưng Yên (tỉnh, thành phố mới): ước tính PAPI năm 2024"
        imgs = images()
        assert len(imgs) == 4 and imgs[0][2].startswith("Bản đồ vị trí: Hưng Yên")
        body = page.inner_text("body")
        assert "ước tính" in body and "Thái Bình" in body and "Traceback" not in body
        page.screenshot(path=str(artifacts / "e2e-hung-yen-2024.units.vi.png"), full_page=True)

        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        assert page.locator("#briefings tbody tr").count() == 4
        assert "tỉnh mới · ước tính" in page.inner_text("#briefings")
        maps = images()
        assert len(maps) == 2 and all(alt.startswith("Bản đồ") and width > 0 for _, width, alt in maps)
        page.click("[data-ui-lang=en]")
        assert all(alt.startswith("Map") for _, _, alt in images())
        for href in page.eval_on_selector_all("#briefings a", "as => as.map(a => a.href)"):
            assert Path(href.removeprefix("file://")).is_file(), href
        page.screenshot(path=str(artifacts / "index-merger.en.png"), full_page=True)
        assert errors == [] and remote == []
        browser.close()
