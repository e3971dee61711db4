"""Tests of the warm-kernel engine: outputs equal a fresh kernel's, state is reset, timeouts recover."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from papi_research.pipeline.engine import ENGINE_NAME
from papi_research.pipeline.jobs import normalize_notebook
from papi_research.pipeline.plan import RunOptions
from papi_research.pipeline.run import run

PARAMETERS_CELL = ('province = "Sơn La"\nyear = None\ncomparison_year = None\nlang = "vi"\n'
                   'target = "group:high_average"\ndata_dir = None\n')

# Prints every piece of global state a notebook can change, then changes all of it: a warm kernel
# that is not reset properly shows the previous province's changes in the next province's output.
FINGERPRINT = """\
import os, sys, warnings
import numpy as np, pandas as pd, matplotlib as mpl
print(mpl.rcParams['figure.figsize'], mpl.rcParams['axes.facecolor'], pd.get_option('display.precision'),
      np.get_printoptions()['precision'], os.environ.get('PAPI_LEAK'), sys.path[-1] == '/leak',
      any(f[0] == 'ignore' and f[1] is None and f[2] is Warning for f in warnings.filters), os.path.basename(os.getcwd()).startswith('papi-run-'), sorted(os.listdir('.')))
print(sorted(k for k in globals() if not k.startswith('_')))
"""
MUTATE = """\
import seaborn as sns
sns.set_theme(style='darkgrid')
mpl.rcParams['figure.figsize'] = (2.5, 1.5)
pd.set_option('display.precision', 1)
np.set_printoptions(precision=1)
os.environ['PAPI_LEAK'] = province
sys.path.append('/leak')
warnings.simplefilter('ignore')
with open('scratch.txt', 'w', encoding='utf-8') as fh:
    fh.write(province)
leak = province
"""
SHOW = """\
from papi_research.data.loader import load_cached
from papi_research.analysis.scores import scorecard
card = scorecard(load_cached(data_dir), province, year)
df = card.dimension_table()[['number', 'score', 'national_median']]
display(df)
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.barh(df['number'].astype(str), df['score'])
plt.show()
np.array([card.total / 3])
"""


def make_state_notebook(path: Path, sleep_for: str | None = None) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell(PARAMETERS_CELL)
    params.metadata["tags"] = ["parameters"]
    cells = [params, new_code_cell(FINGERPRINT), new_code_cell(SHOW), new_code_cell(MUTATE), new_code_cell(SHOW)]
    if sleep_for:
        cells.insert(1, new_code_cell(f"import time\nif province == {sleep_for!r}:\n    time.sleep(60)"))
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def _cells(path: Path) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    return [{k: c.get(k) for k in ("cell_type", "source", "execution_count", "outputs")} for c in nb.cells]


def test_warm_kernel_outputs_equal_fresh_kernels(tmp_path):
    nb = make_state_notebook(tmp_path / "state.ipynb")
    provinces = ("Sơn La", "Hà Nội", "Đồng Tháp")
    common = dict(provinces=provinces, year=2024, notebook=nb, formats=("ipynb",), jobs=1)
    warm = run(RunOptions(out=tmp_path / "warm", **common), progress=False, echo=lambda s: None)
    fresh = run(RunOptions(out=tmp_path / "fresh", fresh=True, **common), progress=False, echo=lambda s: None)
    assert warm.exit_code == 0 and fresh.exit_code == 0, warm.text() + fresh.text()
    # one worker, one kernel: the second and third provinces ran after the first one changed everything
    assert len({r.pid for r in warm.results}) == 1
    for r in warm.records:
        rel = r.outputs["ipynb"]
        a, b = tmp_path / "warm" / rel, tmp_path / "fresh" / rel
        assert _cells(a) == _cells(b), rel
        na, nb_ = nbformat.read(a, as_version=4), nbformat.read(b, as_version=4)
        assert na.metadata == nb_.metadata
        first = na.cells[2].outputs[0]["text"]  # [0] parameters, [1] injected-parameters
        assert "None False False True []" in first and "True ['scratch.txt']" not in first  # clean env, empty fresh folder
    counts = [c["execution_count"] for c in _cells(tmp_path / "warm" / warm.records[-1].outputs["ipynb"])]
    assert counts == [1, 2, 3, 4, 5, 6]  # papermill's injected-parameters cell included


def test_a_timed_out_notebook_fails_alone_and_the_kernel_recovers(tmp_path):
    nb = make_state_notebook(tmp_path / "slow.ipynb", sleep_for="Cao Bằng")
    summary = run(RunOptions(provinces=("Cao Bằng", "Sơn La"), year=2024, notebook=nb, formats=("ipynb",), jobs=1,
                             out=tmp_path / "out", execution_timeout=3), progress=False, echo=lambda s: None)
    status = {r.key: r for r in summary.records}
    assert status["2024/cao-bang/vi"].status == "failed"
    assert "Timeout" in status["2024/cao-bang/vi"].error
    assert status["2024/son-la/vi"].status == "ok"
    assert summary.exit_code == 1


def test_papermill_command_line_uses_the_registered_engine(tmp_path):
    nb = make_state_notebook(tmp_path / "state.ipynb")
    out = tmp_path / "out.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", "--engine", ENGINE_NAME, "--no-progress-bar",
                           str(nb), str(out), "-p", "province", "Hà Giang", "-p", "year", "2024"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path,
                          env={**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    executed = nbformat.read(out, as_version=4)
    assert executed.metadata.papermill.parameters["province"] == "Hà Giang"
    assert any("image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", []))


def test_normalize_notebook_drops_timings_and_temporary_paths():
    nb = new_notebook(cells=[new_code_cell("1")])
    nb.metadata["papermill"] = {"start_time": "2025-01-01T00:00:00", "end_time": "x", "duration": 1.2,
                                "input_path": "/tmp/a.ipynb", "output_path": "/tmp/staging/x.ipynb"}
    nb.cells[0].metadata["papermill"] = {"start_time": "t", "end_time": "t", "duration": 0.1, "status": "completed"}
    nb.cells[0].metadata["execution"] = {"iopub.status.busy": "t"}
    normalize_notebook(nb, "notebooks/a.ipynb", "2024/son-la/son-la-2024.vi.ipynb")
    assert nb.metadata.papermill == {"start_time": None, "end_time": None, "duration": None,
                                     "input_path": "notebooks/a.ipynb",
                                     "output_path": "2024/son-la/son-la-2024.vi.ipynb"}
    assert nb.cells[0].metadata == {"papermill": {"start_time": None, "end_time": None, "duration": None,
                                                  "status": "completed"}}


@pytest.mark.slow
def test_fast_path_briefings_equal_fresh_kernel_briefings(tmp_path):
    """The real notebook, two provinces in both languages: warm-kernel briefings (where the second
    language takes the analysis the first computed) are the fresh-kernel briefings."""
    common = dict(provinces=("Sơn La", "Đồng Tháp"), year=2024, langs=("vi", "en"), formats=("html", "pdf"))
    # one warm kernel runs all three in turn; the fresh path starts a kernel per province
    warm = run(RunOptions(out=tmp_path / "warm", jobs=1, **common), progress=False, echo=lambda s: None)
    fresh = run(RunOptions(out=tmp_path / "fresh", fresh=True, jobs=2, **common), progress=False, echo=lambda s: None)
    assert warm.exit_code == 0 and fresh.exit_code == 0, warm.text() + fresh.text()
    assert len(warm.records) == 4
    for r in warm.records:
        for fmt in ("ipynb", "html", "pdf"):
            rel = r.outputs[fmt]
            a, b = (tmp_path / "warm" / rel).read_bytes(), (tmp_path / "fresh" / rel).read_bytes()
            assert a == b, f"{rel} differs between the warm and the fresh kernel"
