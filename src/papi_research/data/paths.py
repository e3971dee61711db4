"""Where things live: the data directories, the packaged reference tables and catalogue, outputs.

Reference tables (``resources/reference/*.csv``) and the translation catalogue
(``resources/i18n/*.yml``) ship inside the package, so a plain ``pip install`` works from any
folder. A user overrides one by putting an edited copy under the same name in ``data/reference/``
or ``data/i18n/`` of the project (or in ``$PAPI_REFERENCE_DIR`` / ``$PAPI_I18N_DIR``); the
override is used whole and :func:`overrides` names it, so outputs can say which file they used.

Search order for the PAPI data directory (first hit wins):

1. an explicit ``data_dir`` argument (the CLI's ``--data-dir``);
2. the environment variable ``PAPI_DATA_DIR``;
3. ``<project>/data/raw/papi``;
4. ``<project>/../shared/papi``.

The companion panels are looked up the same way with ``PAPI_COMPANION_DIR``, then a
``companion`` folder beside the PAPI data directory, ``<project>/data/raw/companion`` and
``<project>/../shared/companion``.
"""

from __future__ import annotations

import os
from pathlib import Path

from papi_research.errors import DataNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parents[1]


RESOURCES_DIR = PACKAGE_DIR / "resources"
RESOURCE_KINDS = {"reference": "PAPI_REFERENCE_DIR", "i18n": "PAPI_I18N_DIR"}


def project_dir() -> Path:
    """The project checkout (the folder holding ``pyproject.toml``), or the working directory."""
    env = os.environ.get("PAPI_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "papi_research").is_dir():
            return parent
    return Path.cwd()


def cache_dir() -> Path:
    """Where fitted national models are kept between runs: ``$PAPI_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/papi-research``, else ``~/.cache/papi-research`` (safe to delete at any time)."""
    env = os.environ.get("PAPI_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "papi-research"


def _override_dir(kind: str) -> Path:
    env = os.environ.get(RESOURCE_KINDS[kind])
    return Path(env) if env else project_dir() / "data" / kind


def resource_file(kind: str, name: str) -> Path:
    """The file ``name`` of ``kind`` (``"reference"`` or ``"i18n"``): the user's edited copy if
    there is one, else the copy shipped in the package."""
    if kind not in RESOURCE_KINDS:
        raise ValueError(f"unknown resource kind {kind!r}; expected one of {sorted(RESOURCE_KINDS)}")
    override = _override_dir(kind) / name
    if override.is_file():
        return override
    return RESOURCES_DIR / kind / name


def resource_files(kind: str, pattern: str) -> list[Path]:
    """Every file of ``kind`` matching ``pattern`` (packaged names, each resolved through overrides)."""
    names = sorted(p.name for p in (RESOURCES_DIR / kind).glob(pattern))
    return [resource_file(kind, name) for name in names]


def overrides() -> list[Path]:
    """The user's edited copies that replace packaged files in this environment."""
    out = []
    for kind in RESOURCE_KINDS:
        for packaged in sorted((RESOURCES_DIR / kind).iterdir()):
            path = resource_file(kind, packaged.name)
            if path != packaged:
                out.append(path)
    return out


def _candidates_papi(data_dir: str | os.PathLike | None) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    if data_dir is not None:
        out.append(("--data-dir", Path(data_dir)))
        return out
    env = os.environ.get("PAPI_DATA_DIR")
    if env:
        out.append(("PAPI_DATA_DIR", Path(env)))
        return out
    root = project_dir()
    out.append(("project default", root / "data" / "raw" / "papi"))
    out.append(("shared default", root.parent / "shared" / "papi"))
    return out


def find_papi_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the PAPI data directory or raise an error listing where we looked."""
    tried = _candidates_papi(data_dir)
    for _, path in tried:
        if path.is_dir():
            return path.resolve()
    looked = "\n".join(f"  - {p} ({how})" for how, p in tried)
    raise DataNotFoundError(
        "PAPI data directory not found. Looked in:\n" + looked + "\n"
        "Point at it with --data-dir DIR or the environment variable PAPI_DATA_DIR "
        "(a folder holding 2011.csv ... 2024.csv, provinces.csv, labels_official_2011_2019.csv "
        "and missing_official_status.csv)."
    )


def find_companion_dir(papi_dir: Path | None = None, companion_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the companion-panel directory or raise an error listing where we looked."""
    tried = _beside_papi(companion_dir, "--companion-dir", "PAPI_COMPANION_DIR", papi_dir, "companion")
    return _first_dir(tried, "Companion data directory", "Point at it with the environment variable PAPI_COMPANION_DIR.")


def _beside_papi(explicit, explicit_label: str, env_var: str, papi_dir: Path | None, folder: str) -> list[tuple[str, Path]]:
    """Where a folder of shared data is looked for: the explicit path, else the environment variable, else
    ``<folder>`` beside the PAPI data, ``<project>/data/raw/<folder>`` and ``<project>/../shared/<folder>``."""
    if explicit is not None:
        return [(explicit_label, Path(explicit))]
    if os.environ.get(env_var):
        return [(env_var, Path(os.environ[env_var]))]
    tried: list[tuple[str, Path]] = []
    if papi_dir is not None:
        tried.append(("beside the PAPI data", Path(papi_dir).parent / folder))
    root = project_dir()
    tried.append(("project default", root / "data" / "raw" / folder))
    tried.append(("shared default", root.parent / "shared" / folder))
    return tried


def _first_dir(tried: list[tuple[str, Path]], what: str, hint: str) -> Path:
    """The first existing folder of ``tried`` (resolved), or an error listing every place looked in."""
    for _, path in tried:
        if path.is_dir():
            return path.resolve()
    looked = "\n".join(f"  - {p} ({how})" for how, p in tried)
    raise DataNotFoundError(f"{what} not found. Looked in:\n" + looked + "\n" + hint)


def find_geo_dir(papi_dir: Path | None = None, geo_dir: str | os.PathLike | None = None) -> Path:
    """Resolve the boundary folder (``vietnam_provinces_63.geojson``, ``join_34.csv`` …) or raise an
    error listing where we looked: ``geo_dir``, else ``PAPI_GEO_DIR``, else a ``geo`` folder beside the
    PAPI data, ``<project>/data/raw/geo`` and ``<project>/../shared/geo``."""
    tried = _beside_papi(geo_dir, "geo_dir", "PAPI_GEO_DIR", papi_dir, "geo")
    return _first_dir(tried, "Boundary (geo) data directory",
                      "Point at it with the environment variable PAPI_GEO_DIR (a folder holding "
                      "vietnam_provinces_63.geojson, vietnam_provinces_34.geojson, join_63.csv and join_34.csv).")
