"""Provenance: the commit read from .git files (checkouts, worktrees, packed refs, none), the record's
provenance on the real data, the files each kind of briefing reads, the data notes' last line, and what a
figure plots."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from papi_research.briefing import figures
from papi_research.briefing import provenance as bp
from papi_research.briefing.base import record
from papi_research.data import provenance as dp
from papi_research.data.i18n import t

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_read_from_the_git_files_is_git_rev_parse_head():
    assert dp.checkout_dir() == ROOT
    assert dp.git_commit() == git("rev-parse", "HEAD", cwd=ROOT)
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", cwd=ROOT))
    assert dp.git_dirty() is dirty


def test_commit_and_dirty_in_a_fresh_repository_a_worktree_and_after_pack_refs(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "a.txt").write_text("one\n")
    git("add", "a.txt", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "one", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    assert dp.git_commit(repo) == head and dp.git_dirty(repo) is False
    (repo / "a.txt").write_text("two\n")
    assert dp.git_dirty(repo) is True
    (repo / "new.txt").write_text("untracked files do not make a checkout dirty\n")
    git("checkout", "-q", "a.txt", cwd=repo)
    assert dp.git_dirty(repo) is False
    git("pack-refs", "--all", cwd=repo)
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert dp.git_commit(repo) == head
    git("worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"), cwd=repo)
    assert (tmp_path / "wt" / ".git").is_file()
    assert dp.git_commit(tmp_path / "wt") == head
    git("checkout", "-q", "--detach", cwd=repo)
    assert dp.git_commit(repo) == head


def test_no_commit_outside_a_checkout(tmp_path, monkeypatch):
    assert dp.git_commit(tmp_path) is None and dp.git_dirty(tmp_path) is None
    # an installed package (site-packages/papi_research) is no checkout, whatever the working directory
    installed = tmp_path / "lib" / "site-packages" / "papi_research"
    installed.mkdir(parents=True)
    monkeypatch.setattr(dp, "PACKAGE_DIR", installed)
    monkeypatch.chdir(ROOT)
    assert dp.checkout_dir() is None
    dp.code_identity.cache_clear()
    try:
        assert dp.code_identity() == {"version": metadata.version("papi-research"), "commit": None, "dirty": None}
        assert bp.code_text(dp.code_identity(), "en") == t("prov_no_commit", "en")
    finally:
        dp.code_identity.cache_clear()


@pytest.fixture(scope="module")
def son_la():
    from papi_research.briefing.province import build
    return build("Sơn La", year=2021, lang="en")


def test_the_record_holds_code_packages_data_files_and_parameters(son_la):
    prov = record(son_la)["provenance"]
    assert prov["code"]["commit"] == git("rev-parse", "HEAD", cwd=ROOT)
    assert prov["code"]["version"] == metadata.version("papi-research")
    assert prov["python"] == ".".join(map(str, sys.version_info[:3]))
    assert prov["packages"]["pandas"] == metadata.version("pandas")
    assert set(dp.PACKAGES) <= set(prov["packages"])
    files = {(f["source"], f["name"]): f["sha256"] for f in prov["data"]["files"]}
    assert files[("papi", "2021.csv")] == hashlib.sha256((SHARED / "papi" / "2021.csv").read_bytes()).hexdigest()
    assert files[("geo", "vietnam_provinces_63.geojson")] == hashlib.sha256(
        (SHARED / "geo" / "vietnam_provinces_63.geojson").read_bytes()).hexdigest()
    assert prov["data"]["version"] == son_la.data.version
    assert prov["parameters"] == {"province": "Sơn La", "year": 2021, "comparison_year": None, "lang": "en",
                                  "target": None, "data_dir": None}
    json.dumps(record(son_la), allow_nan=False)  # JSON as it is stored in the notebook


def test_the_data_notes_end_with_version_commit_and_data_version_in_both_languages(son_la):
    from papi_research.briefing.province import build
    vi = build("Sơn La", year=2021, lang="vi", data=son_la.data)
    commit = dp.git_commit()[:12]
    for b, word in ((son_la, "Made with papi-research"), (vi, "Báo cáo được lập bằng papi-research")):
        last = b.notes.blocks[-1].text
        assert last == bp.versions_line(b.lang, b.data.version)
        assert last.startswith(word) and commit in last and b.data.version in last
    dirty = {"version": "0.1.0", "commit": "a" * 40, "dirty": True}
    assert bp.versions_line("vi", "v1", dirty) == ("Báo cáo được lập bằng papi-research phiên bản 0.1.0 (mã commit "
                                                   "aaaaaaaaaaaa, có thay đổi chưa được commit); phiên bản dữ liệu v1.")


def test_a_figure_carries_the_numbers_and_words_it_plots(son_la):
    fig = son_la.figure("trend")
    figures.to_image(fig)
    plotted = figures.plotted(fig)
    province_line = plotted["axes"][0]["lines"][0]
    assert province_line["x"] == [2018.0, 2019.0, 2020.0, 2021.0]
    assert round(province_line["y"][-1], 2) == 40.14  # Sơn La's published 2021 total
    assert plotted["axes"][0]["ylabel"] and plotted["legends"] and "Son La" in plotted["legends"][0]  # English names
    change = son_la.figure("change")
    figures.to_image(change)
    assert len(figures.plotted(change)["axes"][0]["bars"]) == 8  # one bar per dimension of 2021


READS_SCRIPT = """
import json, os, sys
shared = os.path.realpath(sys.argv[2])
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        p = os.path.realpath(os.fsdecode(args[0]))
        if p.startswith(shared + os.sep) and p not in opened:
            opened.append(p)
sys.addaudithook(hook)
kind = sys.argv[1]
if kind == "province_briefing":
    from papi_research.briefing.province import build
    b = build("Sơn La", year=2021)
elif kind == "unit_briefing":
    from papi_research.briefing.unit import build_unit
    b = build_unit("Đồng Tháp", year=2024)
else:
    from papi_research.briefing.national import build_national_briefing
    b = build_national_briefing(2024, map_dimension=3)
for name in b.figure_keys():
    b.figure(name)
from papi_research.briefing.base import record
files = record(b)["provenance"]["data"]["files"]
print(json.dumps({"opened": [os.path.relpath(p, shared) for p in opened],
                  "recorded": [f["source"] + "/" + f["name"] for f in files]}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["province_briefing", "unit_briefing", "national_briefing"])
def test_the_record_names_exactly_the_data_files_a_briefing_reads(kind, tmp_path):
    """A fresh interpreter builds the briefing and draws every figure; the files it opens (Python's audit
    hook) are the files its record names."""
    script = tmp_path / "reads.py"
    script.write_text(READS_SCRIPT, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script), kind, str(SHARED)], capture_output=True, text=True,
                         check=True, env={**os.environ, "MPLBACKEND": "Agg"})
    got = json.loads(out.stdout.strip().splitlines()[-1])
    opened = {p for p in got["opened"] if not p.endswith("README.md")}
    assert "papi/2021.csv" in opened and "companion/pci_2005_2019.csv" in opened
    assert opened == set(got["recorded"]), (sorted(opened ^ set(got["recorded"])))


def test_the_renderer_and_its_version_for_the_manifest(tmp_path, monkeypatch):
    from papi_research.render import renderer_info
    builtin = renderer_info("builtin")
    assert builtin["name"] == "builtin" and f"typst {metadata.version('typst')}" in builtin["version"]
    quarto = tmp_path / "quarto"
    quarto.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 1.11.3\n", encoding="utf-8")
    quarto.chmod(0o755)
    monkeypatch.setenv("QUARTO_PATH", str(quarto))
    assert renderer_info("quarto") == {"name": "quarto", "version": "1.11.3"}
