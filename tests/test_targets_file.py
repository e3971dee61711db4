"""`papi run --targets FILE`: per-province targets, checked row by row before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from papi_research.data.loader import load_cached
from papi_research.errors import DataValidationError
from papi_research.pipeline.plan import RunOptions, plan_run
from papi_research.pipeline.targets_file import read_targets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def papi():
    return load_cached()


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "targets.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_each_province_gets_its_own_target(tmp_path, papi):
    f = write(tmp_path, "province,target,year\nThanh Hóa,top:10,\nsonla,group:high_average,2021\n"
                        "Đồng Tháp,group:best,2019\n")
    assert read_targets(f, papi, 2021) == {"P26": "top:10", "P09": "group:high_average"}
    assert read_targets(f, papi, 2019) == {"P26": "top:10", "P56": "group:best"}
    plan = plan_run(RunOptions(provinces=("Sơn La", "Thanh Hóa", "Đồng Tháp"), year=2021, langs=("vi", "en"),
                               formats=("html",), targets=f, out=tmp_path / "out"))
    got = {j.key: j.parameters["target"] for j in plan.jobs}
    assert got == {"2021/son-la/vi": "group:high_average", "2021/son-la/en": "group:high_average",
                   "2021/thanh-hoa/vi": "top:10", "2021/thanh-hoa/en": "top:10",
                   "2021/dong-thap/vi": None, "2021/dong-thap/en": None}  # None: the next group up
    # --target is the fallback for provinces the file does not name
    plan = plan_run(RunOptions(provinces=("Đồng Tháp", "Thanh Hóa"), year=2021, formats=("html",), targets=f,
                               target="group:high_average", out=tmp_path / "out"))
    assert [j.parameters["target"] for j in plan.jobs] == ["group:high_average", "top:10"]


@pytest.mark.parametrize("text,row,column,what", [
    ("province,target\nSon La,top:99\n", 2, "target", "top:N needs 1 ≤ N ≤ 60"),
    ("province,target\nSan La,group:best\n", 2, "province", "Unknown province 'San La'"),
    ("province,goal\nSon La,group:best\n", 1, "target", "required column 'target' is missing"),
    ("province,target,year\nSon La,group:best,2030\n", 2, "year", "no PAPI data for this year"),
    ("province,target,year\nSon La,group:best,20x1\n", 2, "year", "not a year"),
    ("province,target\nsonla,group:best\nSơn La,top:3\n", 3, "province", "province given twice (already in row 2)"),
    ("province,target\nSon La,\n", 2, "target", "empty target"),
    ("province,target,note\nSon La,group:best,x\n", 1, "note", "unknown column 'note'"),
    ("province,target\nSon La,group:top\n", 2, "target", "unknown group 'top'"),
])
def test_a_bad_row_is_one_error_naming_file_row_and_column(tmp_path, papi, text, row, column, what):
    f = write(tmp_path, text)
    with pytest.raises(DataValidationError) as e:
        read_targets(f, papi, 2021)
    assert e.value.file == str(f) and e.value.row == row and e.value.column == column
    assert what in str(e.value)


def test_cli_stops_before_any_kernel_with_one_line(tmp_path):
    f = write(tmp_path, "province,target\nSon La,top:99\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "papi_research", "run", "Sơn La", "--year", "2021", "--targets", str(f),
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"error: top:N needs 1 ≤ N ≤ 60 (provinces ranked in 2021); got "
                                             f"'top:99' (file {f}, row 2, column target, value 'top:99')"]
    assert not (out / "manifest.json").exists()
    r = subprocess.run([sys.executable, "-m", "papi_research", "run", "--units", "2025", "Hưng Yên", "--year", "2024",
                        "--targets", str(write(tmp_path, "province,target\nSon La,top:9\n")), "--dry-run", "--json",
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
    assert r.returncode == 2 and "per-province targets apply to the 63 provinces" in r.stderr
