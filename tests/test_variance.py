"""Variance shares: cov(x_d, T)/var(T) sums to 1 and matches numpy; percentiles are sane."""

from __future__ import annotations

import numpy as np
import pytest

from papi_research.analysis.scores import year_scores
from papi_research.analysis.variance import variance_decomposition, variance_shares
from papi_research.data.loader import load_cached


@pytest.fixture(scope="module")
def data():
    return load_cached()


@pytest.mark.parametrize("year", [2011, 2015, 2018, 2021, 2024])
def test_shares_sum_to_one_and_match_numpy(data, year):
    v = variance_decomposition(data, year, "Sơn La")
    assert v.by_dimension["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert v.by_subdimension["share"].sum() == pytest.approx(1.0, abs=1e-12)
    ys = year_scores(data, year)
    ranked = ys.provinces["total"].dropna().index
    dims = ys.dimensions.loc[ranked].to_numpy()
    total = ys.provinces.loc[ranked, "total"].to_numpy()
    for j, share in enumerate(v.by_dimension["share"]):
        assert share == pytest.approx(np.cov(dims[:, j], total)[0, 1] / np.var(total, ddof=1), rel=1e-10)
    assert v.n == ys.n_ranked
    # sub-dimension shares add up to their dimension's share
    by_dim = v.by_subdimension.groupby("dimension")["share"].sum()
    assert np.allclose(by_dim.to_numpy(), v.by_dimension["share"].to_numpy(), atol=1e-12)


def test_percentiles(data):
    v = variance_decomposition(data, 2024, "Sơn La")
    assert v.by_dimension["percentile"].between(0, 100).all()
    ys = year_scores(data, 2024)
    s = ys.dimensions[1].dropna()
    x = ys.dimensions.at["P09", 1]
    assert v.by_dimension["percentile"].iloc[0] == pytest.approx(100 * (s <= x).mean())
    missing = variance_decomposition(data, 2024, "Vĩnh Phúc")
    assert missing.by_dimension["percentile"].isna().all()
    assert missing.to_dict()["by_dimension"][0]["percentile"] is None


def test_variance_shares_small_frame():
    import pandas as pd
    parts = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 2.0, 1.0, 1.0]})
    s = variance_shares(parts)
    t = parts.sum(axis=1)
    assert s["a"] == pytest.approx(np.cov(parts["a"], t)[0, 1] / t.var())
    assert s.sum() == pytest.approx(1.0)
    assert s["b"] < 0  # moves against the total
