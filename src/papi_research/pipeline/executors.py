"""Where jobs run: a registry of executors (``local`` process pool, ``dask`` distributed cluster).

An executor takes the :class:`~papi_research.pipeline.jobs.JobSpec` list of one run and yields one
:class:`~papi_research.pipeline.jobs.JobResult` per job as each finishes, with the job's files as bytes
(the client publishes them, see ``transfer``). Every worker process keeps one warm kernel for the
whole run (see :mod:`papi_research.pipeline.kernel`). A worker that dies (killed, out of memory) fails the job it was running
with the reason; the other jobs go on, on a new worker.

* ``local`` – ``N`` worker processes on this machine (``--jobs``, default: the number of cores), a
  Pebble process pool: it tells which job a dead worker was running and replaces the worker.
  Workers ignore Ctrl-C (the client stops them) and, told to stop, kill their kernel at once.
* ``dask``  – the same jobs on a Dask distributed cluster: a ``LocalCluster`` of ``N`` single-threaded
  worker processes, or an existing scheduler (``--scheduler tcp://host:8786``). The workers need
  the package (same version) installed and nothing else: the notebook and the data travel with the
  run (``transfer.InputBundle`` in a worker plugin, which the scheduler also gives to workers that
  join or restart; checked by hash on the worker) and the files come back as bytes. The client keeps
  only as many jobs on the cluster as it has threads, so a worker that dies takes only the job it
  was running; that job fails with the reason once the scheduler gives it up (its
  ``distributed.scheduler.allowed-failures``; 0 on the LocalCluster started here).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Protocol

from papi_research.errors import ParameterError
from papi_research.pipeline.jobs import JobResult, JobSpec
from papi_research.pipeline.kernel import WarmSpec


class Executor(Protocol):
    name: str

    def run(self, specs: list[JobSpec], warm: WarmSpec, jobs: int) -> Iterator[JobResult]:
        ...


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``running`` names the jobs that were stopped in the middle (None: unknown)."""

    def __init__(self, running: list[str] | None):
        super().__init__()
        self.running = running


def _hold_further_interrupts() -> None:
    """While the workers are being stopped, a second Ctrl-C is ignored (the runner restores it)."""
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _failed(spec: JobSpec, error: str) -> JobResult:
    return JobResult(key=spec.key, status="failed", duration_s=0.0, error=error)


def worker_death(exitcode: int | None) -> str:
    """Why a worker process ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory, or killed by someone)" if name == "SIGKILL" else ""
        return f"the worker process running it died: killed by {name}{hint}"
    if exitcode is not None and exitcode > 128:
        try:
            return f"the worker process running it was stopped by {signal.Signals(exitcode - 128).name}"
        except ValueError:
            pass
    return f"the worker process running it died (exit status {exitcode})"


def _pool_init(warm: WarmSpec, formats: tuple[str, ...], fresh: bool) -> None:
    """Worker initialiser: Ctrl-C is the client's, SIGTERM or a dead client stops the kernel with the
    worker; then start the warm kernel (and import the renderer) before the first job arrives."""
    from papi_research.pipeline import jobs
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, jobs.stop_worker)
    jobs.exit_with_parent()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if not fresh:
        try:
            jobs.warm_worker(warm, formats)
        except Exception:  # noqa: BLE001 - the first job retries and reports the real error
            pass


def _quiet_resource_tracker() -> None:
    """Workers are stopped with SIGTERM (or die), so the semaphores of their render pools are reclaimed
    by multiprocessing's resource tracker, which says so on stderr at exit; that is the tracker doing
    its job, not a leak. The tracker process takes its warning filters from ``sys.warnoptions`` when
    it starts."""
    import sys
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    if quiet not in sys.warnoptions:
        sys.warnoptions.append(quiet)


def _pool_jobs(specs: list[JobSpec]) -> list[JobResult]:
    """One province's jobs (its languages), in turn, in one worker: the second language takes the
    analysis the first computed (:func:`papi_research.analysis.drivers.shared_drivers_report`)."""
    from papi_research.pipeline.jobs import execute_job
    return [execute_job(spec) for spec in specs]


def province_groups(specs: list[JobSpec]) -> list[list[JobSpec]]:
    """``specs`` grouped by province and year (``rel_dir``), in their order: the unit a local worker runs."""
    groups: dict[str, list[JobSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.rel_dir, []).append(spec)
    return list(groups.values())


@dataclass
class LocalExecutor:
    """``jobs`` worker processes (spawned, so each one is a clean interpreter) on this machine. A
    worker runs a province's languages one after the other (:func:`province_groups`)."""

    name: str = "local"
    uses_scheduler = False

    def run(self, specs: list[JobSpec], warm: WarmSpec, jobs: int) -> Iterator[JobResult]:
        from concurrent.futures import as_completed

        from pebble import ProcessPool
        from pebble.common import ProcessExpired
        if not specs:
            return
        _quiet_resource_tracker()
        groups = province_groups(specs)
        pool = ProcessPool(max_workers=max(1, min(jobs, len(groups))), initializer=_pool_init,
                           initargs=(warm, specs[0].formats, specs[0].fresh),
                           context=multiprocessing.get_context("spawn"))
        futures = {pool.schedule(_pool_jobs, args=(g,)): g for g in groups}
        finished = False
        try:
            for fut in as_completed(futures):
                group = futures[fut]
                try:
                    yield from fut.result()
                except ProcessExpired as exc:  # the worker died: the province's unfinished jobs fail
                    yield from (_failed(spec, worker_death(exc.exitcode)) for spec in group)
                except Exception as exc:  # noqa: BLE001 - a broken worker fails its province only
                    yield from (_failed(spec, f"worker lost: {type(exc).__name__}: {exc}") for spec in group)
            finished = True
        except KeyboardInterrupt:
            _hold_further_interrupts()
            raise Interrupted([spec.key for f, g in futures.items() if f.running() for spec in g]) from None
        finally:
            if finished:
                pool.close()
            else:
                pool.stop()  # a consumer that stops early (error, interrupt) stops the workers too
            pool.join()


_BUNDLES: dict[str, object] = {}  # on a Dask worker: the input bundles its plugin delivered, by digest


class _InputsPlugin:
    """A Dask worker plugin carrying a run's input bundle. The scheduler keeps it and installs it on
    every worker, including one that joins or is restarted after a crash, so a job never depends on
    data held by a worker that died."""

    def __init__(self, bundle):
        self.bundle = bundle
        self.name = f"papi-inputs-{bundle.digest}"

    def setup(self, worker=None) -> None:
        _BUNDLES[self.bundle.digest] = self.bundle

    def teardown(self, worker=None) -> None:
        from papi_research.pipeline.transfer import forget_materialised
        _BUNDLES.pop(self.bundle.digest, None)
        forget_materialised()


def _dask_job(spec: JobSpec, digest: str) -> JobResult:
    from papi_research.errors import PapiError
    from papi_research.pipeline.jobs import execute_job
    from papi_research.pipeline.transfer import localise, materialise
    bundle = _BUNDLES.get(digest)
    if bundle is None:
        return JobResult(key=spec.key, status="failed", duration_s=0.0, pid=os.getpid(),
                         error="the worker did not receive the run's input files (plugin missing)")
    try:
        local = materialise(bundle)
    except PapiError as exc:
        return JobResult(key=spec.key, status="failed", duration_s=0.0, error=str(exc), pid=os.getpid())
    return execute_job(localise(spec, local))


def _dask_shutdown() -> int:
    from papi_research.pipeline.jobs import shutdown_worker
    from papi_research.pipeline.transfer import forget_materialised
    shutdown_worker()
    forget_materialised()
    return os.getpid()


def _dask_error(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":
        return f"the worker running it died, and the scheduler gave it up (KilledWorker: {exc})"
    return f"worker lost: {type(exc).__name__}: {exc}"


@dataclass
class DaskExecutor:
    """Jobs on a Dask cluster: a ``LocalCluster`` when no scheduler address is given."""

    scheduler: str | None = None
    name: str = "dask"
    uses_scheduler = True
    bundle: object = field(default=None, repr=False)  # transfer.InputBundle, set by the runner

    def run(self, specs: list[JobSpec], warm: WarmSpec, jobs: int) -> Iterator[JobResult]:
        try:
            import dask
            from distributed import Client, LocalCluster, as_completed
            from distributed.diagnostics.plugin import WorkerPlugin
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise ParameterError("executor", f"dask is not installed ({exc})") from None
        if not specs:
            return
        if self.bundle is None:
            raise ParameterError("executor", "the dask executor needs the run's input bundle (runner sets it)")
        cluster = None
        if self.scheduler:
            try:
                client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ParameterError("scheduler", f"cannot reach Dask scheduler {self.scheduler!r}: {exc}") from None
        else:
            # worker processes started while SIGINT is ignored keep ignoring it: Ctrl-C is the client's
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}), _sigint_ignored():
                cluster = LocalCluster(n_workers=max(1, min(jobs, len(specs))), threads_per_worker=1,
                                       processes=True, dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        plugin = type("PapiInputs", (_InputsPlugin, WorkerPlugin), {})(self.bundle)
        finished = False
        futures: dict = {}
        try:
            client.register_plugin(plugin, name=plugin.name)
            waiting = list(specs)

            def submit_more(done) -> None:
                # only as many jobs on the cluster as it has threads: a worker that dies takes only
                # the job it was running with it, whatever the scheduler's queuing settings
                slots = max(1, sum(client.nthreads().values()))
                while waiting and len(futures) - done < slots:
                    s = waiting.pop(0)
                    fut = client.submit(_dask_job, s, self.bundle.digest, key=f"papi-{s.key.replace('/', '-')}",
                                        pure=False)
                    futures[fut] = s
                    pending.add(fut)

            pending = as_completed([])
            done = 0
            submit_more(done)
            for fut in pending:
                done += 1
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001
                    result = _failed(futures[fut], _dask_error(exc))
                fut.release()
                submit_more(done)
                yield result
            finished = True
        except KeyboardInterrupt:
            _hold_further_interrupts()
            raise Interrupted(None) from None  # Dask does not say which pending task is running
        finally:
            if not finished:
                client.cancel(list(futures))
            try:
                client.run(_dask_shutdown)  # stop the warm kernels the workers keep, forget the inputs
                client.unregister_worker_plugin(plugin.name)
            except Exception:  # noqa: BLE001
                pass
            client.close()
            if cluster is not None:
                cluster.close()


def get_executor(name: str, scheduler: str | None = None) -> Executor:
    """The executor registered as ``name`` (entry point group ``papi_research.executors``)."""
    from papi_research.registry import load
    cls = load("executor", name)
    if not getattr(cls, "uses_scheduler", False):
        if scheduler:
            raise ParameterError("scheduler", f"only used with an executor that takes one, not {name!r}")
        return cls()
    return cls(scheduler=scheduler)
