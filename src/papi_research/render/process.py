"""Rendering inside a batch worker: PDFs in a recycled child process, HTML in the worker.

The Typst compiler keeps every compilation in an in-process cache that it never frees (about 15-20
MB per briefing with figures), so a long batch would grow without bound if it compiled PDFs in the
worker itself. :class:`RenderProcess` is a separate child that is replaced once its memory passes a
limit; :func:`render_files` renders the PDF there and, at the same time, the HTML in the worker.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable


def watch_parent(on_exit: Callable[[], None]) -> None:
    """Call ``on_exit`` (in a thread) as soon as this process's parent process is gone."""
    import multiprocessing
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait
        wait([parent.sentinel])
        on_exit()

    threading.Thread(target=watch, name="papi-parent-watch", daemon=True).start()


def _render_in_child(executed: str, formats: tuple[str, ...], renderer: str,
                     links: tuple[str, ...] | None = None) -> tuple[dict[str, str], int]:
    """Render in the render process; also return that process's resident memory (bytes)."""
    import psutil

    from papi_research.render import render
    produced = render(Path(executed), formats=formats, renderer=renderer, links=links)
    return {fmt: str(p) for fmt, p in produced.items()}, psutil.Process().memory_info().rss


def _render_child_init() -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle, not the renderer's
    watch_parent(lambda: os._exit(128 + 15))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import papi_research.render  # noqa: F401 - imported once per render process
    from papi_research.render.builtin import warm_typst
    try:
        warm_typst()
    except Exception:  # noqa: BLE001 - a real render reports real errors
        pass


class RenderProcess:
    """Renders PDFs in a child process that is replaced once its memory passes ``max_rss_mb``."""

    def __init__(self, max_rss_mb: int = 300):
        self.max_rss = max_rss_mb * 2**20
        self._pool = None
        self.recycled = 0

    @staticmethod
    def _in_process() -> bool:
        import multiprocessing
        return multiprocessing.current_process().daemon  # e.g. a Dask worker: no children allowed

    def _ensure(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_render_child_init)
        return self._pool

    def start(self) -> None:
        """Start the process and import the renderer now (returns at once)."""
        if not self._in_process():
            self._ensure().submit(int, 0)

    def submit(self, executed: Path, formats: tuple[str, ...], renderer: str):
        """Start rendering; :meth:`collect` waits for the result."""
        if self._in_process():
            return _render_in_child(str(executed), tuple(formats), renderer)
        return self._ensure().submit(_render_in_child, str(executed), tuple(formats), renderer)

    def collect(self, handle) -> dict[str, Path]:
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool
        if not isinstance(handle, Future):
            produced, _ = handle
            return {fmt: Path(p) for fmt, p in produced.items()}
        try:
            produced, rss = handle.result()
        except BrokenProcessPool:
            self.close()
            raise
        if rss > self.max_rss:
            # Replace it off the critical path: the next process starts (and warms up) while the kernel
            # works on the next notebook; the old one, idle now, exits in the background.
            old, self._pool = self._pool, None
            self.recycled += 1
            self.start()
            old.shutdown(wait=False, cancel_futures=True)
        return {fmt: Path(p) for fmt, p in produced.items()}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def kill(self) -> None:
        """Kill the render process at once (a worker that is stopping)."""
        import signal
        pool = self._pool
        for proc in list(getattr(pool, "_processes", {}).values()) if pool is not None else []:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except (OSError, TypeError):
                pass


_RENDERER: RenderProcess | None = None


def render_process() -> RenderProcess:
    """This process's render child (created on first use, stopped at exit)."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = RenderProcess()
        call_at_exit(close_render_process)
    return _RENDERER


def render_files(executed: Path, formats: tuple[str, ...], renderer: str,
                 links: tuple[str, ...] | None = None) -> dict[str, Path]:
    """PDF in the render process and, at the same time, HTML here (see :class:`RenderProcess`); the HTML
    links to ``links`` (default: ``formats``)."""
    pending = render_process().submit(executed, ("pdf",), renderer) if "pdf" in formats else None
    produced: dict[str, Path] = {}
    try:
        rest = tuple(f for f in formats if f != "pdf")
        if rest:
            produced.update({fmt: Path(p) for fmt, p in
                             _render_in_child(str(executed), rest, renderer, links=tuple(links or formats))[0].items()})
    finally:
        if pending is not None:
            produced.update(render_process().collect(pending))
    return produced



def close_render_process() -> None:
    """Stop this process's render child (waiting for a running render)."""
    global _RENDERER
    if _RENDERER is not None:
        _RENDERER.close()
        _RENDERER = None


def kill_render_process() -> None:
    """Kill this process's render child at once (a worker that is stopping)."""
    global _RENDERER
    if _RENDERER is not None:
        _RENDERER.kill()
    _RENDERER = None


_AT_EXIT: set = set()


def call_at_exit(fn: Callable[[], None]) -> None:
    """Call ``fn`` when this process exits, once however often it is asked (worker processes of
    ``multiprocessing`` skip ``atexit``, so it is registered with their finaliser too)."""
    if fn in _AT_EXIT:
        return
    import atexit
    from multiprocessing import util
    atexit.register(fn)
    util.Finalize(None, fn, exitpriority=100)
    _AT_EXIT.add(fn)
