"""The Quarto renderer: ``quarto render`` of the executed briefing (Quarto 1.11), HTML and Typst PDF.

Each render gets its own working directory (parallel Quarto renders in one directory collide). Into it
go the renderer's ``_quarto.yml`` and ``_language-vi.yml`` (``templates/quarto``, package data), the
briefing CSS and Typst definitions, the figures as SVG/PNG files, and ``papi-briefing.qmd``, the Quarto-ready
form of the executed notebook:

* front matter: ``pagetitle``, ``lang``, ``language: _language-vi.yml`` for Vietnamese (Quarto ships no
  Vietnamese strings) and Matplotlib's DejaVu folder as Typst ``font-paths``;
* the record's Markdown (:func:`papi_research.briefing.display.record_bundle`): a YAML block with the page
  title, language and caption words ("Hình", "Bảng", "."), and the masthead as raw HTML and Typst;
* every visible block of :func:`briefing.prepare` as Markdown (:func:`display.quarto_markdown`):
  sentences, pipe tables with ``{#tbl-N}`` ids, tiles and callouts, figures as
  ``![caption](figures/fig-x.png){#fig-x fig-alt="..."}`` so Quarto numbers them;
* the closing block (:func:`display.footer_bundle`).

Nothing in it is a ``text/html`` notebook output, so Quarto adds no CDN scripts; the document is the
same Markdown Quarto reads when it executes ``notebooks/province_briefing.ipynb`` itself. Then
``quarto render papi-briefing.qmd --to html|typst`` runs there and the results are moved (atomically)
beside the executed notebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from papi_research.briefing.display import figure_markdown, footer_bundle, quarto_markdown, record_bundle
from papi_research.data.files import atomic_write_bytes
from papi_research.render.builtin import TEMPLATES, font_dirs
from papi_research.render.prepare import PreparedBriefing, RenderError, markdown_body, write_images

QUARTO_TEMPLATES = TEMPLATES / "quarto"
QUARTO_FILES = (QUARTO_TEMPLATES / "_quarto.yml", QUARTO_TEMPLATES / "_language-vi.yml",
                TEMPLATES / "briefing.css", TEMPLATES / "briefing.typ", TEMPLATES / "callout.lua")
QUARTO_VERSION = "1.11"
"""The Quarto version the generated files are written and tested for."""
TIMEOUT_S = 300
DOCUMENT = "papi-briefing"
"""Stem of the Quarto-ready document (not ``briefing``: Quarto's intermediate ``<stem>.typ`` would
overwrite the ``briefing.typ`` definitions it includes)."""


def quarto_path() -> str | None:
    """The ``quarto`` executable on PATH (or ``$QUARTO_PATH``), or None."""
    env = os.environ.get("QUARTO_PATH")
    if env and Path(env).is_file():
        return env
    return shutil.which("quarto")


def front_matter(b: PreparedBriefing) -> dict:
    """The document front matter of the Quarto-ready briefing (the rest is in ``_quarto.yml``)."""
    fm: dict = {"pagetitle": b.title.title, "lang": b.lang}
    if b.lang == "vi":
        fm["language"] = "_language-vi.yml"
    fm["format"] = {"typst": {"font-paths": list(font_dirs())}}
    return fm


def quarto_document(b: PreparedBriefing, work: Path) -> str:
    """``papi-briefing.qmd`` for the briefing ``b``; figure images are written under ``work/figures``."""
    files = work / "figures"

    def output(blk, n: int) -> str | None:
        meta = {"papi": {"kind": "table"}} if blk.table_number else {}
        return quarto_markdown(blk.data, meta, files, link="figures",
                               table_id=f"tbl-{blk.table_number}" if blk.table_number else None)

    def figure(fig, n: int) -> str:
        names = write_images(fig, files, f"{fig.label or 'figure'}-{fig.number or 'x'}")
        out = [f"![](figures/{name})" for name in names]
        if fig.caption and fig.number:  # the first image carries the label, caption and alt text
            label = fig.label if fig.label and fig.label.startswith("fig-") else f"fig-{fig.number}"
            out[0] = figure_markdown(f"figures/{names[0]}", label, fig.caption, fig.alt or fig.caption)
        return "\n\n".join(out)

    front = "---\n" + yaml.safe_dump(front_matter(b), allow_unicode=True, sort_keys=False) + "---"
    return "\n\n".join([front, record_bundle(b.record).markdown.strip("\n"), markdown_body(b, output, figure),
                         footer_bundle(b.record["title"]).markdown]) + "\n"


class QuartoRenderer:
    """``quarto render`` of the Quarto-ready briefing, one working directory per render."""

    name = "quarto"
    formats = ("html", "pdf")

    @staticmethod
    def available() -> tuple[bool, str]:
        q = quarto_path()
        return (True, f"quarto at {q}") if q else (False, "quarto is not on PATH (conda install -c conda-forge "
                                                          "quarto, pip install -e \".[quarto]\", or quarto.org)")

    def render(self, b: PreparedBriefing, formats: tuple[str, ...], outputs: dict[str, Path]) -> dict[str, Path]:
        quarto = quarto_path()
        if quarto is None:
            raise RenderError("renderer 'quarto' asked for, but " + self.available()[1])
        work = Path(tempfile.mkdtemp(prefix="papi-quarto-"))
        try:
            for src in QUARTO_FILES:
                shutil.copyfile(src, work / src.name)
            (work / f"{DOCUMENT}.qmd").write_text(quarto_document(b, work), encoding="utf-8")
            done: dict[str, Path] = {}
            for fmt in formats:
                to = {"html": "html", "pdf": "typst"}[fmt]
                cmd = [quarto, "render", f"{DOCUMENT}.qmd", "--to", to, "--quiet"]
                proc = subprocess.run(cmd, cwd=work, env=dict(os.environ), capture_output=True, text=True,
                                      timeout=TIMEOUT_S)
                result = work / f"{DOCUMENT}.{fmt}"
                if proc.returncode != 0 or not result.is_file():
                    raise RenderError(f"quarto render --to {to} failed for {b.path.name} "
                                      f"(exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
                done[fmt] = atomic_write_bytes(outputs[fmt], result.read_bytes())
            return done
        finally:
            shutil.rmtree(work, ignore_errors=True)
