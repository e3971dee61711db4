"""Publishing by replacement (pipeline/transfer.publish): a failed or interrupted job never deletes the last
good briefing; a run with fewer formats keeps the others while they are current and says what it removed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from papi_research.pipeline.jobs import JobResult, JobSpec
from papi_research.pipeline.transfer import PublishError, publish

SPEC = dict(key="2024/son-la/vi", notebook="nb.ipynb", out_dir="", rel_dir="2024/son-la", stem="son-la-2024.vi",
            parameters={})


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def ok(tag: bytes, formats=("html", "pdf")) -> JobResult:
    return JobResult(key=SPEC["key"], status="ok", duration_s=1.0,
                     files={"ipynb": b"nb " + tag, **{f: f.encode() + b" " + tag for f in formats}})


def folder(out: Path) -> dict[str, bytes]:
    d = out / "2024/son-la"
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.is_dir() else {}


@pytest.fixture
def out(tmp_path):
    (tmp_path / "out" / ".staging").mkdir(parents=True)
    return tmp_path / "out"


def first(out: Path) -> dict[str, str]:
    done = publish(out, out / ".staging", JobSpec(**SPEC, formats=("html", "pdf")), ok(b"v1"))
    assert done.removed == []
    return done.hashes


def test_a_failed_job_keeps_the_last_good_briefing_and_its_notebook_beside(out):
    hashes = first(out)
    failed = JobResult(key=SPEC["key"], status="failed", duration_s=1.0, error="boom",
                       files={"failed.ipynb": b"failed nb"})
    done = publish(out, out / ".staging", JobSpec(**SPEC, formats=("html", "pdf")), failed, current=hashes)
    assert folder(out) == {"son-la-2024.vi.failed.ipynb": b"failed nb", "son-la-2024.vi.html": b"html v1",
                           "son-la-2024.vi.ipynb": b"nb v1", "son-la-2024.vi.pdf": b"pdf v1"}
    assert done.outputs == {"failed": "2024/son-la/son-la-2024.vi.failed.ipynb", "ipynb": "2024/son-la/son-la-2024.vi.ipynb",
                            "html": "2024/son-la/son-la-2024.vi.html", "pdf": "2024/son-la/son-la-2024.vi.pdf"}
    assert done.hashes["ipynb"] == sha(b"nb v1") and done.hashes["failed"] == sha(b"failed nb")
    # a worker killed mid-job hands back no notebook at all: still nothing is deleted
    lost = JobResult(key=SPEC["key"], status="failed", duration_s=1.0, error="worker lost: killed by SIGKILL")
    publish(out, out / ".staging", JobSpec(**SPEC, formats=("html", "pdf")), lost, current=hashes)
    assert folder(out)["son-la-2024.vi.pdf"] == b"pdf v1" and folder(out)["son-la-2024.vi.ipynb"] == b"nb v1"
    # the next success replaces the set and removes the failed notebook
    publish(out, out / ".staging", JobSpec(**SPEC, formats=("html", "pdf")), ok(b"v2"))
    assert folder(out) == {"son-la-2024.vi.html": b"html v2", "son-la-2024.vi.ipynb": b"nb v2",
                           "son-la-2024.vi.pdf": b"pdf v2"}


def test_fewer_formats_keep_a_current_pdf_and_remove_a_stale_one_saying_so(out):
    hashes = first(out)
    current = {k: v for k, v in hashes.items() if k in ("html", "pdf")}
    done = publish(out, out / ".staging", JobSpec(**SPEC, formats=("html",)), ok(b"v1", ("html",)), current=current)
    assert folder(out)["son-la-2024.vi.pdf"] == b"pdf v1" and done.removed == []
    assert done.outputs["pdf"] == "2024/son-la/son-la-2024.vi.pdf" and done.hashes["pdf"] == sha(b"pdf v1")
    # other inputs (no current formats): the PDF would describe another briefing, so it goes, and is named
    done = publish(out, out / ".staging", JobSpec(**SPEC, formats=("html",)), ok(b"v2", ("html",)), current={})
    assert "son-la-2024.vi.pdf" not in folder(out) and done.removed == ["2024/son-la/son-la-2024.vi.pdf"]
    assert "pdf" not in done.outputs


def test_a_write_error_publishes_nothing_and_deletes_nothing(out, monkeypatch):
    first(out)
    before = folder(out)
    import papi_research.pipeline.transfer as transfer

    def full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(transfer, "write_temporary", full)
    with pytest.raises(PublishError, match="nothing of it was published"):
        publish(out, out / ".staging", JobSpec(**SPEC, formats=("html", "pdf")), ok(b"v2"))
    assert folder(out) == before


# ---------------------------------------------------------------- through the runner (real data, small notebook)

def _run(nb, out, said=None, **kw):
    from test_runner import opts

    from papi_research.pipeline.run import run
    return run(opts(nb, out, provinces=("Sơn La",), year=2024, **kw), progress=False,
               echo=(said.append if said is not None else lambda s: None))


def test_a_failed_rerun_keeps_the_published_briefing_and_records_the_failure_beside_it(tmp_path):
    import json

    from test_runner import make_notebook
    good = make_notebook(tmp_path / "good.ipynb")
    out = tmp_path / "out"
    assert _run(good, out).exit_code == 0
    published = (out / "2024/son-la/son-la-2024.vi.ipynb").read_bytes()
    bad = make_notebook(tmp_path / "bad.ipynb", extra="raise RuntimeError('injected after publishing')")
    summary = _run(bad, out)
    assert summary.exit_code == 1
    assert (out / "2024/son-la/son-la-2024.vi.ipynb").read_bytes() == published  # the last good set stays
    assert (out / "2024/son-la/son-la-2024.vi.failed.ipynb").is_file()
    rec = {r["key"]: r for r in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]}["2024/son-la/vi"]
    assert rec["status"] == "failed" and "injected after publishing" in rec["error"]
    assert rec["outputs"] == {"failed": "2024/son-la/son-la-2024.vi.failed.ipynb",
                              "ipynb": "2024/son-la/son-la-2024.vi.ipynb"}
    assert rec["hashes"]["ipynb"] == sha(published)
    assert "the last good briefing stays published" in summary.text()


@pytest.mark.parametrize("damage", ["edited", "cut short", "deleted"])
def test_run_repairs_a_damaged_or_edited_cached_briefing_and_says_so(tmp_path, damage):
    from test_runner import make_notebook, opts

    from papi_research.pipeline.plan import plan_run
    nb = make_notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "out"
    assert _run(nb, out).exit_code == 0
    path = out / "2024/son-la/son-la-2024.vi.ipynb"
    published = path.read_bytes()
    assert [j.action for j in plan_run(opts(nb, out, provinces=("Sơn La",), year=2024)).jobs] == ["cached"]
    if damage == "edited":
        path.write_bytes(published.replace(b"complete", b"complete 99.99 rank 1", 1))
    elif damage == "cut short":
        path.write_bytes(published[: len(published) // 2])
    else:
        path.unlink()
    said: list[str] = []
    summary = _run(nb, out, said)
    assert [r.status for r in summary.records] == ["ok"]
    assert path.read_bytes() == published  # repaired: the same briefing again
    if damage != "deleted":
        assert any("2024/son-la/vi: run again to repair it: 2024/son-la/son-la-2024.vi.ipynb differs from what "
                   "was published (damaged or edited)" in s for s in said), said
    assert [j.action for j in plan_run(opts(nb, out, provinces=("Sơn La",), year=2024)).jobs] == ["cached"]


@pytest.mark.slow
def test_real_briefing_refused_target_and_fewer_formats_lose_nothing(tmp_path):
    """Issue 24 cases 1, 2 and 8 with the real notebook, through the CLI: a bad --target is refused before
    anything runs and touches nothing; `--format html` keeps the current PDF; a run on other inputs with
    fewer formats removes the PDF it would contradict and says so."""
    import subprocess
    import sys
    out = tmp_path / "R"
    base = [sys.executable, "-m", "papi_research", "run", "Sơn La", "--out", str(out), "--renderer", "builtin"]

    def papi(*args):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=600)

    first = papi("--format", "html,pdf")
    assert first.returncode == 0, first.stderr
    folder = out / "2024/son-la"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(before) == {"son-la-2024.vi.ipynb", "son-la-2024.vi.html", "son-la-2024.vi.pdf"}
    for target in ("top:abc", "999"):
        bad = papi("--target", target)
        assert bad.returncode == 2 and bad.stderr.startswith("error: Invalid parameter target:"), bad.stderr
        assert "Traceback" not in bad.stderr
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    fewer = papi("--format", "html")
    assert fewer.returncode == 0, fewer.stderr
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(after) == set(before)  # the PDF is still current: kept, and the HTML is the same briefing
    assert after["son-la-2024.vi.pdf"] == before["son-la-2024.vi.pdf"]
    assert after["son-la-2024.vi.html"] == before["son-la-2024.vi.html"]
    other = papi("--format", "html", "--comparison-year", "2022")
    assert other.returncode == 0, other.stderr
    assert not (folder / "son-la-2024.vi.pdf").exists()
    assert ("2024/son-la/vi: removed 2024/son-la/son-la-2024.vi.pdf (not asked for this time, and made from other "
            "inputs than the new briefing)") in other.stderr
