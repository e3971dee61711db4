"""Rendering a run's briefings in batches, on the client, for a renderer that starts slowly (Quarto).

A Quarto process spends seconds starting and compiling its Sass before it renders anything, so one
``quarto render`` per briefing and format makes Quarto most of a batch's time. When the run's renderer
can render many briefings in one process (it has ``render_many``: :class:`~papi_research.render.quarto.
QuartoRenderer`), the workers only execute the notebooks (their jobs ask for no format) and
:class:`BatchRender` renders the executed notebooks in chunks, one renderer process per chunk. While
the workers execute, one chunk renders at a time (the workers have the other cores); once every job
has executed, as many as there were workers. A rendered job's files join its executed notebook in
the job's result, which the runner then publishes as before: all of a job's files or none.

:func:`through` puts the stage between the executor and the runner's loop.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from papi_research.pipeline.jobs import JobResult, JobSpec, keep_failed

CHUNK_MAX = 16
"""At most this many briefings per renderer process: the start-up is shared by enough of them, and the
first briefings are published while the rest still execute."""


def chunk_size(total: int, slots: int) -> int:
    """Briefings per chunk: at least two chunks per renderer slot (so the slots finish together), at most
    :data:`CHUNK_MAX`."""
    return max(1, min(CHUNK_MAX, math.ceil(total / (2 * max(1, slots)))))


class BatchRender:
    """Renders executed jobs in chunks with ``renderer.render_many``, up to ``slots`` chunks at a time."""

    def __init__(self, renderer, formats: tuple[str, ...], total: int, slots: int):
        self.renderer, self.formats, self.slots = renderer, tuple(formats), max(1, slots)
        self.chunk = chunk_size(total, self.slots)
        self._queue: list[tuple[JobSpec, JobResult]] = []
        self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="papi-render")
        self._gate = threading.Semaphore(1)  # one chunk at a time while the workers execute
        self._pending: dict[Future, list[tuple[JobSpec, JobResult]]] = {}
        self._procs: set = set()
        self._lock = threading.Lock()
        self._stopping = False

    @staticmethod
    def execute_only(spec: JobSpec) -> JobSpec:
        """The job as the workers run it: execute, render nothing."""
        return replace(spec, formats=())

    def add(self, spec: JobSpec, result: JobResult) -> None:
        """Queue an executed job (its result holds the executed notebook); a full chunk starts rendering."""
        self._queue.append((spec, result))
        if len(self._queue) >= self.chunk:
            self._submit(self._queue)
            self._queue = []

    def executed(self) -> None:
        """Every job has executed: render what is queued, split over the slots, and open every slot."""
        rest, self._queue = self._queue, []
        n = min(self.slots, len(rest))
        for i in range(n):
            self._submit(rest[i::n])
        for _ in range(self.slots - 1):
            self._gate.release()

    def ready(self) -> list[JobResult]:
        """The results of the chunks that have finished (without waiting)."""
        return [r for f in [f for f in self._pending if f.done()] for r in self._collect(f)]

    def drain(self) -> Iterator[JobResult]:
        """The results of every chunk, as each one finishes."""
        while self._pending:
            done, _ = wait(list(self._pending), return_when=FIRST_COMPLETED)
            for f in done:
                yield from self._collect(f)

    def waiting(self) -> list[str]:
        """The jobs executed but not rendered yet."""
        return [spec.key for items in [*self._pending.values(), self._queue] for spec, _ in items]

    def stop(self) -> list[str]:
        """Stop at once (Ctrl-C, a full disk): kill the renderer processes; return the jobs left unrendered."""
        left = self.waiting()
        self._stopping = True
        for f in self._pending:
            f.cancel()
        with self._lock:
            running = [p for p in self._procs if p.poll() is None]
        for proc in running:
            self.renderer.kill(proc)
        for _ in range(self.slots):
            self._gate.release()  # a chunk waiting for its turn starts, sees the stop and returns
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        self._queue = []
        return left

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _submit(self, items: list[tuple[JobSpec, JobResult]]) -> None:
        if items:
            self._pending[self._pool.submit(self._render_chunk, items)] = items

    def _collect(self, fut: Future) -> list[JobResult]:
        items = self._pending.pop(fut)
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - a chunk that broke fails its jobs, not the run
            from papi_research.data.text import strip_ansi
            for spec, res in items:
                self._fail(spec, res, f"render: {type(exc).__name__}: {strip_ansi(str(exc))}")
            return [res for _, res in items]

    def _started(self, proc) -> None:
        with self._lock:
            self._procs = {p for p in self._procs if p.poll() is None} | {proc}
        if self._stopping:
            self.renderer.kill(proc)

    def _render_chunk(self, items: list[tuple[JobSpec, JobResult]]) -> list[JobResult]:
        from papi_research.render.prepare import RenderError, prepare
        with self._gate:
            if self._stopping:
                return []
            t0 = time.perf_counter()
            work = Path(tempfile.mkdtemp(prefix="papi-render-"))
            try:
                prepared, rendered = [], []
                for i, (spec, res) in enumerate(items):
                    executed = work / "executed" / str(i) / f"{spec.stem}.ipynb"
                    executed.parent.mkdir(parents=True)
                    executed.write_bytes(res.files["ipynb"])
                    try:
                        prepared.append(prepare(executed))
                        rendered.append((spec, res, executed))
                    except RenderError as exc:
                        self._fail(spec, res, f"render: {exc}", executed)
                outcomes = self.renderer.render_many(prepared, self.formats, work / "project",
                                                     on_start=self._started) if prepared else []
                for (spec, res, executed), out in zip(rendered, outcomes):
                    if isinstance(out, Exception):
                        self._fail(spec, res, f"render: {out}", executed)
                    else:
                        res.files.update({fmt: out[fmt].read_bytes() for fmt in self.formats})
                share = (time.perf_counter() - t0) / len(items)
                for _, res in items:
                    res.render_s = round(share, 3)
                    res.duration_s = round(res.duration_s + share, 3)
                return [res for _, res in items]
            finally:
                shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _fail(spec: JobSpec, res: JobResult, error: str, executed: Path | None = None) -> None:
        res.status, res.error = "failed", error
        if executed is not None:
            keep_failed(executed, spec, f"{spec.rel_dir}/{spec.stem}.ipynb", res)
        else:
            res.files = {"failed.ipynb": res.files["ipynb"]} if "ipynb" in res.files else {}


def for_plan(plan, total: int) -> BatchRender | None:
    """The batch stage of a run whose renderer renders many briefings at once, else None (the workers
    render, as the builtin renderer does)."""
    from papi_research.render import get_renderer, resolve_renderer
    formats = tuple(f for f in plan.options.formats if f != "ipynb")
    if not formats or not total:
        return None
    renderer = get_renderer(resolve_renderer(plan.options.renderer))
    if not hasattr(renderer, "render_many"):
        return None
    return BatchRender(renderer, formats, total, plan.n_workers)


def through(results: Iterable[JobResult], stage: BatchRender | None, specs: dict[str, JobSpec]) -> Iterator[JobResult]:
    """The executor's results, each executed job rendered by ``stage`` first (unchanged without a stage)."""
    if stage is None:
        yield from results
        return
    for res in results:
        if res.status == "ok":
            stage.add(specs[res.key], res)
        else:
            yield res
        yield from stage.ready()
    stage.executed()
    yield from stage.drain()
    stage.close()
