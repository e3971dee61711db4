"""The record's ``provenance``: the code, Python, libraries, data files and parameters a briefing came from.

:func:`provenance` is what :func:`papi_research.briefing.base.record` adds to every record::

    {"code": {"version", "commit", "dirty"}, "python": "3.11.7", "packages": {"pandas": "…", …},
     "data": {"version": "<PAPI data version>", "files": [{"source": "papi", "name": "2021.csv",
              "sha256": "…"}, …]},
     "parameters": {"province": "Sơn La", "year": 2021, …}}

``data.files`` names every data file the briefing reads, each with the SHA-256 of its bytes:
``source`` is the folder it comes from (``papi``: ``paths.find_papi_dir``; ``companion``:
``paths.find_companion_dir``; ``geo``: ``paths.find_geo_dir``). What each kind of briefing reads
(:data:`READS`) is checked against the files a real build opens (``tests/test_provenance.py``).
``parameters`` are the arguments its build function was called with (:func:`records_parameters`).

:func:`versions_line` is the last line of every briefing's data notes: package version, commit, data version.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

from papi_research.data.hashing import sha256_file_cached
from papi_research.data.i18n import t
from papi_research.data.provenance import environment
from papi_research.errors import PapiError

COMPANION_FILES = ("pci_2005_2019.csv", "gso_covariates_2005_2016_long.csv", "grdp_1992_2017_bn_vnd.csv")
"""The companion panels the models and the 2025 population weights read (``data.companion``)."""

READS: dict[str, dict[str, tuple[str, ...]]] = {
    # every PAPI file data.load reads (PapiData.files) comes on top of these
    "province_briefing": {"companion": COMPANION_FILES,  # context and PCI models
                          "geo": ("vietnam_provinces_63.geojson",)},  # the locator map
    "unit_briefing": {"companion": COMPANION_FILES,  # population weights, models
                      "geo": ("join_34.csv", "join_63.csv",  # 2025 membership
                              "vietnam_provinces_63.geojson")},  # the locator map of its former provinces
    "national_briefing": {"companion": COMPANION_FILES,  # population weights of the 34
                          "geo": ("join_34.csv", "join_63.csv", "vietnam_provinces_63.geojson",
                                  "vietnam_provinces_34.geojson")},  # the maps of the 63 and the 34
}
"""Data files each kind of briefing reads beyond the PAPI folder, by source folder."""

SOURCES = ("papi", "companion", "geo")


def source_dir(source: str, papi_dir: Path) -> Path | None:
    """The folder of ``source`` for the PAPI folder ``papi_dir`` (None when there is none)."""
    from papi_research.data.paths import find_companion_dir, find_geo_dir
    if source == "papi":
        return Path(papi_dir)
    try:
        return find_companion_dir(papi_dir) if source == "companion" else find_geo_dir(papi_dir)
    except PapiError:
        return None


def data_files(kind: str, data) -> list[dict]:
    """Every data file a briefing of ``kind`` on ``data`` (a ``PapiData``) reads: source, name, SHA-256;
    the PAPI files with the hashes ``data.load`` took, the others hashed now (once per process while
    unchanged). A companion or boundary folder that is absent is left out (the briefing says what it lacks)."""
    files = [{"source": "papi", "name": name, "sha256": sha} for name, sha in sorted(data.files.items())]
    for source, names in READS.get(kind, {}).items():
        folder = source_dir(source, data.directory)
        if folder is None:
            continue
        for name in names:
            path = folder / name
            if path.is_file():
                files.append({"source": source, "name": name, "sha256": sha256_file_cached(path)})
    return files


def _plain(value):
    """A parameter as JSON: a province given as an object by its Vietnamese name, numpy numbers as Python's."""
    if hasattr(value, "name_vi"):
        return value.name_vi
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def records_parameters(build):
    """Decorate a briefing's build function: the document it returns keeps the arguments it was called
    with, defaults included (``doc.parameters``; the loaded ``data`` is left out), for its record."""
    signature = inspect.signature(build)

    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        doc = build(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        doc.parameters = {k: _plain(v) for k, v in bound.arguments.items() if k != "data"}
        return doc

    return wrapper


def provenance(doc, kind: str) -> dict:
    """The record's ``provenance`` of a briefing document (see the module docstring)."""
    return {**environment(),
            "data": {"version": doc.data.version, "files": data_files(kind, doc.data)},
            "parameters": dict(getattr(doc, "parameters", None) or {})}


def code_text(code: dict, lang: str) -> str:
    """The commit as the data notes say it: its first 12 characters, whether the checkout had changes
    not committed, or that the code did not run from a git checkout."""
    if not code.get("commit"):
        return t("prov_no_commit", lang)
    key = "prov_commit_dirty" if code.get("dirty") else "prov_commit"
    return t(key, lang, commit=code["commit"][:12])


def versions_line(lang: str, data_version: str, code: dict | None = None) -> str:
    """The last line of the data notes: package version, commit (:func:`code_text`), data version."""
    code = environment()["code"] if code is None else code
    return t("prov_notes_line", lang, version=code["version"], code=code_text(code, lang),
             data_version=data_version)
