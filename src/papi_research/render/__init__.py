"""Render an executed briefing notebook to self-contained HTML and A4 PDF (Quarto or the builtin renderer).

``render(executed_ipynb, formats=("html", "pdf"), renderer="auto")`` writes ``<stem>.html`` and
``<stem>.pdf`` beside the executed notebook (``son-la-2024.vi.ipynb`` → ``son-la-2024.vi.html``) and
returns ``{"html": path, "pdf": path}``. Language, province, year and the title block come from the
briefing record the notebook displayed (no data folder is read). ``renderer="auto"`` uses Quarto when
``quarto`` is on PATH, else the builtin renderer (nbconvert HTML, Pandoc → Typst PDF, all from PyPI). What a briefing shows is decided once, in
:mod:`papi_research.render.prepare`, so both renderers print the same content.

Renderers are entry points of the group ``papi_research.renderers`` (:mod:`papi_research.registry`;
another package adds one by declaring its own): a class with ``name``, ``formats``,
``available() -> (bool, reason)`` and ``render(briefing, formats, outputs) -> dict``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from papi_research.errors import ParameterError
from papi_research.registry import load
from papi_research.render.prepare import PreparedBriefing, RenderError, prepare

FORMATS = ("html", "pdf", "docx")
"""Every format a briefing can be rendered to: HTML, A4 PDF and a Word copy (its tables editable)."""
DEFAULT_FORMATS = ("html", "pdf")
_INSTANCES: dict[str, object] = {}


def check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"html,pdf"`` or ``("html", "pdf")`` → a validated tuple in canonical order."""
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    items = [f for f in items if f]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise ParameterError("formats", f"must be one or more of {', '.join(FORMATS)}; got {formats!r}")
    return tuple(f for f in FORMATS if f in items)


def resolve_renderer(renderer: str = "auto") -> str:
    """``auto`` → ``quarto`` when it is available (on PATH), else ``builtin``; other names are checked."""
    if renderer == "auto":
        return "quarto" if load("renderer", "quarto").available()[0] else "builtin"
    ok, why = load("renderer", renderer).available()
    if not ok:
        raise ParameterError("renderer", f"{renderer!r} is not available: {why}")
    return renderer


def renderer_info(name: str) -> dict[str, str]:
    """``{"name", "version"}`` of a renderer, for the manifest (Quarto's own version where Quarto renders)."""
    version = getattr(get_renderer(name), "version", None)
    return {"name": name, "version": version() if callable(version) else "unknown"}


def get_renderer(name: str):
    if name not in _INSTANCES:
        _INSTANCES[name] = load("renderer", name)()
    return _INSTANCES[name]


def output_paths(executed_ipynb: Path, formats: Iterable[str]) -> dict[str, Path]:
    """Where the outputs go: beside the notebook, same stem."""
    return {f: executed_ipynb.with_suffix("." + f) for f in formats}


def render(executed_ipynb: Path | str, formats: str | Iterable[str] = DEFAULT_FORMATS,
           renderer: str = "auto", links: Iterable[str] | None = None) -> dict[str, Path]:
    """Render an executed briefing notebook beside itself.

    Parameters
    ----------
    executed_ipynb : a notebook executed by ``papi run`` or papermill (it holds the briefing record;
        no data folder is read).
    formats : "html", "pdf", "docx" or several ("html,pdf,docx" or a sequence).
    renderer : "auto" (Quarto when it is on PATH, else builtin), "builtin" or "quarto".
    links : the formats published beside it that the HTML links to (default: ``formats``; a run that renders
        the PDF in another process passes every format of the run).

    Returns
    -------
    dict : ``{format: path}`` of the files written (same stem as the notebook).
    """
    (result,) = render_many([executed_ipynb], formats, renderer, links)
    if isinstance(result, RenderError):
        raise result
    return result


def render_many(executed: Iterable[Path | str], formats: str | Iterable[str] = DEFAULT_FORMATS,
                renderer: str = "auto", links: Iterable[str] | None = None) -> list[dict[str, Path] | RenderError]:
    """Render several executed notebooks, each beside itself, as :func:`render` does one.

    A renderer that renders many briefings in one process (Quarto, with ``render_many``) gets them all
    at once: Quarto starts once, not once per notebook. A notebook that cannot be rendered does not stop
    the others.

    Returns
    -------
    list : per notebook, in order, ``{format: path}`` of the files written, or the :class:`RenderError`
        that stopped it.
    """
    import tempfile

    from papi_research.data.files import atomic_write_bytes
    paths = [Path(p) for p in executed]
    fmts = check_formats(formats)
    r = get_renderer(resolve_renderer(renderer))
    bad = [str(p) for p in paths if p.suffix != ".ipynb"]
    if bad:
        raise ParameterError("executed_ipynb", f"must be executed notebooks (.ipynb); got {', '.join(bad)}")
    out: list = [None] * len(paths)
    ready = []
    linked = tuple(f for f in FORMATS if f in (fmts if links is None else check_formats(links)))
    for i, path in enumerate(paths):
        try:
            b = prepare(path)
            b.links = linked
            ready.append((i, b))
        except RenderError as exc:
            out[i] = exc
    if hasattr(r, "render_many") and ready:
        with tempfile.TemporaryDirectory(prefix="papi-render-") as work:
            for (i, _), got in zip(ready, r.render_many([b for _, b in ready], fmts, Path(work) / "project")):
                out[i] = got if isinstance(got, RenderError) else {
                    f: atomic_write_bytes(p, got[f].read_bytes()) for f, p in output_paths(paths[i], fmts).items()}
        return out
    for i, b in ready:
        try:
            out[i] = r.render(b, fmts, output_paths(paths[i], fmts))
        except RenderError as exc:
            out[i] = exc
    return out


__all__ = ["render", "render_many", "prepare", "PreparedBriefing", "RenderError", "resolve_renderer", "get_renderer",
           "renderer_info",
           "check_formats", "output_paths", "FORMATS", "DEFAULT_FORMATS"]

