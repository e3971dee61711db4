"""The Quarto renderer: ``quarto render`` of the executed notebook (no re-execution), HTML and Typst PDF.

Each render gets its own working directory (parallel Quarto renders in one directory collide). Into it
go ``_quarto.yml`` and ``_language-vi.yml`` from the project, the briefing CSS, and a Quarto-ready
copy of the executed notebook:

* a front-matter raw cell: title, subtitle (score line), ``lang``, ``language: _language-vi.yml`` for
  Vietnamese (Quarto ships no Vietnamese strings), and for Typst a footer with the PAPI citation and
  page numbers plus Matplotlib's DejaVu fonts as ``font-paths``;
* cells as :func:`briefing.prepare` keeps them, but with the original images, and the ``#|`` options
  rewritten with ``i18n:<key>`` values resolved — so Quarto does the captions, alt text and numbering;
* no stream outputs, errors or lone ``text/plain`` outputs.

Then ``quarto render briefing.ipynb --to html|typst --no-execute`` runs there and the results are
moved (atomically) beside the executed notebook.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import yaml

from ..paths import project_dir
from .briefing import (DROP_OUTPUT_TAGS, DROP_TAGS, Briefing, RenderError, _choose, _truthy, resolve_option,
                       split_cell_options)
from .builtin import TEMPLATES, font_dirs, typst_str

QUARTO_FILES = ("_quarto.yml", "_language-vi.yml")
TIMEOUT_S = 300


def quarto_path() -> str | None:
    """The ``quarto`` executable on PATH (or ``$QUARTO_PATH``), or None."""
    env = os.environ.get("QUARTO_PATH")
    if env and Path(env).is_file():
        return env
    return shutil.which("quarto")


def front_matter(b: Briefing) -> dict:
    tb = b.title
    page = b.word("rd_page", page="#counter(page).display()", total="#counter(page).final().first()")
    footer = ("#set page(footer: context [#set text(size: 7pt, fill: rgb(\"#5b6573\")); "
              f"#grid(columns: (1fr, auto), align(left, {typst_str(tb.citation)}), align(right)[{page}])])")
    fm: dict = {
        "title": tb.title,
        "subtitle": f"{tb.score_line} — {tb.change_line}",
        "description": tb.kicker,
        "lang": b.lang,
        "format": {"html": {"include-after-body": {"text": (
            f'<footer class="briefing-footer"><p class="citation">{_esc(tb.citation)}</p>'
            f"<p>{_esc(tb.boundaries)} {_esc(tb.merged)}</p><p>{_esc(tb.contents_note)} "
            f"{_esc(tb.produced_by)}</p></footer>")}},
            "typst": {"font-paths": list(font_dirs()), "include-in-header": {"text": footer}}},
    }
    if b.lang == "vi":
        fm["language"] = "_language-vi.yml"
    return fm


def _esc(text: str) -> str:
    import html
    return html.escape(text)


def _yaml_scalar(value: object) -> str:
    """A cell-option value as one YAML line: plain for simple words, JSON-quoted otherwise."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", value) and value.lower() not in (
            "true", "false", "yes", "no", "null", "on", "off"):
        return value
    return json.dumps(value, ensure_ascii=False)


def quarto_notebook(b: Briefing) -> nbformat.NotebookNode:
    """A copy of the executed notebook that Quarto can render as the briefing."""
    nb = nbformat.read(b.path, as_version=4)
    fields = {"province": b.province_name, "year": b.year}
    cells = [nbformat.v4.new_raw_cell("---\n" + yaml.safe_dump(front_matter(b), allow_unicode=True,
                                                               sort_keys=False) + "---")]
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if tags & DROP_TAGS:
            continue
        if cell.cell_type == "markdown":
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            continue
        opts, code = split_cell_options(cell.source)
        opts = {k: resolve_option(v, b.lang, fields) for k, v in opts.items()}
        opts.setdefault("echo", False)
        if not _truthy(opts.get("include"), True):
            continue
        keep = _truthy(opts.get("output"), True) and not tags & DROP_OUTPUT_TAGS
        outputs = []
        for out in cell.get("outputs", []) if keep else []:
            if out.output_type not in ("display_data", "execute_result"):
                continue
            data = _choose(out.get("data", {}))
            if data:
                out = copy.deepcopy(out)
                out["data"] = data
                outputs.append(out)
        option_lines = [f"#| {k}: {_yaml_scalar(v)}" for k, v in opts.items()]
        cell.source = "\n".join(option_lines + [code])
        cell.outputs = outputs
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("papermill", None)
    return nb


class QuartoRenderer:
    """``quarto render`` of the executed notebook, one working directory per render."""

    name = "quarto"
    formats = ("html", "pdf")

    @staticmethod
    def available() -> tuple[bool, str]:
        q = quarto_path()
        return (True, f"quarto at {q}") if q else (False, "quarto is not on PATH (conda install quarto, or "
                                                          "https://quarto.org/docs/get-started/)")

    def render(self, b: Briefing, formats: tuple[str, ...], outputs: dict[str, Path]) -> dict[str, Path]:
        from .builtin import write_atomic
        quarto = quarto_path()
        if quarto is None:
            raise RenderError("renderer 'quarto' asked for, but " + self.available()[1])
        root = project_dir()
        work = Path(tempfile.mkdtemp(prefix="papi-quarto-"))
        try:
            for name in QUARTO_FILES:
                src = root / name
                if not src.is_file():
                    raise RenderError(f"{name} not found in the project folder {root} (needed by the Quarto renderer)")
                shutil.copyfile(src, work / name)
            shutil.copyfile(TEMPLATES / "briefing.css", work / "briefing.css")
            nbformat.write(quarto_notebook(b), work / "briefing.ipynb")
            env = dict(os.environ)
            done: dict[str, Path] = {}
            for fmt in formats:
                to = {"html": "html", "pdf": "typst"}[fmt]
                cmd = [quarto, "render", "briefing.ipynb", "--to", to, "--no-execute", "--quiet"]
                proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
                result = work / f"briefing.{fmt}"
                if proc.returncode != 0 or not result.is_file():
                    raise RenderError(f"quarto render --to {to} failed for {b.path.name} "
                                      f"(exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
                done[fmt] = write_atomic(outputs[fmt], result.read_bytes())
            return done
        finally:
            shutil.rmtree(work, ignore_errors=True)
