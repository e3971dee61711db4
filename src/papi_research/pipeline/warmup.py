"""Code that runs inside a warm kernel: warm-up, snapshot and reset.

The worker calls these through ``__import__('papi_research.pipeline.warmup')`` (see
:class:`~papi_research.pipeline.kernel.WarmKernel`) so that nothing is left in the notebook's
namespace. :func:`warm` imports the heavy libraries and every module of the data, analysis and
briefing packages, loads the data and fits the national models of the years to run (the library
caches them per data version and year); :func:`snapshot` remembers the global state a notebook may
change and :func:`reset` restores it between two notebooks, so each one's outputs equal a fresh
kernel's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Modules imported once per warm kernel (those that do not exist yet are skipped).
WARM_LIBRARIES = ("numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "statsmodels.api",
                  "statsmodels.formula.api", "IPython.display")
# Every module of these packages is imported once per warm kernel (not the batch machinery or the CLI).
WARMED_PACKAGES = ("papi_research.data", "papi_research.analysis", "papi_research.briefing")


def package_modules() -> tuple[str, ...]:
    """The package's modules a notebook may use: those of :data:`WARMED_PACKAGES`."""
    import importlib
    import pkgutil
    names: list[str] = []
    for pkg in WARMED_PACKAGES:
        mod = importlib.import_module(pkg)
        names += [pkg] + [f"{pkg}.{m.name}" for m in pkgutil.iter_modules(mod.__path__)]
    return tuple(names)


_SNAPSHOT: dict[str, Any] = {}
MODEL_CACHE_KEEP = 8
"""How many saved sets of national fits :func:`save_fits` keeps (the most recent)."""


def model_cache_file(data) -> Path:
    """Where the national fits for this data are kept between runs: a file in
    ``paths.cache_dir()/models`` named after everything that changes a fit (data version, companion
    files, the package's code and reference tables, library versions), so a change of any of them is a
    new file and an old one is never used for new inputs."""
    from papi_research.data.paths import cache_dir, find_companion_dir
    from papi_research.pipeline.manifest import companion_hash, library_versions, sha256_json, source_hash
    try:
        companion = companion_hash(find_companion_dir(data.directory))
    except Exception:  # noqa: BLE001 - no companion panels: the models say so; the key says "none"
        companion = "none"
    key = sha256_json({"data": data.version, "companion": companion, "source": source_hash(),
                       "versions": library_versions()})[:24]
    return cache_dir() / "models" / f"national-{key}.pickle"


def load_fits(path: Path) -> set[int]:
    """Restore the national fits saved in ``path``; return the report years they were fitted for (none
    when there is no such file or it cannot be read)."""
    import pickle

    from papi_research.analysis.models import restore_national_fits
    try:
        with open(path, "rb") as fh:
            saved = pickle.load(fh)
        restore_national_fits(saved["fits"])
        return {int(y) for y in saved["years"]}
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, KeyError,
            ValueError):
        return set()


def save_fits(path: Path, years: set[int]) -> None:
    """Save this process's national fits, fitted for the report ``years``, to ``path`` (atomically; a
    failure only costs the next run time)."""
    import pickle

    from papi_research.analysis.models import national_fits
    from papi_research.data.files import atomic_write_bytes
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, pickle.dumps({"years": sorted(years), "fits": national_fits()},
                                              protocol=pickle.HIGHEST_PROTOCOL))
        kept = sorted(path.parent.glob("national-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[MODEL_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def warm(data_dir: str | None, years: list[int], target: str, province: str | None) -> list[str]:
    """Import the heavy libraries, load the data and fit the national models; return notes of what failed."""
    import importlib
    import io
    notes: list[str] = []
    for name in WARM_LIBRARIES + package_modules():
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
        from papi_research.analysis.drivers import drivers_report
        from papi_research.analysis.scores import year_scores
        from papi_research.data.loader import load_cached
        data = load_cached(data_dir)
        for y in years:
            year_scores(data, y)
        if province is not None:
            # the national fits of the years the saved file has are loaded; the others are fitted (through
            # one province's report) and the file saved again with them
            saved = model_cache_file(data)
            covered = load_fits(saved)
            missing = [y for y in years if y not in covered]
            for y in missing:
                try:
                    drivers_report(data, province, year=y, target=target)
                except Exception as exc:  # noqa: BLE001 - the notebook will report real errors
                    notes.append(f"drivers {y}: {exc}")
            if missing:
                save_fits(saved, covered | set(missing))
    except Exception as exc:  # noqa: BLE001
        notes.append(f"data: {exc}")
    snapshot()
    return notes


def snapshot() -> None:
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
    # (papi_research.briefing.figures does), so undoing a registration would change the next notebook's output.


def reset(cwd: str) -> None:
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
    gc.collect()  # the notebook's garbage only: the warm state is frozen (see snapshot)


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
