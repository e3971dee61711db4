"""Provenance of this process: the package's version and git commit, Python, and the libraries' versions.

Cheap on purpose (a briefing's record and every batch plan ask for it): the commit is read from the
checkout's ``.git`` files without starting git; only :func:`git_dirty` runs ``git status``, once per
process. Nothing here fails where the package is not a git checkout (an installed wheel, a Dask worker
with its own copy): the commit and the dirty flag are then ``None``.
"""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from papi_research import __version__
from papi_research.data.paths import PACKAGE_DIR

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill", "nbclient",
            "nbconvert", "nbformat", "ipykernel", "jinja2", "mistune", "pyyaml", "typst")
"""Libraries whose version can change a briefing (numbers, figures, HTML or PDF bytes), in the record's
``provenance.packages`` and in the batch cache key."""


def python_version() -> str:
    """``3.11.7``: the interpreter's version."""
    return ".".join(map(str, sys.version_info[:3]))


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Installed version of each of :data:`PACKAGES` (``"absent"`` when not installed), read from the
    packages' metadata without importing them."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def checkout_dir() -> Path | None:
    """The git checkout this package's code runs from (``<root>/src/papi_research``, ``<root>/.git``),
    or None (an installed package)."""
    root = PACKAGE_DIR.parent.parent
    if PACKAGE_DIR.parent.name == "src" and (root / "pyproject.toml").is_file() and (root / ".git").exists():
        return root
    return None


def _git_dir(root: Path) -> Path | None:
    """The repository folder of a checkout: ``.git`` itself, or where a worktree's ``.git`` file points."""
    dot = root / ".git"
    if dot.is_dir():
        return dot
    try:
        text = dot.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    path = Path(text[len("gitdir:"):].strip())
    return path if path.is_absolute() else (root / path).resolve()


def _read_ref(git_dir: Path, ref: str) -> str | None:
    """The commit a ref (``refs/heads/main``) names: its loose file, else the ``packed-refs`` line; a
    worktree's shared refs live in the folder its ``commondir`` names."""
    dirs = [git_dir]
    common = git_dir / "commondir"
    if common.is_file():
        try:
            c = Path(common.read_text(encoding="utf-8").strip())
            dirs.append(c if c.is_absolute() else (git_dir / c).resolve())
        except OSError:
            pass
    for d in dirs:
        loose = d / ref
        if loose.is_file():
            try:
                return loose.read_text(encoding="utf-8").strip() or None
            except OSError:
                return None
    for d in dirs:
        packed = d / "packed-refs"
        if packed.is_file():
            try:
                for line in packed.read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref and not line.startswith(("#", "^")):
                        return parts[0]
            except OSError:
                return None
    return None


def git_commit(root: Path | None = None) -> str | None:
    """The full commit id HEAD names in the checkout ``root`` (default :func:`checkout_dir`), read from
    the ``.git`` files (no git process); None outside a checkout or when HEAD cannot be read."""
    root = checkout_dir() if root is None else root
    if root is None:
        return None
    git_dir = _git_dir(root)
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    commit = _read_ref(git_dir, head[len("ref:"):].strip()) if head.startswith("ref:") else head
    if commit is None or len(commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in commit):
        return None
    return commit


def git_dirty(root: Path | None = None) -> bool | None:
    """Whether tracked files of the checkout differ from its commit (``git status``, untracked files
    ignored, as ``git describe --dirty``); None outside a checkout or when git cannot tell."""
    root = checkout_dir() if root is None else root
    if root is None:
        return None
    try:
        out = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                             cwd=root, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return bool(out.stdout.strip())


@lru_cache(maxsize=1)
def code_identity() -> dict:
    """``{"version", "commit", "dirty"}`` of the code this process runs (once per process: the code it
    imported does not change while it runs); ``commit`` and ``dirty`` are None outside a git checkout."""
    root = checkout_dir()
    commit = git_commit(root) if root is not None else None
    return {"version": __version__, "commit": commit, "dirty": git_dirty(root) if commit is not None else None}


def environment() -> dict:
    """What the record's ``provenance`` says of the environment: ``code``, ``python``, ``packages``."""
    return {"code": dict(code_identity()), "python": python_version(), "packages": dict(package_versions())}
