"""Missing-aware conversions shared by every module: table cells to Python numbers, results to JSON.

pandas and numpy mark a missing value as ``NaN``, ``pd.NA`` or ``pd.NaT``; JSON has only ``null``
and no infinities. These three functions are the one place that translation happens.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def num(x) -> float | None:
    """A cell as ``float``, or ``None`` when it is missing (``None``, NaN, NA)."""
    return None if x is None or pd.isna(x) else float(x)


def integer(x) -> int | None:
    """A cell as ``int``, or ``None`` when it is missing."""
    return None if x is None or pd.isna(x) else int(x)


def jsonable(obj):
    """A JSON-ready copy, recursively: numpy scalars to Python, NaN/NA/NaT and ±inf to ``None``,
    tuples to lists, keys to strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    return obj
