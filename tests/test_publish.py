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
