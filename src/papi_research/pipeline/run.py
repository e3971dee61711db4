"""Execute a planned batch run: jobs on an executor, files published as they finish, the manifest kept.

``execute_plan(plan)`` runs the jobs a :class:`~papi_research.pipeline.plan.Plan` marked *run* on an
executor (:mod:`~papi_research.pipeline.executors`), each in a warm kernel
(:mod:`~papi_research.pipeline.kernel`), publishes each job's files atomically as it finishes and
merges every outcome into ``<out>/manifest.json``; Ctrl-C or a full disk leaves nothing half-written.
``run(options)`` plans and executes.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from papi_research.data.manifest import RunRecord
from papi_research.pipeline import batch_render
from papi_research.pipeline.jobs import JobResult
from papi_research.pipeline.manifest import run_lock, update_manifest
from papi_research.pipeline.plan import FORMATS, Plan, RunOptions, _companion, plan_run


@dataclass
class RunSummary:
    """The outcome of a run: one manifest record per job, and the totals."""

    plan: Plan
    records: list[RunRecord]
    duration_s: float
    manifest: Path
    results: list[JobResult] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C (SIGINT)
    stopped: str | None = None  # why the run stopped early (the manifest could not be written)
    running: list[str] | None = field(default_factory=list)  # jobs stopped in the middle (None: unknown)
    not_started: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("ok", "cached", "skipped", "failed")}
        for r in self.records:
            out[r.status] += 1
        return out

    @property
    def failures(self) -> list[RunRecord]:
        return [r for r in self.records if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130  # 128 + SIGINT, as shells report it
        return 1 if self.failures or self.stopped else 0

    def to_dict(self) -> dict:
        return {"duration_s": round(self.duration_s, 3), "counts": self.counts(), "manifest": str(self.manifest),
                "interrupted": self.interrupted, "stopped": self.stopped, "running": self.running,
                "not_started": self.not_started, "runs": [r.to_dict() for r in self.records]}

    def _unfinished(self) -> str:
        if self.running is None:  # the executor cannot tell running from waiting jobs (Dask)
            return f"{len(self.not_started)} not finished (stopped while running or not started)"
        parts = []
        if self.running:
            parts.append(f"{len(self.running)} stopped while running ({', '.join(self.running)})")
        if self.not_started:
            parts.append(f"{len(self.not_started)} not started")
        return "; ".join(parts) or "nothing left to do"

    def text(self) -> str:
        c = self.counts()
        if self.interrupted or self.stopped:
            ran = c["ok"] + c["failed"]
            total = ran + len(self.running or ()) + len(self.not_started)
            why = "interrupted" if self.interrupted else f"stopped: {self.stopped}"
            line = (f"papi run: {why} — {ran} of {total} finished ({c['ok']} ok, {c['failed']} failed), "
                    f"{self._unfinished()}; nothing is half-written: run the same command again to continue, "
                    f"finished briefings come from the cache.")
            return "\n".join([line] + [f"  FAILED  {r.key}: {r.error}" for r in self.failures if self.stopped])
        lines = [f"papi run: {c['ok']} ok, {c['cached']} cached, {c['skipped']} skipped, {c['failed']} failed "
                 f"in {self.duration_s:.1f} s → {self.plan.out_dir}"]
        for r in self.records:
            if r.status == "skipped":
                lines.append(f"  skipped {r.key}: {r.reason}")
        for r in self.failures:
            debug, kept = r.outputs.get("failed"), r.outputs.get("ipynb")
            lines.append(f"  FAILED  {r.key}: {r.error}"
                         + (f" (notebook kept: {self.plan.out_dir / debug})" if debug else "")
                         + ("; the last good briefing stays published" if kept else ""))
        lines.append(f"manifest: {self.manifest}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


class _Progress:
    """A tqdm bar on a terminal, one plain line per finished job otherwise."""

    def __init__(self, total: int, enabled: bool | None, echo: Callable[[str], None]):
        self.total, self.done, self.echo = total, 0, echo
        tty = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None
        if tty and total:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="job", desc="papi run", file=sys.stderr, leave=False)

    def update(self, key: str, status: str, seconds: float, error: str | None = None) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{status} {key}", refresh=False)
            self.bar.update(1)
            if status == "failed":
                self.bar.write(f"FAILED {key}: {error}")
        else:
            self.echo(f"[{self.done}/{self.total}] {status:<6} {key} {seconds:.1f} s"
                      + (f" – {error}" if error else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clean_staging(out_dir: Path) -> None:
    """Remove what runs that were killed left in ``<out>/.staging`` (the caller holds the run lock,
    so no live run is using it)."""
    import shutil
    staging = out_dir / ".staging"
    if staging.is_dir():
        for p in staging.iterdir():
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


@contextmanager
def _private_tempdir() -> Iterator[Path]:
    """Point the temporary folder of this run and of every process it starts (workers, kernels,
    renderers, a LocalCluster) at one folder of its own, and remove that folder at the end, however
    the run ends. Folders of earlier runs whose process is gone are removed first."""
    import shutil
    import tempfile
    system = Path(tempfile.gettempdir())
    for old in system.glob("papi-b*-*"):
        found = re.fullmatch(r"papi-b(\d+)-\w{8}", old.name)
        try:
            if found and old.stat().st_uid == os.getuid() and not _alive(int(found.group(1))):
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    # short: kernels put Unix sockets in here, and their paths are limited to about 100 bytes
    root = Path(tempfile.mkdtemp(prefix=f"papi-b{os.getpid()}-", dir=system))
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(root), str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _HoldInterrupt:
    """Ctrl-C waits while a job's files and manifest entry are written (then it takes effect)."""

    def __enter__(self) -> "_HoldInterrupt":
        self.pending = False
        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            self.saved = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.pending = True

    def __exit__(self, *exc) -> None:
        if self.active:
            signal.signal(signal.SIGINT, self.saved)


def execute_plan(plan: Plan, progress: bool | None = None,
                 echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> RunSummary:
    """Run the plan's jobs, record every job (ok/cached/skipped/failed) in the manifest, return the summary.

    Only this process writes into the output folder: the workers hand back each job's files and
    :func:`transfer.publish` writes them atomically. One run at a time per output folder
    (``manifest.run_lock``). Ctrl-C stops the workers and their kernels, keeps everything that
    finished and returns a summary with ``interrupted`` set (exit status 130); a manifest that cannot
    be written (full disk) stops the run the same way, with ``stopped`` saying why.
    """
    from papi_research.pipeline.executors import DaskExecutor, Interrupted, get_executor
    from papi_research.pipeline.transfer import PublishError, Published, build_bundle, publish
    t0 = time.perf_counter()
    out_dir = plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    records: dict[str, RunRecord] = {}
    results: list[JobResult] = []
    to_run = [j for j in plan.jobs if j.action == "run"]
    for j in to_run:  # the HTML links to the formats kept published beside the new ones, too
        kept = set(_current(j, "ok")) - {"ipynb"}
        if kept - set(j.spec.formats):
            j.spec.links = tuple(f for f in FORMATS if f in set(j.spec.formats) | kept)
    by_key = {j.key: j for j in to_run}
    summary = RunSummary(plan=plan, records=[], duration_s=0.0, manifest=out_dir / "manifest.json", results=results)
    in_main = threading.current_thread() is threading.main_thread()
    saved_sigint = signal.getsignal(signal.SIGINT) if in_main else None
    with run_lock(out_dir), _private_tempdir():
        _clean_staging(out_dir)
        staging = out_dir / ".staging" / f"run-{os.getpid()}"
        for j in plan.jobs:
            if j.action == "skipped":
                records[j.key] = j.record("skipped", duration_s=0.0, reason=j.reason)
            elif j.action == "cached":
                records[j.key] = j.record("cached", duration_s=0.0, outputs=dict(j.previous.outputs),
                                          hashes=dict(j.previous.hashes),
                                          reason="inputs unchanged since the last successful run")
            elif j.reason:  # a cache hit but for its files: damaged or edited since they were published
                echo(f"papi run: {j.key}: {j.reason}")
        bar = _Progress(len(to_run), progress, echo)
        gen = stage = None
        try:
            if records:
                _record(out_dir, list(records.values()), echo)
            staging.mkdir(parents=True, exist_ok=True)
            if to_run:
                executor = get_executor(plan.options.executor, plan.options.scheduler)
                if isinstance(executor, DaskExecutor):
                    executor.bundle = build_bundle(plan.notebook, *_data_dirs(plan))
                stage = batch_render.for_plan(plan, len(to_run))  # Quarto: rendered here, many at once
                if stage is not None:
                    how = (f"the {len(to_run)} briefings here in batches of up to {stage.chunk} (one process "
                           f"per batch;" if len(to_run) > 1 else "the briefing here (one process;")
                    echo(f"papi run: the workers execute, {stage.renderer.name} renders {how} --renderer builtin "
                         f"draws the same briefings several times faster)")
                specs = [stage.execute_only(j.spec) if stage else j.spec for j in to_run]
                gen = executor.run(specs, plan.warm, plan.n_workers)
                for res in batch_render.through(gen, stage, {j.key: j.spec for j in to_run}):
                    job = by_key[res.key]
                    with _HoldInterrupt() as hold:
                        try:
                            done = publish(out_dir, staging, job.spec, res, _current(job, res.status))
                        except PublishError as exc:
                            res.status, res.error = "failed", str(exc)
                            done = Published(*_kept(job, out_dir))
                        res.files = {}  # published: do not keep the bytes
                        for rel in done.removed:
                            echo(f"papi run: {job.key}: removed {rel} (not asked for this time, and made from "
                                 f"other inputs than the new briefing)")
                        rec = job.record(res.status, duration_s=res.duration_s, outputs=done.outputs,
                                         hashes=done.hashes, error=res.error if res.status != "ok" else None)
                        records[res.key] = rec
                        _record(out_dir, [rec], echo)
                        results.append(res)
                    bar.update(res.key, res.status, res.duration_s, res.error)
                    if hold.pending:
                        raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            if in_main:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not break the clean-up
            summary.interrupted = True
            summary.running = _stop(gen, exc, Interrupted, stage)
        except _ManifestWriteError as exc:  # e.g. a full disk: stop, keep what finished
            if in_main:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            summary.stopped = str(exc)
            summary.running = _stop(gen, KeyboardInterrupt(), Interrupted, stage)
        finally:
            if stage is not None:
                stage.stop()  # after an unexpected error too: no renderer process outlives the run
            bar.close()
            import shutil
            shutil.rmtree(staging, ignore_errors=True)
            if in_main:
                signal.signal(signal.SIGINT, saved_sigint)
    summary.not_started = [j.key for j in to_run if j.key not in records and j.key not in (summary.running or ())]
    summary.records = [records[j.key] for j in plan.jobs if j.key in records]
    summary.duration_s = time.perf_counter() - t0
    return summary


def _current(job, status: str) -> dict[str, str]:
    """What the job's last good files hash to, for :func:`transfer.publish`: after a success, the formats
    made from the same inputs (all but the formats asked for), which stay published; after a failure,
    every file of the last good set (it stays published, and the manifest keeps vouching for it)."""
    prev = job.previous
    if prev is None or not prev.hashes:
        return {}
    if status != "ok":
        return {k: v for k, v in prev.hashes.items() if k in ("ipynb", "html", "pdf", "docx")}
    if prev.status not in ("ok", "cached"):
        return {}
    same = ({k: v for k, v in prev.inputs.items() if k != "render"}
            == {k: v for k, v in job.inputs.items() if k != "render"})
    return {k: v for k, v in prev.hashes.items() if k in ("html", "pdf", "docx")} if same else {}


def _kept(job, out_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The outputs and hashes of a job whose new files could not be written: its last good set, as it is."""
    outputs, hashes, current = {}, {}, _current(job, "failed")
    for fmt in ("ipynb", "html", "pdf", "docx"):
        rel = f"{job.spec.rel_dir}/{job.spec.stem}.{fmt}"
        if (out_dir / rel).is_file():
            outputs[fmt] = rel
            if fmt in current:
                hashes[fmt] = current[fmt]
    return outputs, hashes


class _ManifestWriteError(Exception):
    """The manifest could not be written (the message names it and the reason)."""


def _record(out_dir: Path, records: list[RunRecord], echo: Callable[[str], None]) -> None:
    try:
        update_manifest(out_dir, records, warn=lambda m: echo(f"warning: {m}"))
    except OSError as exc:
        raise _ManifestWriteError(f"cannot write {out_dir / 'manifest.json'} ({exc.strerror or exc})") from None


def _stop(gen, exc: BaseException, interrupted: type, stage=None) -> list[str] | None:
    """Stop the executor's workers and the batch renderer; return the jobs they were running (None: the
    executor cannot tell)."""
    rendering = stage.stop() if stage is not None else []
    running = _stop_executor(gen, exc, interrupted)
    return None if running is None else running + rendering


def _stop_executor(gen, exc: BaseException, interrupted: type) -> list[str] | None:
    if isinstance(exc, interrupted):
        return exc.running
    if gen is None:
        return []
    try:
        gen.throw(KeyboardInterrupt)
    except interrupted as stopped:
        return stopped.running
    except (KeyboardInterrupt, StopIteration, RuntimeError):
        pass
    finally:
        gen.close()
    return []


def _data_dirs(plan: Plan) -> tuple[Path, Path | None]:
    """The PAPI data folder and the companion folder this plan's data version was computed from."""
    from papi_research.data.paths import find_papi_dir
    papi_dir = find_papi_dir(plan.options.data_dir)
    return papi_dir, _companion(papi_dir)


def run(options: RunOptions, progress: bool | None = None,
        echo: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> RunSummary:
    """Validate, plan and execute a batch run (see the module docstring)."""
    return execute_plan(plan_run(options), progress=progress, echo=echo)
