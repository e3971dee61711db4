"""The whole flow on the real data: `papi run` → executed notebook → HTML + PDF → `papi site`,
then a real browser and a PDF reader check what an official would hold (Đồng Tháp 2021: 42.432, 27/60)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import offline_page, require_chromium

from papi_research.analysis.scores import scorecard
from papi_research.data.loader import load_cached

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def papi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papi_research", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=ROOT, env={**os.environ, "SOURCE_DATE_EPOCH": "1735689600"})


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e")
    r = papi("run", "Đồng Tháp", "Quảng Ninh", "--year", "2021", "--lang", "vi,en", "--format", "html,pdf",
             "--jobs", "1", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    r = papi("site", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_manifest_records_the_run_and_the_official_gap(out):
    runs = {r["key"]: r for r in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]}
    assert runs["2021/dong-thap/vi"]["status"] == "ok" and runs["2021/dong-thap/en"]["status"] == "ok"
    qn = runs["2021/quang-ninh/vi"]
    assert qn["status"] == "skipped" and "không đủ dữ liệu" in qn["reason"]  # official reason, not a failure
    assert not (out / "2021" / "quang-ninh").exists() or not list((out / "2021" / "quang-ninh").glob("*.html"))
    for lang in ("vi", "en"):
        for ext in ("ipynb", "html", "pdf"):
            assert (out / runs[f"2021/dong-thap/{lang}"]["outputs"][ext]).is_file()


def test_pdf_is_a4_vietnamese_with_exact_figures(out):
    from pypdf import PdfReader

    card = scorecard(load_cached(), "Đồng Tháp", 2021)
    pdf = PdfReader(out / "2021" / "dong-thap" / "dong-thap-2021.vi.pdf")
    assert len(pdf.pages) >= 3
    for page in pdf.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - 595.28) < 1 and abs(h - 841.89) < 1  # A4 in points
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Đồng Tháp" in text and "42,43" in text and "27/60" in text
    assert f"{card.total:.2f}".replace(".", ",") == "42,43"
    assert "Trang 1/" in text and "PAPI (2021)" in text
    assert "import " not in text and "Traceback" not in text and "#|" not in text
    from conftest import assert_pdf_has_figures
    # every figure of the briefing is in the PDF: profile, trend and change as vector charts, the locator map
    assert_pdf_has_figures(out / "2021" / "dong-thap" / "dong-thap-2021.vi.pdf", {"image/svg+xml": 3, "image/png": 1})
    flat = " ".join(text.split())
    assert "xếp hạng 2/13 so với khu vực Đồng bằng sông Cửu Long" in flat  # the regional rank
    assert "geoBoundaries (www.geoboundaries.org)" in flat  # the locator map's boundary credit
    en = "\n".join(p.extract_text() for p in PdfReader(out / "2021" / "dong-thap" / "dong-thap-2021.en.pdf").pages)
    assert "Dong Thap" in en and "42.43" in en and "42,43" not in en


def test_real_briefing_in_chromium(out):
    from playwright import sync_api  # a test dependency: installed by `make test`

    require_chromium()
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser, page, errors, remote = offline_page(p)
        page.goto((out / "2021" / "dong-thap" / "dong-thap-2021.vi.html").as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.lang") == "vi"
        assert page.inner_text("h1") == "Đồng Tháp: kết quả PAPI năm 2021"
        body = page.inner_text("body")
        assert "42,43/80" in body and "27/60" in body and "Đồng bằng sông Cửu Long" in body
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        assert len(images) == 4 and all(done and width > 0 and alt for done, width, alt in images), images
        assert any(alt.startswith("Bản đồ") for _, _, alt in images)  # the locator map
        assert "import " not in body and "Traceback" not in body and "Warning" not in body
        # the notebook's notes for researchers (markdown cells tagged remove-cell) stay out of the briefing
        assert "Provincial briefing" not in body and "Build the briefing" not in body and "remove-cell" not in body
        page.screenshot(path=str(artifacts / "e2e-dong-thap-2021.vi.png"), full_page=True)
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        rows = page.locator("#briefings tbody tr")
        assert rows.count() >= 2 and "42,43/80" in page.inner_text("#briefings")
        assert errors == [] and remote == []
        browser.close()
