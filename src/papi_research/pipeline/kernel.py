"""The warm Jupyter kernel a worker keeps alive across notebooks, and the thread that owns it.

Starting a kernel and importing pandas, statsmodels, seaborn and the package costs seconds per
province. A :class:`WarmKernel` is started once per worker process and warmed up
(:func:`papi_research.pipeline.warmup.warm`), then runs notebook after notebook, reset between two
(:func:`papi_research.pipeline.warmup.reset`) so that each one's outputs equal a fresh kernel's:
``%reset -f`` (user namespace, ``In``/``Out``), execution counter back to 1, figures closed,
matplotlib ``rcParams``, pandas and numpy options, warning filters (and the "already shown"
registries), ``sys.path`` and environment restored to the snapshot taken after warm-up (display
formatters are left alone: modules register theirs once and remember it), and the working directory
set to the run's own fresh folder. :class:`KernelService` is the one thread that talks to it.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable

from papi_research.data.text import strip_ansi
from papi_research.render.process import call_at_exit

log = logging.getLogger("papi_research.pipeline.kernel")

MAX_SOCKET_PATH = 103  # bytes in a Unix socket address: 107 on Linux, 103 on macOS
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
WARMUP_MODULE = "papi_research.pipeline.warmup"


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
        code = (f"__import__({WARMUP_MODULE!r}, fromlist=['_']).warm"
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
            raise KernelSetupError(f"code failed in the warm kernel:\n{strip_ansi(tb)}")
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
        self.run_code(f"__import__({WARMUP_MODULE!r}, fromlist=['_']).reset({cwd!r})")


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
            call_at_exit(shutdown_kernels)
        return svc


def default_kernel(spec: WarmSpec) -> WarmKernel:
    """For ``papermill -e papi-warm``: a kernel owned by the calling thread, kept for the process."""
    with _SERVICES_LOCK:
        k = _PLAIN.get(spec)
        if k is None:
            k = _PLAIN[spec] = WarmKernel(spec).start()
            call_at_exit(shutdown_kernels)
        return k


_PLAIN: dict[WarmSpec, WarmKernel] = {}


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


def abandon_kernels() -> None:
    """Kill this process's kernels at once, without waiting for a running notebook.

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
    # not a plain `with`: the thread that holds the lock may be this one (a signal handler that
    # interrupted a kernel start) or a busy main thread, and a process on its way out must not wait
    if _SERVICES_LOCK.acquire(timeout=1.0):
        try:
            _SERVICES.clear()
        finally:
            _SERVICES_LOCK.release()
        _PLAIN.clear()

