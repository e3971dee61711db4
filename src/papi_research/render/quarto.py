"""The Quarto renderer: ``quarto render`` of executed briefings (Quarto 1.11), HTML and Typst PDF.

Each render gets a working folder of its own (parallel Quarto renders in one folder collide), made a
Quarto project: the renderer's ``_quarto.yml`` and ``_language-vi.yml`` (``templates/quarto``, package
data), the briefing CSS, Typst definitions and callout filter, and per briefing ``b0000.qmd``, the
Quarto-ready form of the executed notebook, with its figures as SVG/PNG files in ``b0000_img/``:

* front matter: ``pagetitle``, ``lang``, ``language: _language-vi.yml`` for Vietnamese (Quarto ships no
  Vietnamese strings) and Matplotlib's DejaVu folder as Typst ``font-paths``;
* the record's Markdown (:func:`papi_research.briefing.display.record_bundle`): a YAML block with the page
  title, language and caption words ("Hình", "Bảng", "."), and the masthead as raw HTML and Typst;
* every visible block of :func:`briefing.prepare` as Markdown (:func:`display.quarto_markdown`):
  sentences, pipe tables with ``{#tbl-N}`` ids, tiles and callouts, figures as
  ``![caption](b0000_img/fig-x.png){#fig-x fig-alt="..."}`` so Quarto numbers them;
* the closing block (:func:`display.footer_bundle`).

Nothing in it is a ``text/html`` notebook output, so Quarto adds no CDN scripts; the document is the
same Markdown Quarto reads when it executes ``notebooks/province_briefing.ipynb`` itself. One
``quarto render`` of the folder then writes every document's HTML and PDF (:func:`render_project`):
Quarto starts and compiles its Sass once for a whole batch, not once per briefing and format.
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
from papi_research.data.text import strip_ansi
from papi_research.render.builtin import TEMPLATES, font_dirs, links_html
from papi_research.render.prepare import PreparedBriefing, RenderError, markdown_body, write_images

QUARTO_TEMPLATES = TEMPLATES / "quarto"
QUARTO_FILES = (QUARTO_TEMPLATES / "_quarto.yml", QUARTO_TEMPLATES / "_language-vi.yml",
                QUARTO_TEMPLATES / "reference-a4.docx",
                TEMPLATES / "briefing.css", TEMPLATES / "briefing.typ", TEMPLATES / "callout.lua")
QUARTO_VERSION = "1.11"
"""The Quarto version the generated files are written and tested for."""
TIMEOUT_S = 300
"""Seconds a Quarto process is given per briefing it renders (then it is stopped)."""
QUARTO_FORMAT = {"html": "html", "pdf": "typst", "docx": "docx"}
"""Quarto's name of each briefing format. (Documents are named ``b0000``..., never ``briefing``: Quarto's
intermediate ``<stem>.typ`` would overwrite the ``briefing.typ`` definitions it includes.)"""


def quarto_path() -> str | None:
    """The ``quarto`` executable on PATH (or ``$QUARTO_PATH``), or None."""
    env = os.environ.get("QUARTO_PATH")
    if env and Path(env).is_file():
        return env
    return shutil.which("quarto")


def quarto_version() -> str:
    """What ``quarto --version`` prints (``1.11.3``), or ``"unknown"``."""
    q = quarto_path()
    if q is None:
        return "unknown"
    try:
        out = subprocess.run([q, "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0 or not out.stdout.strip():
        return "unknown"
    return out.stdout.strip()


def front_matter(b: PreparedBriefing) -> dict:
    """The document front matter of the Quarto-ready briefing (the rest is in ``_quarto.yml``)."""
    fm: dict = {"pagetitle": b.title.title, "lang": b.lang}
    if b.lang == "vi":
        fm["language"] = "_language-vi.yml"
    # both formats, or Quarto renders only the one the front matter names ("default": as _quarto.yml says)
    fm["format"] = {"html": "default", "typst": {"font-paths": list(font_dirs())}, "docx": "default"}
    return fm


def quarto_document(b: PreparedBriefing, work: Path, figures: str = "figures",
                    formats: tuple[str, ...] = ("html",)) -> str:
    """The Quarto-ready document of the briefing ``b``; its figure images are written under ``work/<figures>``;
    its HTML links its other language, the ``formats`` published beside it (or ``b.links``) and the index."""
    files = work / figures

    def output(blk, n: int) -> str | None:
        meta = {"papi": {"kind": "table"}} if blk.table_number else {}
        return quarto_markdown(blk.data, meta, files, link=figures,
                               table_id=f"tbl-{blk.table_number}" if blk.table_number else None)

    def figure(fig, n: int) -> str:
        names = write_images(fig, files, f"{fig.label or 'figure'}-{fig.number or 'x'}")
        out = [f"![]({figures}/{name})" for name in names]
        if fig.caption and fig.number:  # the first image carries the label, caption and alt text
            label = fig.label if fig.label and fig.label.startswith("fig-") else f"fig-{fig.number}"
            out[0] = figure_markdown(f"{figures}/{names[0]}", label, fig.caption, fig.alt or fig.caption)
        return "\n\n".join(out)

    front = "---\n" + yaml.safe_dump(front_matter(b), allow_unicode=True, sort_keys=False) + "---"
    from papi_research.briefing.display import raw_block
    links = raw_block("html", links_html(b, b.links or formats))
    return "\n\n".join([front, links, record_bundle(b.record).markdown.strip("\n"), markdown_body(b, output, figure),
                         footer_bundle(b.record["title"]).markdown]) + "\n"


def write_project(work: Path) -> None:
    """Copy the renderer's ``_quarto.yml``, Vietnamese strings, CSS, Typst definitions and filter into ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    for src in QUARTO_FILES:
        shutil.copyfile(src, work / src.name)


def quarto_command(quarto: str, formats: tuple[str, ...]) -> list[str]:
    """``quarto render`` of the project folder for ``formats``: with all of them, every format ``_quarto.yml``
    lists (one process renders each document to HTML, Typst and Word); else ``--to`` the ones asked for."""
    cmd = [quarto, "render"]  # not --quiet: it silences the error messages too
    if set(formats) != set(QUARTO_FORMAT):
        cmd += ["--to", ",".join(QUARTO_FORMAT[f] for f in formats)]
    return cmd


def run_quarto(cmd: list[str], work: Path, on_start=None, documents: int = 1) -> subprocess.CompletedProcess:
    """Run Quarto in ``work`` in a session of its own (Ctrl-C is the caller's to pass on), return its result;
    it is stopped after :data:`TIMEOUT_S` seconds per document.

    ``on_start(popen)`` is told the process as soon as it runs, so a batch that is stopping can kill it
    (:func:`kill_quarto`) with the Pandoc, Deno and Typst processes it started."""
    proc = subprocess.Popen(cmd, cwd=work, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    if on_start is not None:
        on_start(proc)
    timeout = TIMEOUT_S * max(1, documents)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_quarto(proc)
        out, err = proc.communicate()
        err = f"quarto render took more than {timeout} s and was stopped\n{err}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_quarto(proc: subprocess.Popen) -> None:
    """Kill a Quarto process started by :func:`run_quarto` and everything it started."""
    import signal
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def render_project(briefings: list[PreparedBriefing], formats: tuple[str, ...], work: Path,
                   on_start=None) -> list[dict[str, Path] | RenderError]:
    """Render many briefings with one ``quarto render`` of a project folder; per briefing, its files or its error.

    ``work`` (empty or new) becomes a Quarto project holding ``b0000.qmd``, ``b0001.qmd``, ... (each
    with its figures in ``b0000_img/``), so Quarto starts, reads its resources and compiles the
    Bootstrap Sass once for all of them instead of once per briefing; each document's HTML and PDF
    are the ones a render of that document alone writes. Quarto stops at the first document that
    fails, so the documents left without every format are rendered again one by one: a failing
    briefing gets its own error and the others their files.
    """
    quarto = quarto_path()
    if quarto is None:
        raise RenderError("renderer 'quarto' asked for, but " + QuartoRenderer.available()[1])
    write_project(work)
    names = []
    for i, b in enumerate(briefings):
        name = f"b{i:04d}"
        (work / f"{name}.qmd").write_text(quarto_document(b, work, f"{name}_img", formats), encoding="utf-8")
        names.append(name)

    def outputs(folder: Path, name: str) -> dict[str, Path] | None:
        files = {fmt: folder / f"{name}.{fmt}" for fmt in formats}
        return files if all(p.is_file() for p in files.values()) else None

    proc = run_quarto(quarto_command(quarto, formats), work, on_start, documents=len(briefings))
    results: list[dict[str, Path] | RenderError] = []
    for name, b in zip(names, briefings):
        files = outputs(work, name)
        failed = proc
        if files is None and len(briefings) > 1:  # again, alone in a project of its own
            alone = work / f"{name}-alone"
            write_project(alone)
            (work / f"{name}.qmd").rename(alone / f"{name}.qmd")
            if (work / f"{name}_img").is_dir():
                (work / f"{name}_img").rename(alone / f"{name}_img")
            failed = run_quarto(quarto_command(quarto, formats), alone, on_start)
            files = outputs(alone, name)
        if files is not None:
            results.append(files)
            continue
        results.append(RenderError(f"quarto render ({', '.join(QUARTO_FORMAT[f] for f in formats)}) failed for "
                                   f"{b.path.name} (exit {failed.returncode}): {strip_ansi(failed.stderr).strip()[-2000:]}"))
    return results


class QuartoRenderer:
    """``quarto render`` of the Quarto-ready briefing: one briefing (:meth:`render`) or many in one
    Quarto process (:meth:`render_many`, what ``papi run`` uses through
    :mod:`papi_research.pipeline.batch_render`; :meth:`kill` stops one of its processes)."""

    name = "quarto"
    formats = ("html", "pdf", "docx")

    @staticmethod
    def available() -> tuple[bool, str]:
        q = quarto_path()
        return (True, f"quarto at {q}") if q else (False, "quarto is not on PATH (conda install -c conda-forge "
                                                          "quarto, pip install -e \".[quarto]\", or quarto.org)")

    @staticmethod
    def version() -> str:
        """``quarto --version`` (for the manifest); ``"unknown"`` when Quarto does not say."""
        return quarto_version()

    def render(self, b: PreparedBriefing, formats: tuple[str, ...], outputs: dict[str, Path]) -> dict[str, Path]:
        work = Path(tempfile.mkdtemp(prefix="papi-quarto-"))
        try:
            (result,) = render_project([b], formats, work)
            if isinstance(result, RenderError):
                raise result
            return {fmt: atomic_write_bytes(outputs[fmt], result[fmt].read_bytes()) for fmt in formats}
        finally:
            shutil.rmtree(work, ignore_errors=True)

    render_many = staticmethod(render_project)
    kill = staticmethod(kill_quarto)
