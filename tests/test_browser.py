"""Browser: Debian chromium (Playwright) opens the index and a briefing as a reader would, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import CHROMIUM, make_reports

from papi_research.render.site import build_site


# Outside CI a machine without Debian chromium skips these, saying why; in CI (CI=true) they must run.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).is_file() and not os.environ.get("CI"),
                                 reason=f"{CHROMIUM} not installed (apt-get install chromium)")]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = make_reports(tmp_path_factory.mktemp("site"), [("Sơn La", 2024, "vi"), ("Sơn La", 2024, "en"),
                                                         ("Đồng Tháp", 2021, "vi"), ("Hà Nội", 2024, "en")])
    build_site(out)
    return out


class Page:
    """A page that records console errors, page errors and every request leaving file://."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1100, "height": 900})
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            self.remote.append(route.request.url)
            route.abort()

    def open(self, path: Path):
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self.page


def test_briefing_page(browser, reports, artifacts_dir):
    pg = Page(browser)
    page = pg.open(reports / "2024" / "son-la" / "son-la-2024.vi.html")
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert page.inner_text("h1") == "Sơn La: kết quả PAPI năm 2024"
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert len(images) == 2 and all(done and width > 0 and alt for done, width, alt in images), images
    assert page.locator(".papi-tile").count() == 3
    assert "Hình 1." in page.inner_text("figure.papi-figure figcaption >> nth=0")
    body = page.inner_text("body")
    assert "42,43" in body and "STDERR" not in body and "PLAIN-REPR" not in body
    page.screenshot(path=str(artifacts_dir / "briefing-son-la-2024.vi.png"), full_page=True)
    assert pg.errors == [] and pg.remote == []
    page.close()


def test_english_briefing_page(browser, reports):
    pg = Page(browser)
    page = pg.open(reports / "2024" / "son-la" / "son-la-2024.en.html")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("h1") == "Son La: PAPI 2024 results"
    assert "42.43" in page.inner_text("body")
    assert pg.errors == [] and pg.remote == []
    page.close()


def test_index_page_sorts_filters_and_switches_language(browser, reports, artifacts_dir):
    pg = Page(browser)
    page = pg.open(reports / "index.html")
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert page.inner_text("h1") == "Báo cáo tóm tắt PAPI cấp tỉnh"
    visible = lambda: page.locator("#briefings tbody tr:visible")  # noqa: E731
    assert visible().count() == 4 and page.inner_text("#count") == "4/4 báo cáo"
    page.fill("#q", "dong thap")  # diacritics optional
    assert visible().count() == 1 and "Đồng Tháp" in visible().first.inner_text()
    page.fill("#q", "")
    page.select_option("#f-lang", "en")
    assert visible().count() == 2
    page.select_option("#f-lang", "")
    page.click("th[data-key=total] button")  # ascending
    totals = [float(x) for x in page.eval_on_selector_all(
        "#briefings tbody tr", "rs => rs.map(r => r.getAttribute('data-sort-total'))")]
    assert totals == sorted(totals)
    page.click("th[data-key=total] button")  # descending
    first = page.locator("#briefings tbody tr").first.get_attribute("data-key")
    assert first.startswith("2024/son-la/")  # Sơn La 43,89 > Hà Nội 43,77 > Đồng Tháp 42,43
    page.click("[data-ui-lang=en]")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("h1") == "PAPI provincial briefings"
    assert page.inner_text("#count") == "4 of 4 briefings"
    assert "43.89/80" in page.inner_text("#briefings") and "Dong Thap" in page.inner_text("#briefings")
    page.screenshot(path=str(artifacts_dir / "index.en.png"), full_page=True)
    # every link opens a file that exists
    for href in page.eval_on_selector_all("#briefings a", "as => as.map(a => a.href)"):
        assert Path(href.removeprefix("file://")).is_file(), href
    page.click("[data-ui-lang=vi]")
    page.screenshot(path=str(artifacts_dir / "index.vi.png"), full_page=True)
    assert pg.errors == [] and pg.remote == []
    page.close()


@pytest.mark.skipif(__import__("papi_research.render.quarto", fromlist=["quarto_path"]).quarto_path() is None,
                    reason="quarto is not on PATH (pip cannot install Quarto here; conda install quarto to run it)")
def test_quarto_briefing_page_is_offline(browser, tmp_path, artifacts_dir):
    """Quarto's HTML passes the builtin briefing's browser checks and makes no network request."""
    from conftest import synthetic_notebook

    from papi_research.render import render
    out = render(synthetic_notebook(tmp_path / "son-la-2024.vi.ipynb"), "html", renderer="quarto")["html"]
    pg = Page(browser)
    page = pg.open(out)
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert page.inner_text("h1") == "Sơn La: kết quả PAPI năm 2024"
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert len(images) == 2 and all(done and width > 0 and alt for done, width, alt in images), images
    assert page.locator(".papi-tile").count() == 3
    assert page.locator(".papi-tile").first.evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"
    assert "Hình 1." in page.inner_text("figure figcaption >> nth=0").replace("\xa0", " ")
    assert "42,43" in page.inner_text("body")
    page.screenshot(path=str(artifacts_dir / "quarto-briefing-son-la-2024.vi.png"), full_page=True)
    assert pg.errors == [] and pg.remote == []
    page.close()
