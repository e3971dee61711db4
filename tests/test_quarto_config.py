"""Quarto without Quarto: every key and value we generate for Quarto 1.11 is one its schema accepts.

CI cannot install Quarto, so the files and front matter we hand it are checked against our own compact
list of the options Quarto accepts (``tests/data/quarto_options.yml``, read from Quarto's schema): key
names, value types and allowed values; no web-font theme; no notebook output that makes Quarto add CDN
scripts; the Vietnamese language file holds only keys Quarto reads. The real renders run in
``test_render.py`` where ``quarto`` is on PATH.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ROOT

from papi_research.render import prepare
from papi_research.render.quarto import QUARTO_FILES, QUARTO_TEMPLATES, QUARTO_VERSION, front_matter, quarto_document

OPTIONS = yaml.safe_load((Path(__file__).parent / "data" / "quarto_options.yml").read_text(encoding="utf-8"))
PROJECT_CONFIG = ROOT / "_quarto.yml"
RENDERER_CONFIG = QUARTO_TEMPLATES / "_quarto.yml"
NOTEBOOK = ROOT / "notebooks" / "province_briefing.ipynb"


def problems(value, schema, where: str) -> list[str]:
    """Why ``value`` does not fit ``schema`` (the notation of quarto_options.yml); [] when it fits."""
    if isinstance(schema, str) and schema in OPTIONS:  # a named group (format-html, format-typst)
        schema = {"object": OPTIONS[schema]}
    if value is None:
        return [f"{where}: null is not accepted"]
    if schema in ("string", "path"):
        return [] if isinstance(value, str) else [f"{where}: must be a string, got {value!r}"]
    if schema == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: must be true or false, got {value!r}"]
    if schema == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: must be a number, got {value!r}"]
    (kind, arg), = schema.items()
    if kind == "enum":
        return [] if value in arg else [f"{where}: must be one of {arg}, got {value!r}"]
    if kind == "anyOf":
        if any(not problems(value, s, where) for s in arg):
            return []
        return [f"{where}: {value!r} fits none of {arg}"]
    if kind == "arrayOf":
        if not isinstance(value, list):
            return [f"{where}: must be a list, got {value!r}"]
        return [p for i, v in enumerate(value) for p in problems(v, arg, f"{where}[{i}]")]
    if kind == "maybeArrayOf":
        return problems(value, {"anyOf": [arg, {"arrayOf": arg}]}, where)
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: must be a mapping, got {value!r}"]
        if not arg:  # any mapping
            return []
        out = [f"{where}.{k}: not an option Quarto {OPTIONS['quarto']} knows here" for k in value if k not in arg]
        return out + [p for k, v in value.items() if k in arg for p in problems(v, arg[k], f"{where}.{k}")]
    raise AssertionError(f"unknown schema notation {schema!r}")


def check_top(doc: dict, where: str) -> list[str]:
    return problems(doc, {"object": OPTIONS["top"]}, where)


def _front(source: str) -> dict:
    return yaml.safe_load(re.match(r"^---\n(.*?)\n---", source, flags=re.S).group(1))


def test_the_checker_can_fail():
    """The checker rejects what Quarto rejects (the null that broke every render, a typo, a bad enum)."""
    assert problems({"typst": {"section-numbering": None}}, {"object": {"typst": "format-typst"}}, "format")
    assert check_top({"format": {"html": {"embed-resource": True}}}, "x")
    assert check_top({"fig-cap-location": "left"}, "x")
    assert check_top({"format": {"typst": {"margin": {"x": 20}}}}, "x")  # a length is a string
    assert not check_top({"format": {"typst": {"margin": {"x": "20mm"}}}}, "x")


@pytest.mark.parametrize("path", [PROJECT_CONFIG, RENDERER_CONFIG], ids=["project", "renderer"])
def test_quarto_yml_uses_only_accepted_keys_and_values(path):
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert check_top(config, path.name) == []
    html, typst = config["format"]["html"], config["format"]["typst"]
    assert html["embed-resources"] is True and html["format-links"] is False
    assert html["theme"] not in OPTIONS["web-font-themes"]  # no request to a web-font service
    assert html["html-math-method"] == "plain"  # no MathJax from a CDN
    assert typst["papersize"] == "a4"
    # every file it names exists where the config is used: the project folder, or the renderer's
    # working folder (which gets QUARTO_FILES)
    for rel in [html["css"], *[f["path"] for f in typst["filters"]], *[i for i in typst["include-in-header"] if isinstance(i, str)]]:
        if path == PROJECT_CONFIG:
            assert (ROOT / rel).is_file(), rel
        else:
            assert rel in {f.name for f in QUARTO_FILES} and not Path(rel).parent.parts, rel


def test_project_and_renderer_configs_say_the_same():
    """The researchers' _quarto.yml and the renderer's copy differ only in where their files are."""
    def normalised(path: Path) -> dict:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        html, typst = config["format"]["html"], config["format"]["typst"]
        html["css"] = Path(html["css"]).name
        typst["include-in-header"] = [Path(i).name if isinstance(i, str) else i for i in typst["include-in-header"]]
        typst["filters"] = [dict(f, path=Path(f["path"]).name) for f in typst["filters"]]
        config["format"]["docx"]["reference-doc"] = Path(config["format"]["docx"]["reference-doc"]).name
        return config
    assert normalised(PROJECT_CONFIG) == normalised(RENDERER_CONFIG)


def test_generated_front_matter_and_record_block_are_accepted(executed_nb, tmp_path):
    b = prepare(executed_nb)
    assert check_top(front_matter(b), "front matter") == []
    doc = quarto_document(b, tmp_path)
    blocks = [yaml.safe_load(m) for m in re.findall(r"^---\n(.*?)\n---$", doc, flags=re.S | re.M)]
    assert len(blocks) == 2  # the front matter and the record's block
    for i, block in enumerate(blocks):
        assert check_top(block, f"YAML block {i}") == []
    assert "language" not in blocks[1]  # Quarto reads language files from the front matter only


def test_english_front_matter_has_no_language_file(tmp_path):
    from conftest import synthetic_notebook
    b = prepare(synthetic_notebook(tmp_path / "son-la-2024.en.ipynb", lang="en"))
    fm = front_matter(b)
    assert fm["lang"] == "en" and "language" not in fm and check_top(fm, "front matter") == []


def test_vietnamese_language_file_holds_only_quarto_keys():
    words = yaml.safe_load((QUARTO_TEMPLATES / "_language-vi.yml").read_text(encoding="utf-8"))
    unknown = sorted(set(words) - set(OPTIONS["language-keys"]))
    assert unknown == []
    assert all(isinstance(v, str) for v in words.values())
    assert words["crossref-fig-title"] == "Hình" and words["crossref-tbl-title"] == "Bảng"


def test_notebook_front_matter_and_cell_options_are_accepted():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    front = _front(nb.cells[0].source)
    assert check_top(front, "notebook front matter") == []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = [line[2:].strip() for line in cell.source.splitlines() if line.startswith("#|")]
        opts = yaml.safe_load("\n".join(lines)) or {}
        assert problems(opts, {"object": OPTIONS["cell"]}, f"cell {i}") == []


def test_quarto_document_requests_nothing_from_the_network(executed_nb, tmp_path):
    """The Quarto-ready briefing is Markdown (no notebook outputs, so none of the CDN-script triggers),
    with no script and no network address; figures are local files."""
    doc = quarto_document(prepare(executed_nb), tmp_path)
    assert "<script" not in doc and not re.search(r"(https?:)?//[a-z]", doc)
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", doc):
        assert (tmp_path / target).is_file(), target


def test_targets_the_quarto_version_the_options_were_read_from():
    assert QUARTO_VERSION == OPTIONS["quarto"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Quarto {QUARTO_VERSION}" in readme
