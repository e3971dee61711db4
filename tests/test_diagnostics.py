"""Model diagnostics on the real data: influence, serial correlation, weight sensitivity, measurement error,
and the researcher notebook that shows them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from papi_research.analysis import diagnostics
from papi_research.analysis.drivers import drivers_report
from papi_research.analysis.models import context_national
from papi_research.data.loader import load_cached

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return load_cached()


@pytest.fixture(scope="module")
def report(data):
    return drivers_report(data, "Sơn La", 2021)


def test_influence_measures(data):
    inf = diagnostics.influence(data, 2021, "context")
    rows, X = context_national(data, 2021).designs["total"]
    assert len(inf) == len(rows)
    assert inf["leverage"].sum() == pytest.approx(X.shape[1])  # the trace of the hat matrix is k
    assert (inf["cooks_d"] >= 0).all() and list(inf["cooks_d"]) == sorted(inf["cooks_d"], reverse=True)
    per = diagnostics.influence(data, 2021, "persistence")
    assert per["year"].min() == 2019  # pairs 2018→2019 onwards, inside the regime
    with pytest.raises(ValueError, match="model"):
        diagnostics.influence(data, 2021, "nonsense")


def test_serial_correlation(data, report):
    sc = diagnostics.serial_correlation(data, report)
    tr = sc["trend"]
    assert "total" in tr["outcome"].tolist() and tr["durbin_watson"].between(0, 4).all()
    assert sc["persistence"]["pairs"] > 50 and -1 <= sc["persistence"]["residual_correlation"] <= 1


def test_weight_sensitivity_matches_the_priority_table(report):
    ws = diagnostics.weight_sensitivity(report)
    lines = report.priorities.lines
    assert ws["code"].tolist()[:len(lines)] == [ln["code"] for ln in lines]  # default weights = the table's order
    k = len(lines)
    for ln in lines:
        assert ws.set_index("code").at[ln["code"], f"stability_top{k}"] == pytest.approx(ln["stability"])


def test_measurement_error_view(data):
    me = diagnostics.measurement_error(data, 2019).set_index("outcome")
    assert (me["reliability"] < 1).all()
    # the 2019 total: noise variance ≈ SE² (median 0.37²) against a cross-province variance of a few points²
    assert me.at["total", "reliability"] > 0.8
    # with SE = width/3.29 (issue 21), dimension 5's assumed error (the total's over √8) exceeds its 2019
    # spread across provinces: its differences are within the noise, and no correction is made
    assert me.at["D5", "reliability"] < 0 and np.isnan(me.at["D5", "persistence_corrected"])
    ok = me[me["reliability"] > 0]
    b = ok["persistence"].dropna()
    assert np.allclose(ok.loc[b.index, "persistence_corrected"], b / ok.loc[b.index, "reliability"])


@pytest.mark.slow
def test_drivers_research_notebook_executes(tmp_path):
    import papermill as pm
    out = tmp_path / "dr.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "drivers_research.ipynb"), str(out),
                        parameters={"province": "Hưng Yên", "year": 2019}, kernel_name="python3",
                        progress_bar=False, cwd=str(ROOT / "notebooks"))
    nb = nbformat.read(out, 4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "cooks_d" in text and "reliability" in text and "stability_top" in text
