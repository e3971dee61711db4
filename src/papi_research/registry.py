"""Plug-ins by name, the way papermill finds its engines: Python entry points.

Renderers (``papi_research.renderers``) and executors (``papi_research.executors``) are declared in
``pyproject.toml``; another package adds one by declaring an entry point in the same group, and the
CLI's choices follow. Names are read from the installed metadata without importing anything, so
``papi --help`` stays fast; a plug-in's module is imported only when it is used.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from papi_research.errors import ParameterError

GROUPS = {"renderer": "papi_research.renderers", "executor": "papi_research.executors"}


@lru_cache(maxsize=None)
def _entry_points(kind: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUPS[kind])}


def names(kind: str) -> tuple[str, ...]:
    """The registered names of ``kind`` (``"renderer"`` or ``"executor"``), sorted."""
    found = tuple(sorted(_entry_points(kind)))
    if not found:
        raise RuntimeError(f"no {kind} is registered (entry point group {GROUPS[kind]!r}): "
                           "the package's metadata is missing; reinstall it (pip install -e .)")
    return found


def load(kind: str, name: str, parameter: str | None = None) -> type:
    """The class registered as ``name``; an unknown name is a :class:`ParameterError` on ``parameter``."""
    eps = _entry_points(kind)
    if name not in eps:
        raise ParameterError(parameter or kind, f"must be one of {', '.join(names(kind))}; got {name!r}")
    return eps[name].load()
