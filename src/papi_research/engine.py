"""The fast papermill engine: one warm Jupyter kernel per worker, reset between provinces, plus the job worker.

Starting a kernel and importing pandas, statsmodels, seaborn and the package costs seconds per
province. A :class:`WarmKernel` is started once per worker process: it imports those libraries,
loads the data and fits the national models of the years to run (the library caches them per data
version and year), then executes notebook after notebook. Between two notebooks it is reset so the
outputs equal a fresh kernel's: ``%reset -f`` (user namespace, ``In``/``Out``), execution counter
back to 1, figures closed, matplotlib ``rcParams``, pandas and numpy options, warning filters (and the
"already shown" registries), ``sys.path`` and environment restored to the snapshot taken after
warm-up (display formatters are left alone: modules register theirs once and remember it), and the
working directory set to the run's own fresh folder.

:class:`WarmEngine` is a papermill engine (registered as ``papi-warm``, also through the
``papermill.engine`` entry point) that runs a notebook in such a kernel through nbclient, without
shutting the kernel down. :func:`execute_job` is what a worker does for one job: execute (warm or
fresh kernel) into a staging folder, render, then publish the files by renaming them into place.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import traceback
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("papi_research.engine")

ENGINE_NAME = "papi-warm"
MAX_SOCKET_PATH = 103  # bytes in a Unix socket address: 107 on Linux, 103 on macOS
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# Modules imported once per warm kernel (those that do not exist yet are skipped).
WARM_LIBRARIES = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "statsmodels.api",
                  "statsmodels.formula.api", "IPython.display")
# Every module of the package is imported once per warm kernel except these (batch machinery, CLI).
NOT_WARMED = {"cli", "__main__", "runner", "executors", "engine", "manifest", "site", "render", "transfer"}


def _package_modules() -> tuple[str, ...]:
    import pkgutil
    import papi_research
    return tuple(f"papi_research.{m.name}" for m in pkgutil.iter_modules(papi_research.__path__)
                 if m.name not in NOT_WARMED)


# ---------------------------------------------------------------------------------------------
# Inside the kernel: warm-up, snapshot and reset. Called through `__import__(...)` so that nothing
# is left in the user namespace.
# ---------------------------------------------------------------------------------------------

_SNAPSHOT: dict[str, Any] = {}


def _kernel_warm(data_dir: str | None, years: list[int], target: str, province: str | None) -> list[str]:
    """Import the heavy libraries, load the data and fit the national models; return notes of what failed."""
    import importlib
    import io
    notes: list[str] = []
    for name in WARM_LIBRARIES + _package_modules():
        try:
            importlib.import_module(name)
        except ImportError as exc:
            notes.append(f"import {name}: {exc}")
    try:
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [0, 1])
        ax.set_title("Sơn La")
        fig.savefig(io.BytesIO(), format="png")  # font cache, Agg renderer
        plt.close(fig)
    except Exception as exc:  # noqa: BLE001 - warm-up is best effort
        notes.append(f"matplotlib: {exc}")
    try:
        from papi_research.data import load_cached
        from papi_research.scores import year_scores
        data = load_cached(data_dir)
        for y in years:
            year_scores(data, y)
        try:
            from papi_research.drivers import drivers_report
        except ImportError:
            drivers_report = None
        if drivers_report is not None and province is not None:
            for y in years:
                try:
                    drivers_report(data, province, year=y, target=target)
                except Exception as exc:  # noqa: BLE001 - the notebook will report real errors
                    notes.append(f"drivers {y}: {exc}")
    except Exception as exc:  # noqa: BLE001
        notes.append(f"data: {exc}")
    _kernel_snapshot()
    return notes


def _kernel_snapshot() -> None:
    """Remember the global state a notebook may change, as it is right after warm-up."""
    import copy
    import sys
    import warnings
    _SNAPSHOT.clear()
    import gc
    gc.collect()
    gc.freeze()  # libraries, data and models move to the permanent generation: later collections skip them
    _SNAPSHOT["sys_path"] = list(sys.path)
    _SNAPSHOT["environ"] = dict(os.environ)
    _SNAPSHOT["warnings"] = list(warnings.filters)
    if "matplotlib" in sys.modules:
        import matplotlib
        _SNAPSHOT["rc"] = copy.deepcopy(dict(matplotlib.rcParams))
    if "pandas" in sys.modules:
        from pandas._config import config as pdc
        _SNAPSHOT["pandas"] = copy.deepcopy(pdc._global_config)
    if "numpy" in sys.modules:
        import numpy as np
        _SNAPSHOT["np_print"] = np.get_printoptions()
        _SNAPSHOT["np_err"] = np.geterr()
    # Display formatters are deliberately not restored: modules register theirs once and remember it
    # (papi_research.figures does), so undoing a registration would change the next notebook's output.


def _kernel_reset(cwd: str) -> None:
    """Bring the kernel back to its post-warm-up state and move it into ``cwd``."""
    import gc
    import sys
    import warnings
    os.chdir(cwd)  # first: the previous run's folder is gone
    ip = _ipython()
    if ip is not None:
        ip.reset(new_session=True)  # what `%reset -f` does, plus a new history session and counter 1
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    if "rc" in _SNAPSHOT:
        import matplotlib
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dict.clear(matplotlib.rcParams)
            dict.update(matplotlib.rcParams, _SNAPSHOT["rc"])
    if "pandas" in _SNAPSHOT:
        import copy
        from pandas._config import config as pdc
        pdc._global_config.clear()
        pdc._global_config.update(copy.deepcopy(_SNAPSHOT["pandas"]))
    if "np_print" in _SNAPSHOT:
        import numpy as np
        np.set_printoptions(**_SNAPSHOT["np_print"])
        np.seterr(**_SNAPSHOT["np_err"])
    if "warnings" in _SNAPSHOT:
        warnings.filters[:] = _SNAPSHOT["warnings"]
        warnings._filters_mutated()  # forget which warnings were already shown ("default"/"once")
    if "sys_path" in _SNAPSHOT:
        sys.path[:] = _SNAPSHOT["sys_path"]
    if "environ" in _SNAPSHOT:
        for k in set(os.environ) - set(_SNAPSHOT["environ"]):
            del os.environ[k]
        os.environ.update(_SNAPSHOT["environ"])
    gc.collect()  # the notebook's garbage only: the warm state is frozen (see _kernel_snapshot)


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


# ---------------------------------------------------------------------------------------------
# In the worker: the warm kernel and the papermill engine.
# ---------------------------------------------------------------------------------------------

class KernelSetupError(RuntimeError):
    """The warm kernel could not be started or reset."""


def kernel_env() -> dict[str, str]:
    """The environment a notebook kernel gets: the caller's, with the inline matplotlib backend."""
    env = dict(os.environ)
    env["MPLBACKEND"] = INLINE_BACKEND
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def ipc_kernel_manager(kernel_name: str):
    """A kernel manager whose kernel talks over Unix sockets in the temporary folder, not TCP.

    The sockets are files only this user can reach (no "Kernel is running over TCP without
    encryption" warning); they live in ``tempfile.gettempdir()``, which a batch run points at its
    own folder and removes at the end.
    """
    from jupyter_client.manager import AsyncKernelManager
    ip = os.path.join(tempfile.gettempdir(), f"papi-kernel-{os.getpid()}")
    if len(ip.encode()) + len("-99") > MAX_SOCKET_PATH:
        log.warning("temporary folder path too long for Unix sockets (%s); the kernel uses TCP on 127.0.0.1", ip)
        return AsyncKernelManager(kernel_name=kernel_name)
    return AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=ip)


@dataclass(frozen=True)
class WarmSpec:
    """What a warm kernel pre-loads: kernel name, data directory, years and driver target."""

    kernel_name: str = "python3"
    data_dir: str | None = None
    years: tuple[int, ...] = ()
    target: str = "group:high_average"
    province: str | None = None  # one province with data, used to fit and cache the national models
    env: tuple[tuple[str, str], ...] = ()  # extra environment of the kernel (e.g. where shipped data lives)


_LIVE_KERNELS: set = set()  # every WarmKernel of this process that may have a running kernel


class WarmKernel:
    """One Jupyter kernel kept alive across notebooks. Use it from one thread only (see :class:`KernelService`)."""

    def __init__(self, spec: WarmSpec, startup_timeout: float = 120):
        self.spec = spec
        self.startup_timeout = startup_timeout
        self.km = None
        self.kc = None
        self.notes: list[str] = []
        self.notebooks_run = 0
        self.broken = False

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> "WarmKernel":
        from jupyter_core.utils import run_sync
        self.km = ipc_kernel_manager(self.spec.kernel_name)
        workdir = tempfile.mkdtemp(prefix="papi-kernel-")
        run_sync(self.km.start_kernel)(env={**kernel_env(), **dict(self.spec.env)}, cwd=workdir,
                                       extra_arguments=["--HistoryManager.hist_file=:memory:"])  # as nbclient
        _LIVE_KERNELS.add(self)
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self.kc.allow_stdin = False
        code = (f"__import__('papi_research.engine', fromlist=['_']).__dict__['_kernel_warm']"
                f"({self.spec.data_dir!r}, {list(self.spec.years)!r}, {self.spec.target!r}, {self.spec.province!r})")
        result = self.run_code(code, want_result=True)
        self.notes = list(result or [])
        shutil.rmtree(workdir, ignore_errors=True)
        self.broken = False
        return self

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001
                pass
            self.kc = None
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001
                pass
            try:
                run_sync(self.km.cleanup_resources)()
            except Exception:  # noqa: BLE001
                pass
            self.km = None
        _LIVE_KERNELS.discard(self)

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def pid(self) -> int | None:
        try:
            return self.km.provisioner.process.pid  # type: ignore[union-attr]
        except AttributeError:
            return None

    # -- running code -----------------------------------------------------------------------
    def run_code(self, code: str, want_result: bool = False, timeout: float = 600) -> Any:
        """Run ``code`` outside the history (execution count unchanged); raise with the traceback on error."""
        from jupyter_core.utils import run_sync
        return run_sync(self._run_code)(code, want_result, timeout)

    async def _run_code(self, code: str, want_result: bool, timeout: float) -> Any:
        expr = {"r": "__papi_result__"} if want_result else {}
        if want_result:
            code = f"__papi_result__ = {code}"
        msg_id = self.kc.execute(code, silent=False, store_history=False, user_expressions=expr,
                                 allow_stdin=False)
        deadline = time.monotonic() + timeout
        reply = None
        while reply is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelSetupError(f"kernel did not answer within {timeout:.0f} s")
            try:
                msg = await self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                reply = msg
        # drain this request's iopub messages so nbclient never sees them
        while True:
            try:
                msg = await self.kc.get_iopub_msg(timeout=5)
            except queue.Empty:
                break
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"].get("execution_state") == "idle"):
                break
        content = reply["content"]
        if content.get("status") != "ok":
            tb = "\n".join(content.get("traceback", [])) or f"{content.get('ename')}: {content.get('evalue')}"
            raise KernelSetupError(f"code failed in the warm kernel:\n{_strip_ansi(tb)}")
        if want_result:
            import ast
            rexpr = content.get("user_expressions", {}).get("r", {})
            text = rexpr.get("data", {}).get("text/plain", "None")
            await self._run_code("del __papi_result__", False, timeout)
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return text
        return None

    def reset(self, cwd: str) -> None:
        if self.broken or self.km is None:
            self.restart()
        self.run_code(f"__import__('papi_research.engine', fromlist=['_']).__dict__['_kernel_reset']({cwd!r})")


def _strip_ansi(text: str) -> str:
    import re
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


_ENGINE_CLASS = None


def _engine_class():
    """Build (once) the papermill Engine subclass; papermill is imported only when needed."""
    global _ENGINE_CLASS
    if _ENGINE_CLASS is not None:
        return _ENGINE_CLASS
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import Engine
    from papermill.log import logger as pm_logger

    class _WarmEngine(Engine):
        """Papermill engine running notebooks in a kept-alive, reset-between-runs kernel (``papi-warm``)."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, execution_timeout=None, kernel=None,
                                     kernel_cwd=None, debug_path=None, **kwargs):
            from nbclient.exceptions import CellTimeoutError, DeadKernelError
            kernel = kernel if kernel is not None else default_kernel(WarmSpec(kernel_name=kernel_name or "python3"))
            cwd = kernel_cwd or os.getcwd()
            kernel.reset(str(cwd))
            client = PapermillNotebookClient(
                nb_man, km=kernel.km, kernel_name=kernel_name, timeout=execution_timeout,
                log=pm_logger, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file,
                record_timing=False)
            client.kc = kernel.kc
            try:
                client.execute()
            except (CellTimeoutError, DeadKernelError, RuntimeError):
                kernel.broken = True  # interrupted or dead: start a new one before the next notebook
                if debug_path:
                    _write_nb(nb_man.nb, Path(debug_path))
                raise
            finally:
                kernel.notebooks_run += 1
            return nb_man.nb

    _WarmEngine.__name__ = "WarmEngine"
    _WarmEngine.__qualname__ = "WarmEngine"
    _ENGINE_CLASS = _WarmEngine
    return _WarmEngine


def __getattr__(name: str):  # the entry point ``papi_research.engine:WarmEngine`` resolves lazily
    if name == "WarmEngine":
        return _engine_class()
    raise AttributeError(name)


def register_engine() -> None:
    """Register ``papi-warm`` with papermill (idempotent; the entry point does it too once installed)."""
    from papermill.engines import papermill_engines
    papermill_engines.register(ENGINE_NAME, _engine_class())


# ---------------------------------------------------------------------------------------------
# One thread per process owns the warm kernel (zmq sockets and the asyncio loop stay on it).
# ---------------------------------------------------------------------------------------------

class KernelService:
    """A thread that owns one :class:`WarmKernel` and runs calls on it one at a time."""

    def __init__(self, spec: WarmSpec):
        self.spec = spec
        self.kernel = WarmKernel(spec)
        self._q: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="papi-kernel", daemon=True)
        self._thread.start()
        self.call(self.kernel.start)

    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            fn, args, kwargs, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)

    def call(self, fn: Callable, *args, **kwargs) -> Any:
        fut: Future = Future()
        self._q.put((fn, args, kwargs, fut))
        return fut.result()

    def close(self) -> None:
        if self._thread.is_alive():
            try:
                self.call(self.kernel.shutdown)
            finally:
                self._q.put(None)
                self._thread.join(timeout=30)


_SERVICES: dict[WarmSpec, KernelService] = {}
_SERVICES_LOCK = threading.Lock()


def kernel_service(spec: WarmSpec) -> KernelService:
    """This process's warm kernel for ``spec`` (started on first use, shut down at process exit)."""
    with _SERVICES_LOCK:
        svc = _SERVICES.get(spec)
        if svc is None:
            svc = _SERVICES[spec] = KernelService(spec)
            _register_exit()
        return svc


def default_kernel(spec: WarmSpec) -> WarmKernel:
    """For ``papermill -e papi-warm``: a kernel owned by the calling thread, kept for the process."""
    with _SERVICES_LOCK:
        k = _PLAIN.get(spec)
        if k is None:
            k = _PLAIN[spec] = WarmKernel(spec).start()
            _register_exit()
        return k


_PLAIN: dict[WarmSpec, WarmKernel] = {}
_EXIT_REGISTERED = False


def shutdown_kernels() -> None:
    """Stop every warm kernel of this process."""
    with _SERVICES_LOCK:
        services, plain = list(_SERVICES.values()), list(_PLAIN.values())
        _SERVICES.clear()
        _PLAIN.clear()
    for svc in services:
        try:
            svc.close()
        except Exception:  # noqa: BLE001
            pass
    for k in plain:
        k.shutdown()
    global _RENDERER
    if _RENDERER is not None:
        _RENDERER.close()
        _RENDERER = None


def abandon_kernels() -> None:
    """Stop this process's kernels and render process at once, without waiting for a running notebook.

    For a worker that is told to stop (SIGTERM) or whose parent died: the warm kernel may be in the
    middle of a notebook, so it is killed rather than asked, and its socket and connection files are
    removed. Safe to call from a signal handler or any thread.
    """
    import signal
    for k in list(_LIVE_KERNELS):
        pid = k.pid()
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)  # the kernel leads its own session (jupyter_client)
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if k.km is not None:
            for clean in (k.km.cleanup_connection_file, k.km.cleanup_ipc_files):
                try:
                    clean()
                except Exception:  # noqa: BLE001 - best effort on the way out
                    pass
    if _RENDERER is not None:
        _RENDERER.kill()


def stop_worker(signum: int | None = None, frame=None) -> None:
    """SIGTERM handler of a worker process: abandon the kernels, then exit (status 128 + signal)."""
    global _RENDERER
    abandon_kernels()
    with _SERVICES_LOCK:
        _SERVICES.clear()
        _PLAIN.clear()
    _RENDERER = None
    try:  # multiprocessing's own exit: releases the semaphores and queues this process created
        import multiprocessing.util
        multiprocessing.util._exit_function()
    except Exception:  # noqa: BLE001
        pass
    os._exit(128 + (signum or 15))


def exit_with_parent() -> None:
    """Stop this worker (kernels included) as soon as its parent process is gone."""
    import multiprocessing
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait
        wait([parent.sentinel])
        stop_worker(15)

    threading.Thread(target=watch, name="papi-parent-watch", daemon=True).start()


def _register_exit() -> None:
    global _EXIT_REGISTERED
    if _EXIT_REGISTERED:
        return
    import atexit
    from multiprocessing import util
    atexit.register(shutdown_kernels)
    util.Finalize(None, shutdown_kernels, exitpriority=100)  # multiprocessing children skip atexit
    _EXIT_REGISTERED = True


# ---------------------------------------------------------------------------------------------
# One job: execute → normalise → render → publish.
# ---------------------------------------------------------------------------------------------

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


def _write_nb(nb, path: Path) -> None:
    import nbformat

    from .files import atomic_write_text
    text = nbformat.writes(nb)
    atomic_write_text(path, text if text.endswith("\n") else text + "\n")  # as nbformat.write does


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
    try:
        from papermill.exceptions import PapermillExecutionError
    except ImportError:  # pragma: no cover
        PapermillExecutionError = ()  # type: ignore[assignment]
    if isinstance(exc, PapermillExecutionError):
        return f"cell {exc.cell_index} (In [{exc.exec_count}]): {exc.ename}: {_strip_ansi(str(exc.evalue))}"
    return f"{type(exc).__name__}: {_strip_ansi(str(exc))}"


def _render_in_child(executed: str, formats: tuple[str, ...], renderer: str) -> tuple[dict[str, str], int]:
    """Render in the render process; also return that process's resident memory (bytes)."""
    import psutil
    from .render import render
    produced = render(Path(executed), formats=formats, renderer=renderer)
    return {fmt: str(p) for fmt, p in produced.items()}, psutil.Process().memory_info().rss


def _render_child_init() -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle, not the renderer's
    exit_with_parent()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import papi_research.render  # noqa: F401 - imported once per render process


class RenderProcess:
    """Renders PDFs in a child process that is replaced once its memory passes ``max_rss_mb``.

    The Typst compiler keeps every compilation in an in-process cache that it never frees (about
    15-20 MB per briefing with figures), so a long batch would grow without bound if it compiled
    PDFs in the worker itself. A separate, recycled process bounds that memory and keeps the warm
    kernel; HTML (no such growth) is rendered in the worker meanwhile.
    """

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
            self.close()
            self.recycled += 1
            self.start()  # the next render process imports the renderer while the kernel works
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
        _register_exit()
    return _RENDERER


def _render(executed: Path, formats: tuple[str, ...], renderer: str) -> dict[str, Path]:
    """PDF in the render process and, at the same time, HTML here (see :class:`RenderProcess`)."""
    pending = render_process().submit(executed, ("pdf",), renderer) if "pdf" in formats else None
    produced: dict[str, Path] = {}
    try:
        rest = tuple(f for f in formats if f != "pdf")
        if rest:
            produced.update({fmt: Path(p) for fmt, p in _render_in_child(str(executed), rest, renderer)[0].items()})
    finally:
        if pending is not None:
            produced.update(render_process().collect(pending))
    return produced


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
    # already checked them (runner.notebook_parameters), so only its errors are worth showing.
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
                _execute_fresh(spec, executed, workdir)
            else:
                register_engine()
                svc = kernel_service(spec.warm)
                svc.call(pm.execute_notebook, spec.notebook, str(executed), parameters=spec.parameters,
                         engine_name=ENGINE_NAME, kernel_name=spec.warm.kernel_name, progress_bar=False,
                         request_save_on_cell_execute=False, kernel=svc.kernel, kernel_cwd=str(workdir),
                         debug_path=str(executed), execution_timeout=spec.execution_timeout)
        except Exception as exc:  # noqa: BLE001 - one province failing never stops the others
            result.error = _error_text(exc)
            _keep_failed(executed, spec, label, result)
            return result
        finally:
            result.execute_s = time.perf_counter() - t_exec
        _finalise_notebook(executed, spec, label)
        t_render = time.perf_counter()
        produced: dict[str, Path] = {}
        if spec.formats:
            try:
                produced = _render(executed, spec.formats, spec.renderer)
                missing = [f for f in spec.formats if f not in produced or not Path(produced[f]).is_file()]
                if missing:
                    raise RuntimeError(f"renderer produced no {', '.join(missing)}")
            except Exception as exc:  # noqa: BLE001
                result.error = "render: " + _error_text(exc)
                log.debug("render failed for %s\n%s", spec.key, traceback.format_exc())
                _keep_failed(executed, spec, label, result)
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


def _execute_fresh(spec: JobSpec, executed: Path, workdir: Path) -> None:
    """papermill in a new kernel of its own (on Unix sockets, see :func:`ipc_kernel_manager`)."""
    import papermill as pm
    from jupyter_core.utils import run_sync
    env_backup = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    km = ipc_kernel_manager(spec.warm.kernel_name)
    try:
        pm.execute_notebook(spec.notebook, str(executed), parameters=spec.parameters,
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


def _finalise_notebook(executed: Path, spec: JobSpec, label: str) -> None:
    import nbformat
    nb = nbformat.read(executed, as_version=4)
    normalize_notebook(nb, spec.notebook_label, label)
    if spec.run_record is not None:
        nb.metadata["papi"] = {"run": spec.run_record}  # the record the manifest can be rebuilt from
    _write_nb(nb, executed)


def _keep_failed(executed: Path, spec: JobSpec, label: str, result: JobResult) -> None:
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

