"""The lock file: it pins every requirement of pyproject.toml (with hashes), the environment the tests run in
is the lock's, and make, CI and conda install from it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from papi_research.data.provenance import PACKAGES

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"


def locked() -> dict[str, tuple[str, int]]:
    """name → (pinned version, number of hashes) of every package in the lock."""
    text = LOCK.read_text(encoding="utf-8")
    out = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\;]+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (m.group(2), len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block)))
    return out


def test_the_lock_pins_every_requirement_of_pyproject_within_its_range_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]
              + project["optional-dependencies"]["lab"]]
    pins = locked()
    assert len(pins) > 100  # the whole tree, not only the direct requirements
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in {LOCK.name}: run make lock"
        version, hashes = pins[name]
        assert req.specifier.contains(version, prereleases=True), (str(req), version)
    assert all(n >= 1 for _, n in pins.values()), [k for k, (_, n) in pins.items() if n < 1]
    assert "python-docx" in pins and "hypothesis" in pins
    assert "quarto-cli" not in pins  # the quarto extra downloads a binary: not part of the locked environment


def test_the_libraries_that_shape_a_briefing_are_the_locked_versions():
    pins = locked()
    for name in PACKAGES:
        assert metadata.version(name) == pins[canonicalize_name(name)][0], name
    assert metadata.version("pandas") == pins["pandas"][0]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_installs_the_lock_with_uv_and_make_lock_refreshes_it(tmp_path):
    for name in ("Makefile", "pyproject.toml", LOCK.name):
        shutil.copy(ROOT / name, tmp_path / name)
    env_plan = subprocess.run(["make", "-n", "env"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert re.search(r"uv pip install .*--require-hashes -r requirements-lock\.txt", env_plan), env_plan
    assert re.search(r"uv pip install .*--no-deps -e \.", env_plan), env_plan
    assert "uv pip check" in env_plan
    lock_plan = subprocess.run(["make", "-n", "lock"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert re.search(r"uv pip compile pyproject\.toml --extra test --extra lab --upgrade --generate-hashes", lock_plan)
    assert "--python-version 3.11 --python-platform linux --no-config" in lock_plan
    assert "-o requirements-lock.txt" in lock_plan
    conda = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_part = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert pip_part == ["--require-hashes", "-r requirements-lock.txt"]
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
