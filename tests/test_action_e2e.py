"""The action brief end to end: `papi run` of three provinces with their own targets → PDF pages 1–2, the
Word file read back, and a researcher's own cells (a paragraph, a figure, a DataFrame) in every format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import docx
import nbformat
import pytest
from pypdf import PdfReader

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
JARGON = re.compile(r"HC3|Holm|VIF|R²|fixed effect|hiệu ứng cố định|khoảng tin cậy|confidence interval|95%|"
                    r"\bSC\d\d\b|\bD\d\b|\.csv|data/|phương sai|variance|hồi quy|regression|p-value|"
                    r"E-Reponsiveness", re.I)


def papi(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papi_research", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, env={**os.environ, "SOURCE_DATE_EPOCH": "1735689600"})


def squash(text: str) -> str:
    """Text without whitespace: a table cell's words wrap (and hyphenate) differently in a narrow column."""
    return re.sub(r"\s+", "", text.replace("\u2019", "'"))  # as pages() reads the PDF's apostrophes


def pages(pdf: Path) -> list[str]:
    return [" ".join((p.extract_text() or "").replace("\u2019", "'").split()) for p in PdfReader(str(pdf)).pages]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("action")
    targets = out / "targets.csv"
    targets.write_text("province,target,year\nThanh Hóa,top:10,\nSơn La,group:high_average,2021\n", encoding="utf-8")
    r = papi("run", "Sơn La", "Thanh Hóa", "Đồng Tháp", "--year", "2021", "--lang", "vi,en", "--format",
             "html,pdf,docx", "--targets", str(targets), "--jobs", "1", "--out", str(out / "reports"))
    assert r.returncode == 0, r.stdout + r.stderr
    return out / "reports"


def test_each_province_gets_its_own_target(out):
    runs = {r["key"]: r for r in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]}
    assert runs["2021/thanh-hoa/vi"]["parameters"]["target"] == "top:10"
    assert runs["2021/son-la/en"]["parameters"]["target"] == "group:high_average"
    assert runs["2021/dong-thap/vi"]["parameters"]["target"] is None  # the default: the next group up
    for key in runs:
        assert set(runs[key]["outputs"]) == {"ipynb", "html", "pdf", "docx"}
    th = " ".join(pages(out / "2021/thanh-hoa/thanh-hoa-2021.vi.pdf")[:2])
    assert "Mục tiêu tỉnh đặt: nhóm 10 tỉnh, thành phố dẫn đầu." in th
    sl = " ".join(pages(out / "2021/son-la/son-la-2021.en.pdf")[:2])
    assert "The province's target: high-average performers." in sl
    dt = " ".join(pages(out / "2021/dong-thap/dong-thap-2021.en.pdf")[:2])
    assert "Target: best performers (by default the next group up" in dt


@pytest.mark.parametrize("stem,lang", [("son-la/son-la-2021.vi", "vi"), ("dong-thap/dong-thap-2021.en", "en"),
                                       ("thanh-hoa/thanh-hoa-2021.vi", "vi"), ("son-la/son-la-2021.en", "en")])
def test_pages_one_and_two_are_the_action_brief_in_plain_words(out, stem, lang):
    text = pages(out / "2021" / f"{stem}.pdf")
    first = " ".join(text[:2])
    assert not JARGON.search(first), JARGON.search(first).group(0)
    heads = {"vi": ["Tỉnh đang ở đâu", "Nội dung làm tỉnh mất điểm năm 2021", "Việc cần làm trong kỳ tới",
                    "Mục tiêu cho kỳ tới"],
             "en": ["Where the province stands", "What cost points in 2021", "What to do before the next round",
                    "Target for the next round"]}[lang]
    assert all(h in first for h in heads)
    nb = nbformat.read(out / "2021" / f"{stem}.ipynb", as_version=4)
    plan = next(o for c in nb.cells for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})
                and ("| TT |" in o["data"]["text/markdown"] or "| No. |" in o["data"]["text/markdown"]))
    rows = [r for r in plan["data"]["text/markdown"].splitlines() if re.match(r"^\| \d \|", r)]
    assert 1 <= len(rows) <= 5  # only lines beyond the survey noise are priorities (issue 21)
    if len(rows) < 3:  # fewer than three: the brief names what to watch instead
        assert {"vi": "Cần theo dõi", "en": "To watch"}[lang] in first
    for r in rows:  # every priority and its lead agency is on pages 1–2
        cells = [c.strip() for c in r.strip("|").split(" | ")]
        assert squash(cells[3]) in squash(first) and squash(cells[1].split(" (")[0]) in squash(first)
    # the evidence (with its statistical terms) starts on page 3
    assert text[2].startswith({"vi": "Kết quả chung", "en": "Headline"}[lang])


def test_dong_thap_says_what_lost_points(out):
    first = " ".join(pages(out / "2021/dong-thap/dong-thap-2021.en.pdf")[:2])
    for dim, loss in (("Control of corruption", "1.35"), ("Transparency", "1.05"), ("Vertical accountability", "0.82")):
        assert f"{dim}: down {loss} points" in first


@pytest.mark.parametrize("stem,lang", [("son-la/son-la-2021.vi", "vi"), ("dong-thap/dong-thap-2021.en", "en")])
def test_word_file_read_back_holds_the_action_plan_table(out, stem, lang):
    d = docx.Document(str(out / "2021" / f"{stem}.docx"))
    head = {"vi": ["TT", "Việc ưu tiên", "Lý do", "Cơ quan chủ trì", "Cơ quan phối hợp", "Cần đạt"],
            "en": ["No.", "Priority", "Why", "Lead agency", "Supporting agencies", "What it takes"]}[lang]
    plan = next(t for t in d.tables if [c.text for c in t.rows[0].cells] == head)
    pdf_first = " ".join(pages(out / "2021" / f"{stem}.pdf")[:2])
    assert 1 <= len(plan.rows) - 1 <= 5
    for row in plan.rows[1:]:
        cells = [c.text for c in row.cells]
        assert cells[0].isdigit() and cells[3] and cells[3] != "–"
        assert squash(cells[3]) in squash(pdf_first)  # the same plan as the PDF's
    text = "\n".join(p.text for p in d.paragraphs)
    assert text.index({"vi": "Tóm tắt cho lãnh đạo", "en": "Action brief"}[lang]) < \
        text.index({"vi": "Kết quả chung", "en": "Headline"}[lang])


def test_html_links_its_other_language_pdf_word_and_index(out):
    html = (out / "2021/son-la/son-la-2021.vi.html").read_text(encoding="utf-8")
    for href in ("son-la-2021.en.html", "son-la-2021.vi.pdf", "son-la-2021.vi.docx", "../../index.html"):
        assert f'href="{href}"' in html


def test_a_researchers_own_cells_reach_html_pdf_and_word(tmp_path):
    nb = nbformat.read(ROOT / "notebooks/province_briefing.ipynb", as_version=4)
    v = nbformat.v4
    i = next(k for k, c in enumerate(nb.cells) if "show(briefing.action)" in c.source)
    nb.cells[i + 1:i + 1] = [
        v.new_code_cell('say(briefing, vi="Ghi chú riêng của nhóm nghiên cứu: tổng điểm {total}.", '
                        'en="Our own note: the total is {total}.", total=briefing.card.total)'),
        v.new_code_cell('#| label: fig-own\n#| fig-cap: "Biểu đồ riêng của nhóm nghiên cứu"\n'
                        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 2))\n"
                        "ax.plot([2019, 2020, 2021], [1.5, 2.5, 2.0])\nplt.show()"),
        v.new_code_cell('#| tbl-cap: "Bảng riêng của nhóm nghiên cứu"\nimport pandas as pd\n'
                        'pd.DataFrame({"Chỉ số": ["Một", "Hai"], "Giá trị": [1.25, 3.5]})'),
    ]
    copy = tmp_path / "own_briefing.ipynb"
    nbformat.write(nb, copy)
    r = papi("run", "Sơn La", "--year", "2021", "--lang", "vi", "--format", "html,pdf,docx", "--notebook", str(copy),
             "--jobs", "1", "--out", str(tmp_path / "reports"))
    assert r.returncode == 0, r.stdout + r.stderr
    stem = str(tmp_path / "reports/2021/son-la/son-la-2021.vi")
    html = Path(stem + ".html").read_text(encoding="utf-8")
    pdf = " ".join(pages(Path(stem + ".pdf")))
    d = docx.Document(stem + ".docx")
    word = "\n".join(p.text for p in d.paragraphs)
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    note = "Ghi chú riêng của nhóm nghiên cứu: tổng điểm 40,14."
    assert note in html and note in pdf and note in word
    assert "Biểu đồ riêng của nhóm nghiên cứu" in html and "Biểu đồ riêng của nhóm nghiên cứu" in pdf
    assert "Biểu đồ riêng của nhóm nghiên cứu" in word
    # the DataFrame: a briefing table with its numbered caption and Vietnamese decimals in every format
    for text in (html, pdf, word):
        assert "Bảng riêng của nhóm nghiên cứu" in text
    assert "1,25" in html and "1.25" not in re.sub(r"<[^>]+>", " ", html).split("Bảng riêng")[1][:400]
    assert "1,25" in pdf and "1,25" in cells and "3,50" in cells  # pandas shows 3.50
