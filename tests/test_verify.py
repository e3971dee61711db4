"""``papi run`` records its provenance and ``papi verify`` checks a briefing against it, on the real data:
unchanged → 0, a changed output → 1 with the difference, a changed data byte → 2 naming the file; an
older commit or other library versions are said, not counted as a difference; same inputs, same bytes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from papi_research.briefing.display import RECORD_MIME
from papi_research.pipeline.plan import FORMATS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
STEM = "2021/son-la/son-la-2021.vi"


def papi(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papi_research", *args], capture_output=True, text=True,
                          cwd=ROOT, stdin=subprocess.DEVNULL, timeout=600)


def run_son_la(out: Path) -> None:
    done = papi("run", "Sơn La", "--year", "2021", "--lang", "vi", "--format", ",".join(FORMATS), "--jobs", "1",
                "--out", str(out))
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("published")
    run_son_la(out)
    return out


def the_record(nb) -> dict:
    return next(o["data"][RECORD_MIME] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if RECORD_MIME in o.get("data", {}))


def copy_of(published: Path, tmp_path: Path) -> Path:
    """A copy of the published briefing's notebook to alter."""
    target = tmp_path / "son-la-2021.vi.ipynb"
    shutil.copy(published / f"{STEM}.ipynb", target)
    return target


def test_the_record_of_papi_run_holds_commit_packages_and_data_files(published):
    nb = nbformat.read(published / f"{STEM}.ipynb", as_version=4)
    prov = the_record(nb)["provenance"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert prov["code"]["commit"] == head.stdout.strip()
    assert prov["packages"]["pandas"] == metadata.version("pandas")
    files = {f["name"]: f["sha256"] for f in prov["data"]["files"] if f["source"] == "papi"}
    import hashlib
    assert files["2021.csv"] == hashlib.sha256((SHARED / "papi" / "2021.csv").read_bytes()).hexdigest()
    run = json.loads((published / "manifest.json").read_text(encoding="utf-8"))["runs"][0]
    assert run["renderer"]["name"] in ("builtin", "quarto") and run["renderer"]["version"]
    assert run["inputs"]["commit"].startswith(head.stdout.strip())


def test_verify_an_unchanged_briefing_exits_0(published):
    done = papi("verify", str(published / f"{STEM}.ipynb"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 match, 0 differ, 0 cannot be verified" in done.stdout
    # the folder and the manifest name the same briefing
    assert papi("verify", str(published)).returncode == 0
    assert papi("verify", str(published / "manifest.json"), "--json").returncode == 0


def test_verify_a_changed_number_exits_1_and_prints_old_and_new(published, tmp_path):
    path = copy_of(published, tmp_path)
    nb = nbformat.read(path, as_version=4)
    changed = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            text = o.get("data", {}).get("text/markdown")
            if not changed and isinstance(text, str) and "40,14" in text and o["metadata"]["papi"]["kind"] == "md":
                o["data"]["text/markdown"] = text.replace("40,14", "40,41", 1)
                changed += 1
    assert changed == 1
    nbformat.write(nb, path)
    done = papi("verify", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DIFFERS" in done.stdout and "40,41 → 40,14" in done.stdout
    assert "§ Tỉnh đang ở đâu" in done.stdout  # the section it is in (the action brief's standing)
    assert "0 match, 1 differ" in done.stdout


def test_verify_compares_figures_by_what_they_plot(published, tmp_path):
    path = copy_of(published, tmp_path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            papi_meta = o.get("metadata", {}).get("papi", {})
            if papi_meta.get("label") == "fig-trend":
                papi_meta["plotted"]["axes"][0]["lines"][0]["y"][-1] = 40.41
    nbformat.write(nb, path)
    done = papi("verify", str(path))
    assert done.returncode == 1
    assert "figure fig-trend: plotted.axes[0].lines[0].y[3]: 40.41 → 40.14" in done.stdout


def test_verify_against_a_changed_data_byte_exits_2_naming_the_file(published, tmp_path):
    data = tmp_path / "papi"
    shutil.copytree(SHARED / "papi", data)
    os.chmod(data, 0o755)
    target = data / "2021.csv"
    target.chmod(0o644)
    raw = bytearray(target.read_bytes())
    at = raw.index(b"4", raw.index(b"\n"))  # one digit of a score (past the header)
    raw[at:at + 1] = b"3"
    target.write_bytes(bytes(raw))
    done = papi("verify", str(published / f"{STEM}.ipynb"), "--data-dir", str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "CANNOT VERIFY" in done.stdout and "data file 2021.csv has changed" in done.stdout
    assert str(target) in done.stdout
    # the same copy, unaltered bytes: verifies
    shutil.copy(SHARED / "papi" / "2021.csv", target)
    assert papi("verify", str(published / f"{STEM}.ipynb"), "--data-dir", str(data)).returncode == 0


def test_an_older_commit_and_other_versions_are_said_not_counted(published, tmp_path):
    """A briefing made at another commit with another pandas: the data notes' last line names that
    commit, the record those versions; verify says the environment differs and still exits 0."""
    from papi_research.briefing.provenance import versions_line
    path = copy_of(published, tmp_path)
    nb = nbformat.read(path, as_version=4)
    rec = the_record(nb)
    now = dict(rec["provenance"]["code"])
    then = {**now, "commit": "0123456789ab" + "c" * 28, "dirty": False}
    old_line, new_line = (versions_line("vi", rec["provenance"]["data"]["version"], c) for c in (now, then))
    rec["provenance"]["code"] = then
    rec["provenance"]["packages"]["pandas"] = "2.2.0"
    replaced = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            text = o.get("data", {}).get("text/markdown")
            if isinstance(text, str) and old_line in text:
                o["data"]["text/markdown"] = text.replace(old_line, new_line)
                replaced += 1
    assert replaced == 1
    nbformat.write(nb, path)
    done = papi("verify", str(path))
    assert done.returncode == 0, done.stdout
    assert "environment differs from the recorded one" in done.stdout
    assert f"commit 0123456789ab → {now['commit'][:12]}" in done.stdout
    assert f"pandas 2.2.0 → {metadata.version('pandas')}" in done.stdout


def test_a_notebook_without_provenance_cannot_be_verified(published, tmp_path):
    path = copy_of(published, tmp_path)
    nb = nbformat.read(path, as_version=4)
    del the_record(nb)["provenance"]
    nbformat.write(nb, path)
    done = papi("verify", str(path))
    assert done.returncode == 2 and "the record has no provenance" in done.stdout
    bad = papi("verify", str(tmp_path / "missing.ipynb"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_same_inputs_give_byte_identical_files(published, tmp_path):
    """A second run of the same briefing, in a new worker and kernel, into another folder: every file
    (executed notebook and each format) has the same bytes."""
    run_son_la(tmp_path)
    for ext in ("ipynb", *FORMATS):
        first, again = published / f"{STEM}.{ext}", tmp_path / f"{STEM}.{ext}"
        assert first.read_bytes() == again.read_bytes(), ext
