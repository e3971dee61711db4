"""Test fixture: a synthetic year on the 34 provinces, built from the real 2024 data in a temporary copy.

The 34's 2024 estimates (population-weighted means of their former provinces, ``analysis.units``) moved by a
fixed, province-dependent few per cent: a file of the right shape for the tests, never a PAPI figure, never
written into ``data/``.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPI = ROOT.parent / "shared" / "papi"


def copy_data(dst: Path) -> Path:
    """A copy of the real PAPI data folder under ``dst`` (tests only; the folder name is ``papi``)."""
    folder = dst / "papi"
    shutil.copytree(PAPI, folder)
    return folder


def year34_rows(year: int = 2025, names: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a synthetic 34-province year (codes, or Vietnamese names with ``names``)."""
    from papi_research.analysis.units import unit_year_scores
    from papi_research.data.loader import load
    data = load(PAPI)
    uy = unit_year_scores(data, 2024)
    struct = data.codebook.table(year)
    header = ["Province", *struct["code"]]
    rows = []
    for i, u in enumerate(uy.units):
        factor = 1 + 0.04 * math.sin(3 * i + 1)  # moves the ranks against the estimate
        cells = [u.name_vi if names else u.code]
        for code, hi in zip(struct["code"], struct["max"]):
            est = uy.ys.subdimensions.at[u.code, code]  # no 2024 estimate: the 34's median
            est = uy.ys.subdimensions[code].median() if math.isnan(est) else est
            v = min(float(est) * factor, float(hi))
            cells.append(f"{v:.6f}")
        rows.append(cells)
    return header, rows


def write_year34(folder: Path, year: int = 2025, names: bool = False) -> Path:
    header, rows = year34_rows(year, names)
    path = folder / f"{year}.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path
