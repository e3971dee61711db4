"""What a worker does for one job: execute the notebook, render it, hand the files back.

:func:`execute_job` runs one province × year × language: execute (warm or fresh kernel) into a
staging folder, normalise the executed notebook (no timings, no temporary paths), render it, and
return the files as bytes; the client publishes them (``transfer.publish``). :func:`warm_worker`
starts a worker's warm kernel and render process; :func:`stop_worker` and :func:`exit_with_parent`
stop them with the worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from papi_research.data.text import strip_ansi
from papi_research.pipeline.engine import ENGINE_NAME, register_engine, write_notebook
from papi_research.pipeline.kernel import (INLINE_BACKEND, WarmSpec, abandon_kernels, ipc_kernel_manager,
                                           kernel_service, shutdown_kernels)
from papi_research.render.process import (close_render_process, kill_render_process, render_files, render_process,
                                          watch_parent)

log = logging.getLogger("papi_research.pipeline.jobs")


@dataclass
class JobSpec:
    """Everything a worker needs to run one province × year × language (plain data, picklable)."""

    key: str
    notebook: str
    out_dir: str
    rel_dir: str  # "<year>/<slug>"
    stem: str  # "<slug>-<year>.<lang>"
    parameters: dict
    formats: tuple[str, ...] = ("html", "pdf")
    links: tuple[str, ...] | None = None  # the formats the HTML links to (None: ``formats``; a run adds the
                                          # formats it keeps published beside the new ones)
    renderer: str = "auto"
    fresh: bool = False
    warm: WarmSpec = field(default_factory=WarmSpec)
    execution_timeout: int = 600
    notebook_label: str | None = None  # what nb.metadata.papermill.input_path records
    run_record: dict | None = None  # manifest fields known up front, kept in the executed notebook

    def outputs(self) -> dict[str, str]:
        return {fmt: f"{self.rel_dir}/{self.stem}.{fmt}" for fmt in ("ipynb", *self.formats)}


@dataclass
class JobResult:
    """What happened to one job (times in seconds)."""

    key: str
    status: str  # ok | failed
    duration_s: float
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    execute_s: float = 0.0
    render_s: float = 0.0
    pid: int = 0
    files: dict[str, bytes] = field(default_factory=dict, repr=False)  # "ipynb", "html", "pdf" or "failed.ipynb"

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "files"}


def normalize_notebook(nb, input_label: str | None, output_label: str) -> None:
    """Drop what differs between two identical runs: timings, temporary paths (in place)."""
    pm = nb.metadata.get("papermill", {})
    for k in ("start_time", "end_time", "duration"):
        if k in pm:
            pm[k] = None
    if input_label is not None:
        pm["input_path"] = input_label
    pm["output_path"] = output_label
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []) and "id" in cell:
            cell["id"] = "injected-parameters"  # papermill draws a random id for the cell it adds
        cpm = cell.get("metadata", {}).get("papermill")
        if cpm:
            for k in ("start_time", "end_time", "duration"):
                cpm[k] = None
        cell.get("metadata", {}).pop("execution", None)


def _error_text(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError
    if isinstance(exc, PapermillExecutionError):
        return f"cell {exc.cell_index} (In [{exc.exec_count}]): {exc.ename}: {strip_ansi(str(exc.evalue))}"
    return f"{type(exc).__name__}: {strip_ansi(str(exc))}"


def execute_job(spec: JobSpec) -> JobResult:
    """Run one job in this process: execute the notebook, render it, return the files as bytes.

    Everything is built in a folder of its own under this process's temporary folder and removed
    afterwards; the worker never writes into the output folder (it may not even see it): the client
    publishes ``result.files`` (see ``transfer.publish``). On success ``files`` holds ``ipynb`` and
    each requested format; on failure it holds the executed notebook as ``failed.ipynb`` (when the
    kernel got far enough to write one) for debugging.
    """
    import papermill as pm
    # papermill re-infers the parameters cell and warns about names it cannot parse; the runner has
    # already checked them (plan.notebook_parameters), so only its errors are worth showing.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    stage = Path(tempfile.mkdtemp(prefix=spec.stem + "."))
    workdir = Path(tempfile.mkdtemp(prefix="papi-run-"))  # the run's own working directory
    executed = stage / f"{spec.stem}.ipynb"
    result = JobResult(key=spec.key, status="failed", duration_s=0.0, pid=os.getpid())
    label = f"{spec.rel_dir}/{spec.stem}.ipynb"
    try:
        t_exec = time.perf_counter()
        try:
            if spec.fresh:
                nb = _execute_fresh(spec, executed, workdir)
            else:
                register_engine()
                svc = kernel_service(spec.warm)
                # the engine finalises the notebook before papermill writes it: one write, not two
                nb = svc.call(pm.execute_notebook, spec.notebook, str(executed), parameters=spec.parameters,
                         engine_name=ENGINE_NAME, kernel_name=spec.warm.kernel_name, progress_bar=False,
                         request_save_on_cell_execute=False, kernel=svc.kernel, kernel_cwd=str(workdir),
                         debug_path=str(executed), execution_timeout=spec.execution_timeout,
                         finalize=lambda done: _finalise(done, spec, label))
        except Exception as exc:  # noqa: BLE001 - one province failing never stops the others
            result.error = _error_text(exc)
            keep_failed(executed, spec, label, result)
            return result
        finally:
            result.execute_s = time.perf_counter() - t_exec
        if spec.fresh:
            _finalise_notebook(executed, spec, label, nb)
        else:
            _end_with_newline(executed)  # as write_notebook ends the file (papermill does not)
        t_render = time.perf_counter()
        produced: dict[str, Path] = {}
        if spec.formats:
            try:
                produced = render_files(executed, spec.formats, spec.renderer, spec.links)
                missing = [f for f in spec.formats if f not in produced or not Path(produced[f]).is_file()]
                if missing:
                    raise RuntimeError(f"renderer produced no {', '.join(missing)}")
            except Exception as exc:  # noqa: BLE001
                result.error = "render: " + _error_text(exc)
                log.debug("render failed for %s\n%s", spec.key, traceback.format_exc())
                keep_failed(executed, spec, label, result)
                return result
            finally:
                result.render_s = time.perf_counter() - t_render
        result.files = {"ipynb": executed.read_bytes(),
                        **{fmt: Path(produced[fmt]).read_bytes() for fmt in spec.formats}}
        result.status = "ok"
        result.outputs = spec.outputs()
        return result
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
        result.duration_s = round(time.perf_counter() - t0, 3)


def _execute_fresh(spec: JobSpec, executed: Path, workdir: Path):
    """papermill in a new kernel of its own (on Unix sockets, see :func:`ipc_kernel_manager`); returns
    the executed notebook."""
    import papermill as pm
    from jupyter_core.utils import run_sync
    env_backup = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    km = ipc_kernel_manager(spec.warm.kernel_name)
    try:
        return pm.execute_notebook(spec.notebook, str(executed), parameters=spec.parameters,
                                   kernel_name=spec.warm.kernel_name, progress_bar=False,
                                   request_save_on_cell_execute=False, cwd=str(workdir), km=km,
                                   execution_timeout=spec.execution_timeout, record_timing=False)
    finally:
        if env_backup is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backup
        try:  # the kernel manager is ours, so nbclient leaves its shutdown to us
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
            run_sync(km.cleanup_resources)()
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            pass


def _finalise(nb, spec: JobSpec, label: str) -> None:
    """Normalise an executed notebook and add the run record (in place)."""
    normalize_notebook(nb, spec.notebook_label, label)
    if spec.run_record is not None:
        nb.metadata["papi"] = {"run": spec.run_record}  # the record the manifest can be rebuilt from


def _finalise_notebook(executed: Path, spec: JobSpec, label: str, nb=None) -> None:
    """:func:`_finalise` the executed notebook (``nb``, the one papermill returned, else read from
    ``executed``) and write it back."""
    import nbformat
    if nb is None:
        nb = nbformat.read(executed, as_version=4)
    _finalise(nb, spec, label)
    write_notebook(nb, executed)


def _end_with_newline(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def keep_failed(executed: Path, spec: JobSpec, label: str, result: JobResult) -> None:
    """Hand the executed notebook of a failed job back as ``failed.ipynb`` (if there is one)."""
    if not executed.is_file():
        return
    try:
        _finalise_notebook(executed, spec, label.replace(".ipynb", ".failed.ipynb"))
    except Exception:  # noqa: BLE001 - keep whatever was written
        pass
    result.files = {"failed.ipynb": executed.read_bytes()}


def warm_worker(spec: WarmSpec, render_formats: tuple[str, ...] = ()) -> dict:
    """Start this process's render process and warm kernel now (pool initialiser), both at once."""
    if "pdf" in render_formats:
        render_process().start()
    if render_formats:
        import papi_research.render  # noqa: F401 - HTML is rendered in this process
    svc = kernel_service(spec)
    return {"pid": os.getpid(), "kernel_pid": svc.kernel.pid(), "notes": svc.kernel.notes}


def shutdown_worker() -> None:
    """Stop this process's warm kernels and render process (at the end of a run)."""
    shutdown_kernels()
    close_render_process()


def stop_worker(signum: int | None = None, frame=None) -> None:
    """SIGTERM handler of a worker process: abandon the kernels, then exit (status 128 + signal)."""
    abandon_kernels()
    kill_render_process()
    try:  # multiprocessing's own exit: releases the semaphores and queues this process created
        import multiprocessing.util
        multiprocessing.util._exit_function()
    except Exception:  # noqa: BLE001
        pass
    os._exit(128 + (signum or 15))


EXIT_GRACE_S = 2.0
"""How long a worker whose parent died may spend stopping its kernels before it exits regardless."""


def exit_with_parent() -> None:
    """Stop this worker (kernels and render child included) as soon as its parent process is gone,
    whatever the worker is doing: the clean stop runs in the watching thread, and a timer ends the
    process after :data:`EXIT_GRACE_S` if that stop waits on something the busy main thread holds (a
    kernel starting during warm-up)."""
    import threading

    def parent_gone() -> None:
        timer = threading.Timer(EXIT_GRACE_S, os._exit, (128 + 15,))
        timer.daemon = True
        timer.start()
        kill_render_process()
        stop_worker(15)
    watch_parent(parent_gone)
