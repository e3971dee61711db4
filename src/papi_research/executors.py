"""Where jobs run: a registry of executors (``local`` process pool, ``dask`` distributed cluster).

An executor takes the :class:`~papi_research.engine.JobSpec` list of one run and yields one
:class:`~papi_research.engine.JobResult` per job as each finishes. Every worker process keeps one
warm kernel for the whole run (see ``engine``); a worker that dies turns its jobs into failures,
it never stops the others.

* ``local`` – ``N`` worker processes on this machine (``--jobs``, default: the number of cores).
* ``dask``  – the same jobs on a Dask distributed cluster: a ``LocalCluster`` of ``N`` single-threaded
  worker processes, or an existing scheduler (``--scheduler tcp://host:8786``). Remote workers need
  the package installed and the output folder on a shared file system.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

from .engine import JobResult, JobSpec, WarmSpec
from .errors import ParameterError


class Executor(Protocol):
    name: str

    def run(self, specs: list[JobSpec], warm: WarmSpec, jobs: int) -> Iterator[JobResult]:
        ...


def _failed(spec: JobSpec, exc: BaseException) -> JobResult:
    return JobResult(key=spec.key, status="failed", duration_s=0.0,
                     error=f"worker lost: {type(exc).__name__}: {exc}")


def _pool_init(warm: WarmSpec, formats: tuple[str, ...], fresh: bool) -> None:
    """Worker initialiser: start the warm kernel (and import the renderer) before the first job arrives."""
    from . import engine
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if not fresh:
        engine.warm_worker(warm, formats)


def _pool_job(spec: JobSpec) -> JobResult:
    from .engine import execute_job
    return execute_job(spec)


@dataclass
class LocalExecutor:
    """``jobs`` worker processes (spawned, so each one is a clean interpreter) on this machine."""

    name: str = "local"

    def run(self, specs: list[JobSpec], warm: WarmSpec, jobs: int) -> Iterator[JobResult]:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        if not specs:
            return
        formats = specs[0].formats
        fresh = specs[0].fresh
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(specs))), mp_context=ctx,
                                   initializer=_pool_init, initargs=(warm, formats, fresh))
        try:
            futures = {pool.submit(_pool_job, s): s for s in specs}
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as exc:  # noqa: BLE001 - a dead worker fails its job only
                    yield _failed(futures[fut], exc)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask_job(spec: JobSpec) -> JobResult:
    from .engine import execute_job
    return execute_job(spec)


def _dask_shutdown() -> int:
    from .engine import shutdown_kernels
    shutdown_kernels()
    return os.getpid()


@dataclass
class DaskExecutor:
    """Jobs on a Dask cluster: a ``LocalCluster`` when no scheduler address is given."""

    scheduler: str | None = None
    name: str = "dask"

    def run(self, specs: list[JobSpec], warm: WarmSpec, jobs: int) -> Iterator[JobResult]:
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise ParameterError("executor", f"dask is not installed ({exc})") from None
        if not specs:
            return
        cluster = None
        if self.scheduler:
            try:
                client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ParameterError("scheduler", f"cannot reach Dask scheduler {self.scheduler!r}: {exc}") from None
        else:
            cluster = LocalCluster(n_workers=max(1, min(jobs, len(specs))), threads_per_worker=1,
                                   processes=True, dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            futures = client.map(_dask_job, specs, key=[f"papi-{s.key.replace('/', '-')}" for s in specs],
                                 pure=False)
            by_key = {f.key: s for f, s in zip(futures, specs)}
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as exc:  # noqa: BLE001
                    yield _failed(by_key[fut.key], exc)
        finally:
            try:
                client.run(_dask_shutdown)  # stop the warm kernels the workers keep
            except Exception:  # noqa: BLE001
                pass
            client.close()
            if cluster is not None:
                cluster.close()


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "local": lambda scheduler=None: LocalExecutor(),
    "dask": lambda scheduler=None: DaskExecutor(scheduler=scheduler),
}


def get_executor(name: str, scheduler: str | None = None) -> Executor:
    """The executor registered as ``name`` (``local`` or ``dask``)."""
    if name not in EXECUTORS:
        raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)}; got {name!r}")
    if scheduler and name != "dask":
        raise ParameterError("scheduler", "only used with --executor dask")
    return EXECUTORS[name](scheduler=scheduler)
