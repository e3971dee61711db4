"""The batch render stage (pipeline.batch_render) and Quarto's project render (render.quarto.render_project).

A run whose renderer renders many briefings in one process (Quarto) has its workers execute only;
the client renders the executed notebooks in chunks. These tests drive the stage with a renderer
that has ``render_many`` (the builtin renderer underneath, so they run without Quarto), then check
Quarto's own project render where Quarto is on PATH.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import replace

import nbformat
import pytest

from papi_research.pipeline import batch_render
from papi_research.pipeline.batch_render import BatchRender, chunk_size
from papi_research.pipeline.jobs import JobResult, JobSpec
from papi_research.pipeline.plan import RunOptions, plan_run
from papi_research.pipeline.run import run
from papi_research.render import get_renderer, render
from papi_research.render.prepare import RenderError, prepare
from papi_research.render.quarto import quarto_path


class ChunkRenderer:
    """Renders a chunk of briefings with the builtin renderer, records each chunk it is given, and fails
    the briefings whose notebook stem is in ``fail`` (as Quarto reports one document it cannot render)."""

    name = "chunked"

    def __init__(self, fail: tuple[str, ...] = ()):
        self.fail, self.calls = set(fail), []

    def render_many(self, briefings, formats, work, on_start=None):
        work.mkdir(parents=True, exist_ok=True)
        self.calls.append([b.path.stem for b in briefings])
        out = []
        for i, b in enumerate(briefings):
            if b.path.stem in self.fail:
                out.append(RenderError(f"cannot render {b.path.name}"))
            else:
                out.append(get_renderer("builtin").render(b, formats, {f: work / f"b{i}.{f}" for f in formats}))
        return out

    @staticmethod
    def kill(proc) -> None:
        proc.kill()


def test_chunk_size():
    assert chunk_size(122, 2) == 16  # capped: the first briefings are published while the rest execute
    assert chunk_size(20, 2) == 5  # at least two chunks per slot, so both slots end together
    assert chunk_size(2, 2) == 1 and chunk_size(1, 4) == 1 and chunk_size(3, 1) == 2


def test_for_plan_batches_only_a_renderer_that_renders_many(tmp_path, monkeypatch):
    import papi_research.render as render_pkg
    options = RunOptions(provinces=("Sơn La",), year=2024, formats=("html",), out=tmp_path, jobs=2)
    assert batch_render.for_plan(plan_run(replace(options, renderer="builtin")), 1) is None
    fake = ChunkRenderer()
    monkeypatch.setattr(render_pkg, "resolve_renderer", lambda name="auto": "fake")
    monkeypatch.setattr(render_pkg, "get_renderer", lambda name: fake)
    stage = batch_render.for_plan(plan_run(options), 1)
    assert isinstance(stage, BatchRender) and stage.renderer is fake and stage.formats == ("html",)
    stage.close()
    assert batch_render.for_plan(plan_run(replace(options, formats=("ipynb",))), 1) is None
    assert BatchRender.execute_only(plan_run(options).jobs[0].spec).formats == ()


@pytest.mark.slow
def test_a_run_renders_executed_briefings_in_chunks_and_keeps_a_failure_apart(tmp_path, monkeypatch):
    """The real notebook, three provinces: the workers execute, the stage renders, Hà Nội's render fails
    alone (its notebook kept as .failed.ipynb), the other two are published with their HTML."""
    fake = ChunkRenderer(fail=("hanoi-2024.vi",))
    stages = []

    def for_plan(plan, total):
        stages.append(BatchRender(fake, ("html",), total, plan.n_workers))
        return stages[-1]

    monkeypatch.setattr(batch_render, "for_plan", for_plan)
    said = []
    summary = run(RunOptions(provinces=("Sơn La", "Hà Nội", "Đà Nẵng"), year=2024, langs=("vi",),
                             formats=("html",), out=tmp_path, jobs=2), progress=False, echo=said.append)
    assert said[0].startswith("papi run: the workers execute, chunked renders the 3 briefings here in batches "
                              "of up to 1 (one process per batch;")
    status = {r.key: r.status for r in summary.records}
    assert status == {"2024/son-la/vi": "ok", "2024/hanoi/vi": "failed", "2024/da-nang/vi": "ok"}
    assert sorted(s for call in fake.calls for s in call) == ["da-nang-2024.vi", "hanoi-2024.vi", "son-la-2024.vi"]
    assert all(len(call) <= stages[0].chunk for call in fake.calls)
    failed = summary.failures[0]
    assert failed.error == "render: cannot render hanoi-2024.vi.ipynb"
    assert failed.outputs == {"failed": "2024/hanoi/hanoi-2024.vi.failed.ipynb"}
    kept = nbformat.read(tmp_path / failed.outputs["failed"], as_version=4)
    assert kept.metadata.papermill.output_path == "2024/hanoi/hanoi-2024.vi.failed.ipynb"
    assert not (tmp_path / "2024/hanoi/hanoi-2024.vi.html").exists()
    for slug, name in (("son-la", "Sơn La"), ("da-nang", "Đà Nẵng")):
        rec = next(r for r in summary.records if r.key == f"2024/{slug}/vi")
        assert rec.outputs == {"ipynb": f"2024/{slug}/{slug}-2024.vi.ipynb", "html": f"2024/{slug}/{slug}-2024.vi.html"}
        html = (tmp_path / rec.outputs["html"]).read_text(encoding="utf-8")
        assert f"<h1>{name}: kết quả PAPI năm 2024</h1>" in html
        nb = nbformat.read(tmp_path / rec.outputs["ipynb"], as_version=4)
        assert nb.metadata.papermill.parameters["province"] == name
    res = next(r for r in summary.results if r.key == "2024/son-la/vi")
    assert res.render_s > 0 and res.duration_s > res.render_s


def _job(executed, key="2024/son-la/vi") -> tuple[JobSpec, JobResult]:
    spec = JobSpec(key=key, notebook="nb.ipynb", out_dir="out", rel_dir="2024/son-la", stem=executed.stem,
                   parameters={}, formats=("html",))
    return spec, JobResult(key=key, status="ok", duration_s=1.0, files={"ipynb": executed.read_bytes()})


def test_a_chunk_that_breaks_fails_its_jobs_with_the_reason(executed_nb):
    class Broken(ChunkRenderer):
        def render_many(self, briefings, formats, work, on_start=None):
            raise OSError("No space left on device")

    stage = BatchRender(Broken(), ("html",), total=1, slots=1)
    stage.add(*_job(executed_nb))
    stage.executed()
    (res,) = list(stage.drain())
    stage.close()
    assert res.status == "failed" and res.error == "render: OSError: No space left on device"
    assert list(res.files) == ["failed.ipynb"]


def test_stop_kills_the_renderer_process_and_names_the_jobs_left(executed_nb):
    started = threading.Event()

    class Slow(ChunkRenderer):
        def render_many(self, briefings, formats, work, on_start=None):
            proc = subprocess.Popen(["sleep", "60"])
            self.proc = proc
            on_start(proc)
            started.set()
            proc.wait()
            return [RenderError("stopped")] * len(briefings)

    slow = Slow()
    stage = BatchRender(slow, ("html",), total=1, slots=1)
    stage.add(*_job(executed_nb))  # a full chunk (of one): it starts rendering at once
    assert started.wait(30), "the renderer never started"
    assert stage.stop() == ["2024/son-la/vi"]
    assert slow.proc.poll() is not None  # killed, and stop() waited for the chunk to end


@pytest.mark.slow
@pytest.mark.skipif(quarto_path() is None, reason="quarto is not on PATH (pip cannot install Quarto; "
                                                   "install it with conda or from quarto.org to run this test)")
def test_quarto_project_render_matches_single_renders_and_isolates_a_failure(executed_nb, tmp_path, monkeypatch):
    """One ``quarto render`` for three briefings: the two good ones are byte for byte what rendering
    each alone writes; the one whose Typst cannot compile gets its own error."""
    from papi_research.render import quarto
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    names = ["son-la-2024.vi", "broken-2024.vi", "other-2024.vi"]
    paths = []
    for name in names:
        paths.append(tmp_path / f"{name}.ipynb")
        paths[-1].write_bytes(executed_nb.read_bytes())
    document = quarto.quarto_document

    def broken(b, work, figures="figures"):
        doc = document(b, work, figures)
        return doc + "\n```{=typst}\n#papi-no-such-function()\n```\n" if b.path.stem == "broken-2024.vi" else doc

    monkeypatch.setattr(quarto, "quarto_document", broken)
    started = []
    out = quarto.render_project([prepare(p) for p in paths], ("html", "pdf"), tmp_path / "project",
                                on_start=started.append)
    assert isinstance(out[1], RenderError) and "broken-2024.vi.ipynb" in str(out[1])
    assert "papi-no-such-function" in str(out[1])
    alone = tmp_path / "alone"
    alone.mkdir()
    single = alone / "son-la-2024.vi.ipynb"
    single.write_bytes(executed_nb.read_bytes())
    want = render(single, ("html", "pdf"), renderer="quarto")
    for got in (out[0], out[2]):
        assert got["html"].read_bytes() == want["html"].read_bytes()
        assert got["pdf"].read_bytes() == want["pdf"].read_bytes()
    assert len(started) >= 2 and all(p.poll() is not None for p in started)  # the batch, then the retry alone
