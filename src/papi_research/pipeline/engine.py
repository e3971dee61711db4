"""The ``papi-warm`` papermill engine: papermill runs a notebook in a warm kernel, through nbclient.

Registered with papermill as ``papi-warm`` (also through the ``papermill.engine`` entry point, so
``papermill -e papi-warm`` works on the command line). Unlike papermill's own engine it does not
shut the kernel down after the notebook: it resets it first
(:meth:`~papi_research.pipeline.kernel.WarmKernel.reset`) and leaves it running for the next one.
"""

from __future__ import annotations

import os
from pathlib import Path

from papi_research.pipeline.kernel import WarmSpec, default_kernel

ENGINE_NAME = "papi-warm"


def write_notebook(nb, path: Path) -> None:
    """Write ``nb`` atomically, as ``nbformat.write`` formats it."""
    import nbformat

    from papi_research.data.files import atomic_write_text
    text = nbformat.writes(nb)
    atomic_write_text(path, text if text.endswith("\n") else text + "\n")


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
        """Papermill engine running notebooks in a kept-alive, reset-between-runs kernel (``papi-warm``).

        ``finalize`` (optional): called with the executed notebook once papermill's own bookkeeping is
        done and before papermill writes it, so a caller that normalises the notebook writes it once."""

        @classmethod
        def execute_notebook(cls, nb, kernel_name, finalize=None, **kwargs):
            nb = super().execute_notebook(nb, kernel_name, **kwargs)
            if finalize is not None:
                finalize(nb)
            return nb

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
                    write_notebook(nb_man.nb, Path(debug_path))
                raise
            finally:
                kernel.notebooks_run += 1
            return nb_man.nb

    _WarmEngine.__name__ = "WarmEngine"
    _WarmEngine.__qualname__ = "WarmEngine"
    _ENGINE_CLASS = _WarmEngine
    return _WarmEngine


def __getattr__(name: str):  # the entry point ``papi_research.pipeline.engine:WarmEngine`` resolves lazily
    if name == "WarmEngine":
        return _engine_class()
    raise AttributeError(name)


def register_engine() -> None:
    """Register ``papi-warm`` with papermill (idempotent; the entry point does it too once installed)."""
    from papermill.engines import papermill_engines
    papermill_engines.register(ENGINE_NAME, _engine_class())
