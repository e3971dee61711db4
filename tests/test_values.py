"""Missing values and JSON: one translation for every module."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from papi_research.data.values import integer, jsonable, num


def test_missing_cells_become_none_and_numbers_plain_python():
    assert [num(v) for v in (None, np.nan, pd.NA, 42.432, np.float32(1.5), 3)] == [None, None, None, 42.432, 1.5, 3.0]
    assert [integer(v) for v in (None, np.nan, pd.NA, np.int64(27), 27.0)] == [None, None, None, 27, 27]
    assert type(num(np.float64(2.0))) is float and type(integer(np.int64(2))) is int


def test_jsonable_gives_strict_json():
    obj = {"total": np.float64(42.432), "rank": np.int64(27), "ok": np.bool_(True), "nan": np.nan,
           "inf": math.inf, "ninf": -np.inf, "na": pd.NA, "nat": pd.NaT, 5: (1, np.int32(2))}
    out = jsonable(obj)
    assert out == {"total": 42.432, "rank": 27, "ok": True, "nan": None, "inf": None, "ninf": None,
                   "na": None, "nat": None, "5": [1, 2]}
    json.dumps(out, allow_nan=False)  # raises if anything non-finite were left
