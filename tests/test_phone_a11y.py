"""Real briefings in Debian chromium: a 390-px phone and a 1280-px desktop, axe-core's accessibility rules,
and every link a briefing or the index offers, followed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
SMALLEST_PT = 6.2  # the smallest text on any chart (the league chart's province names)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).is_file() and not os.environ.get("CI"),
                                 reason=f"{CHROMIUM} not installed (apt-get install chromium)")]

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # a test dependency (pip install -e ".[test]"); CI must have it
    if os.environ.get("CI"):
        raise
    Axe = None


def papi(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "papi_research", *args], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "SOURCE_DATE_EPOCH": "1735689600"})
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("phone")
    papi("run", "Sơn La", "--year", "2021", "--lang", "vi,en", "--format", "html,pdf,docx", "--jobs", "1",
         "--out", str(out))
    papi("run", "--national", "--year", "2021", "--lang", "vi", "--format", "html", "--jobs", "1", "--out", str(out))
    papi("site", "--out", str(out))
    return out


PAGES = {"province": "2021/son-la/son-la-2021.vi.html", "national": "2021/national/vietnam-2021.vi.html",
         "index": "index.html"}


def open_page(browser, path: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": 844 if width < 500 else 900})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file://", "data:"))
               else route.abort())
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.mark.skipif(Axe is None, reason="axe-playwright-python not installed (pip install -e '.[test]')")
@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_violation(browser, reports, name, width):
    path = reports / PAGES[name]
    assert path.is_file(), sorted(p.name for p in path.parent.iterdir())
    page = open_page(browser, path, width)
    result = Axe().run(page)
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result.response["violations"]]
    page.close()
    assert violations == []


@pytest.mark.parametrize("name", list(PAGES))
def test_fits_a_390_px_phone_with_readable_charts(browser, reports, name, artifacts_dir):
    page = open_page(browser, reports / PAGES[name], 390)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling of the page
    # every chart is drawn large enough that its smallest text is at least 8 CSS px
    sizes = page.evaluate("""Array.from(document.querySelectorAll('img.papi-chart')).map(i => {
        const svg = atob(i.src.split(',')[1]); const m = svg.match(/<svg[^>]*?\\swidth="([\\d.]+)pt"/);
        return [i.getBoundingClientRect().width, m ? parseFloat(m[1]) : null]; })""")
    for rendered, width_pt in sizes:
        assert width_pt and SMALLEST_PT * rendered / width_pt * 96 / 72 >= 8, (rendered, width_pt)
    if name == "index":  # every file link of a briefing is on screen
        for box in page.eval_on_selector_all("#briefings a", "as => as.map(a => a.getBoundingClientRect().right)"):
            assert box <= 390
        heights = page.eval_on_selector_all("#briefings tbody tr", "rs => rs.map(r => r.offsetHeight)")
        assert max(heights) < 120  # a card of three short lines
    if name == "national":  # league-table rows stay one or two lines (the table scrolls inside its figure)
        heights = page.eval_on_selector_all("figure.papi-table tbody tr", "rs => rs.map(r => r.offsetHeight)")
        assert heights and max(heights) < 60, max(heights)
    page.screenshot(path=str(artifacts_dir / f"phone-{name}.png"), full_page=False)
    page.close()


def test_links_of_a_briefing_and_the_index_are_followed(browser, reports):
    page = open_page(browser, reports / PAGES["province"], 1280)
    hrefs = page.eval_on_selector_all("nav.papi-links a", "as => as.map(a => a.getAttribute('href'))")
    assert hrefs == ["son-la-2021.en.html", "son-la-2021.vi.pdf", "son-la-2021.vi.docx", "../../index.html"]
    page.click("nav.papi-links a[hreflang=en]")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.lang") == "en" and page.url.endswith("son-la-2021.en.html")
    page.click("nav.papi-links a[href$='index.html']")
    page.wait_for_load_state("load")
    assert page.url.endswith("/index.html")
    for href in page.eval_on_selector_all("#briefings a", "as => as.map(a => a.href)"):
        assert Path(href.removeprefix("file://")).is_file(), href
    for href in page.eval_on_selector_all("a", "as => as.map(a => a.href)"):
        if href.startswith("file://"):
            assert Path(re.sub(r"#.*$", "", href.removeprefix("file://"))).is_file(), href
    page.close()


def test_index_search_finds_region_and_run_together_names(browser, reports):
    page = open_page(browser, reports / "index.html", 1280)
    visible = lambda: page.locator("#briefings tbody tr:visible")  # noqa: E731
    page.fill("#q", "sonla")
    assert visible().count() == 2
    page.fill("#q", "trung du")  # the region
    assert visible().count() == 2
    page.fill("#q", "")
    assert page.get_attribute("#f-year", "aria-label") == "Lọc theo năm"
    page.click("[data-ui-lang=en]")
    assert page.get_attribute("#f-year", "aria-label") == "Filter by year"
    page.click("th[data-key=total] button")
    page.click("th[data-key=total] button")  # descending, then ascending: the national row stays last
    for _ in range(2):
        last = page.locator("#briefings tbody tr").last.get_attribute("data-key")
        assert "national" in last or "vietnam" in last, last
        page.click("th[data-key=total] button")
    page.close()
