"""Names and every data-derived string are text (issue 24): a province called
``Sơn La ![t](http://…) [home](https://…) *b* `c``` in provinces.csv stays those characters in the briefing's
Markdown, HTML and Typst; no link or image is made; briefings and the site forbid loading anything from
outside the file (Content-Security-Policy)."""

from __future__ import annotations

import csv
import io
import re
import shutil

import pytest

from papi_research.briefing import display
from papi_research.data.loader import load
from papi_research.data.paths import project_dir
from papi_research.render.markup import markdown_to_typst

SHARED = project_dir().parent / "shared"
EVIL = "Sơn La ![t](http://127.0.0.1:8765/p.png) [home](https://example.org/) *b* `c` <i>x</i> $y$"


@pytest.fixture(scope="module")
def evil_data(tmp_path_factory):
    base = tmp_path_factory.mktemp("evil")
    shutil.copytree(SHARED / "papi", base / "papi")
    path = base / "papi" / "provinces.csv"
    path.chmod(0o644)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for r in rows:
        if r["code"] == "P09":
            r["name_vi"] = EVIL
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return load(base / "papi")


def test_a_name_with_markup_stays_text_in_every_format(evil_data):
    assert evil_data.provinces.lookup("P09").name_vi == EVIL
    sentence = f"Năm 2024, {EVIL} đạt **42,43/80 điểm**."
    for bundle in (display.md_bundle(sentence), display.callout_bundle(sentence)):
        html = bundle.html
        assert "<img" not in html and "href" not in html and "<em>" not in html and "<code>" not in html
        assert "<i>" not in html and "<strong>42,43/80 điểm</strong>" in html  # the catalogue's own bold stays
        assert "![t](http://127.0.0.1:8765/p.png)" in html.replace("&quot;", '"')  # shown as typed
        typst = markdown_to_typst(bundle.markdown)
        assert "#image" not in typst and "#emph" not in typst and "#raw" not in typst
        # the PDF makes a bare web address clickable (as PDF viewers do), but only where the address itself
        # is what the reader sees: no link hides behind other words ("[home](…)" stays those characters)
        links = re.findall(r'#link\("([^"]*)"\)\[([^\]]*)\]', typst)
        assert links and all(re.sub(r"\\(.)", r"\1", shown) == url for url, shown in links)
        assert "#strong[42,43\\/80 điểm]" in typst
        plain = re.sub(r'#link\("[^"]*"\)\[([^\]]*)\]', r"\1", typst)
        assert re.sub(r"\\(.)", r"\1", plain).count("![t](http://127.0.0.1:8765/p.png)") == 1
        assert "[home](https://example.org/)" in re.sub(r"\\(.)", r"\1", plain)
    import pandas as pd
    table = display.table_bundle(pd.DataFrame({"Tỉnh": [EVIL], "Điểm": ["42,43"]}))
    typst = markdown_to_typst(table.markdown)
    assert all(re.sub(r"\\(.)", r"\1", shown) == url for url, shown in re.findall(r'#link\("([^"]*)"\)\[([^\]]*)\]', typst))
    assert "#emph" not in typst and "<img" not in table.html


def test_links_and_images_in_markdown_are_inert_whatever_their_source():
    html = display.md_bundle("see [x](https://example.org/) ![i](http://127.0.0.1/p.png)").html
    assert "href" not in html and "<img" not in html
    assert "#link" not in markdown_to_typst("see [x](https://example.org/)")


@pytest.mark.parametrize("template", ["briefing/index.html.j2", "site.html.j2"])
def test_briefings_and_the_site_forbid_loading_from_outside_the_file(template):
    from papi_research.render.site import TEMPLATE_DIR
    text = (TEMPLATE_DIR / template).read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    rules = dict((part.split()[0], part.split()[1:]) for part in csp.split("; "))
    assert rules["default-src"] == ["'none'"] and rules["img-src"] == ["data:"]
    assert all("http" not in " ".join(v) for v in rules.values())


@pytest.mark.slow
def test_a_real_briefing_of_a_province_named_with_markup(evil_data, tmp_path):
    """The issue's case end to end: `papi run P09` on data whose Sơn La is named with an image, a link,
    emphasis and code. The HTML links to nothing and loads nothing; the PDF shows the name as typed."""
    import subprocess
    import sys

    from pypdf import PdfReader
    out = tmp_path / "R"
    res = subprocess.run([sys.executable, "-m", "papi_research", "run", "P09", "--out", str(out), "--renderer",
                          "builtin", "--data-dir", str(evil_data.directory)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    html = (out / "2024/son-la/son-la-2024.vi.html").read_text(encoding="utf-8")
    assert "127.0.0.1:8765" in html  # the name is shown …
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # … but nothing is loaded or linked
    assert "<em>b</em>" not in html and "<code>c</code>" not in html
    assert "Content-Security-Policy" in html
    pdf = "".join(page.extract_text() for page in PdfReader(out / "2024/son-la/son-la-2024.vi.pdf").pages[:1])
    assert "*b*" in pdf and "![t](http://127.0.0.1:8765/p.png)" in pdf.replace("\n", " ")
