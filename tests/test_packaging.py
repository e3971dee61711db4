"""The wheel carries everything the library reads at run time: built, installed apart from the
checkout and run from an unrelated folder, the CLI gives the published figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from papi_research.data import paths

ROOT = Path(__file__).resolve().parents[1]
SHARED_PAPI = ROOT.parent / "shared" / "papi"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (built,) = out.glob("papi_research-*.whl")
    return built


def test_wheel_ships_every_runtime_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in paths.RESOURCE_KINDS:
        shipped = sorted(p.name for p in (paths.RESOURCES_DIR / kind).iterdir())
        assert shipped, kind
        for name in shipped:
            assert f"papi_research/resources/{kind}/{name}" in names
    for template in (paths.PACKAGE_DIR / "render" / "templates").rglob("*"):
        if template.is_file():
            rel = template.relative_to(paths.PACKAGE_DIR.parent).as_posix()
            assert rel in names


def test_installed_wheel_runs_from_an_unrelated_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPI_")}
    env.update(PYTHONPATH=str(target), PAPI_DATA_DIR=str(SHARED_PAPI))
    code = ("import json, sys, papi_research\n"
            "from papi_research.cli import main\n"
            "print(json.dumps({'module': papi_research.__file__}))\n"
            "sys.argv = ['papi', 'scores', 'Đồng Tháp', '--year', '2021', '--json']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, rest = done.stdout.split("\n", 1)
    assert Path(json.loads(first)["module"]).is_relative_to(target)
    card = json.loads(rest)
    assert card["total"] == pytest.approx(42.432, abs=5e-4)
    assert (card["rank"], card["n_ranked"]) == (27, 60)
    assert card["group"] is not None


def test_user_override_of_a_reference_table_is_used_and_named(tmp_path, monkeypatch):
    packaged = paths.RESOURCES_DIR / "reference" / "lead_agencies.csv"
    edited = tmp_path / "lead_agencies.csv"
    edited.write_text(packaged.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("PAPI_REFERENCE_DIR", str(tmp_path))
    assert paths.resource_file("reference", "lead_agencies.csv") == edited
    assert paths.resource_file("reference", "group_rules.csv") == paths.RESOURCES_DIR / "reference" / "group_rules.csv"
    assert paths.overrides() == [edited]
