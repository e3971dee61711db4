"""Operations that survive people and faults: Ctrl-C, a damaged manifest, killed workers (local and a real
Dask cluster that shares nothing with the client), two runs into one folder, an unwritable or full output
folder, and `make lab` as root. Every run uses the real data and a small briefing-like notebook."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from test_runner import make_notebook

from papi_research.cli import main
from papi_research.data.paths import project_dir
from papi_research.errors import ParameterError, RunLockedError
from papi_research.pipeline import manifest as mf
from papi_research.pipeline.plan import RunOptions, plan_run
from papi_research.pipeline.run import run

SHARED = project_dir().parent / "shared"
IS_ROOT = os.geteuid() == 0


def pausing_notebook(path: Path, marks: Path, pause: tuple[str, ...]) -> Path:
    """The test notebook; a province in ``pause`` writes ``<marks>/<province>`` (worker pid, kernel pid)
    and sleeps the first time it runs, so a test can interrupt or kill it mid-province."""
    extra = (f"import os, time, pathlib\n"
             f"print('DATA', load_cached(data_dir).directory)\n"
             f"_m = pathlib.Path({str(marks)!r}) / province\n"
             f"if province in {pause!r} and not _m.exists():\n"
             f"    _t = _m.with_suffix('.tmp')\n"
             f"    _t.write_text(f'{{os.getppid()}} {{os.getpid()}}')\n"
             f"    os.replace(_t, _m)\n"
             f"    time.sleep(300)\n")
    return make_notebook(path, extra=extra)


def wait_for(path: Path, timeout: float = 240, proc: subprocess.Popen | None = None) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended before {path.name} started: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.2)
    return path.read_text()


def kill_when_marked(mark: Path, which: int = 0) -> threading.Thread:
    """SIGKILL the worker (which=0) or the kernel (which=1) that wrote ``mark``."""
    def go():
        pid = int(wait_for(mark).split()[which])
        os.kill(pid, signal.SIGKILL)
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def printed(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def leftovers(folder: Path) -> list[str]:
    """Files a run must not leave in the output folder: staged parts and temporary files."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and (p.suffix in (".part", ".tmp") or ".staging" in p.parts))


# ---------------------------------------------------------------- Ctrl-C on a real `papi run`

@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_a_rerun_continues(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    nb = pausing_notebook(tmp_path / "nb.ipynb", marks, pause=("Hà Nội",))
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    cmd = [sys.executable, "-m", "papi_research", "run", "Sơn La", "Hà Nội", "Đồng Tháp", "--year", "2024",
           "--format", "ipynb", "--jobs", "1", "--notebook", str(nb), "--out", str(out)]
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        wait_for(marks / "Hà Nội", proc=proc)  # Sơn La has finished, Hà Nội is in the middle, Đồng Tháp waits
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    assert lines[0].startswith("papi run: interrupted — 1 of 3 finished (1 ok, 0 failed")
    assert "1 stopped while running (2024/hanoi/vi)" in lines[0] and "1 not started" in lines[0]
    assert "run the same command again" in lines[0]
    assert list(tmp.iterdir()) == [], "the run left files in the temporary folder"
    assert leftovers(out) == []
    runs = {r["key"]: r["status"] for r in json.loads((out / "manifest.json").read_text())["runs"]}
    assert runs == {"2024/son-la/vi": "ok"}
    assert (out / "2024/son-la/son-la-2024.vi.ipynb").is_file() and not (out / "2024/hanoi").exists()
    time.sleep(1.5)  # the kernels' parent watch is gone with them
    assert subprocess.run(["pgrep", "-f", str(tmp)], capture_output=True).stdout == b""
    # the same command again: Sơn La from the cache, the other two run
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("papi run: 2 ok, 1 cached, 0 skipped, 0 failed")
    assert list(tmp.iterdir()) == []


# ---------------------------------------------------------------- killed workers (local executor)

@pytest.mark.slow
def test_a_killed_local_worker_fails_its_province_only_and_a_rerun_picks_it_up(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    nb = pausing_notebook(tmp_path / "nb.ipynb", marks, pause=("Hà Nội",))
    opts = RunOptions(provinces=("Hà Nội", "Sơn La"), year=2024, notebook=nb, out=tmp_path / "out",
                      formats=("ipynb",), jobs=1)
    killer = kill_when_marked(marks / "Hà Nội")
    summary = run(opts, progress=False, echo=lambda s: None)
    killer.join(timeout=5)
    status = {r.key: r for r in summary.records}
    assert status["2024/son-la/vi"].status == "ok"  # on a new worker: the pool replaced the dead one
    assert status["2024/hanoi/vi"].status == "failed"
    assert "killed by SIGKILL" in status["2024/hanoi/vi"].error
    assert summary.exit_code == 1 and leftovers(tmp_path / "out") == []
    again = run(opts, progress=False, echo=lambda s: None)
    assert {r.key: r.status for r in again.records} == {"2024/hanoi/vi": "ok", "2024/son-la/vi": "cached"}
    mask = os.umask(0o022)
    os.umask(mask)
    published = tmp_path / "out/2024/hanoi/hanoi-2024.vi.ipynb"
    assert published.stat().st_mode & 0o777 == 0o666 & ~mask  # readable like any file written here


@pytest.mark.slow
def test_a_killed_kernel_fails_its_province_and_the_worker_goes_on(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    nb = pausing_notebook(tmp_path / "nb.ipynb", marks, pause=("Hà Nội",))
    killer = kill_when_marked(marks / "Hà Nội", which=1)
    summary = run(RunOptions(provinces=("Hà Nội", "Sơn La"), year=2024, notebook=nb, out=tmp_path / "out",
                             formats=("ipynb",), jobs=1), progress=False, echo=lambda s: None)
    killer.join(timeout=5)
    status = {r.key: r for r in summary.records}
    assert status["2024/hanoi/vi"].status == "failed" and "Kernel" in status["2024/hanoi/vi"].error
    assert status["2024/son-la/vi"].status == "ok"
    assert len({r.pid for r in summary.results}) == 1  # same worker, new kernel


@pytest.mark.slow
def test_a_worker_killed_in_a_forced_rerun_keeps_the_published_briefing(tmp_path):
    """Issue 24: `--force` and a worker killed mid-job used to leave the folder empty."""
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    first = run(RunOptions(provinces=("Hà Nội",), year=2024, notebook=make_notebook(tmp_path / "nb0.ipynb"), out=out,
                           formats=("ipynb",), jobs=1), progress=False, echo=lambda s: None)
    assert first.exit_code == 0
    published = (out / "2024/hanoi/hanoi-2024.vi.ipynb").read_bytes()
    nb = pausing_notebook(tmp_path / "nb.ipynb", marks, pause=("Hà Nội",))
    killer = kill_when_marked(marks / "Hà Nội")
    summary = run(RunOptions(provinces=("Hà Nội",), year=2024, notebook=nb, out=out, formats=("ipynb",), jobs=1,
                             force=True), progress=False, echo=lambda s: None)
    killer.join(timeout=5)
    rec = summary.records[0]
    assert rec.status == "failed" and "killed by SIGKILL" in rec.error
    assert (out / "2024/hanoi/hanoi-2024.vi.ipynb").read_bytes() == published
    assert rec.outputs == {"ipynb": "2024/hanoi/hanoi-2024.vi.ipynb"}  # no notebook came back from the dead worker
    assert leftovers(out) == []


def _descendants(pid: int) -> list:
    import psutil
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(procs) -> list[str]:
    import psutil
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline())[:80]}")
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("phase, sig", [("warm-up", signal.SIGKILL), ("executing", signal.SIGKILL),
                                        ("warm-up", signal.SIGTERM)])
def test_no_orphans_when_papi_run_dies(tmp_path, phase, sig):
    """Issue 24: workers, their kernels and render children, and multiprocessing's resource tracker exit
    within seconds when the `papi run` that started them dies, whatever the signal and the phase (before:
    SIGKILL during the warm-up left them running for about 600 s)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    nb = pausing_notebook(tmp_path / "nb.ipynb", marks, pause=("Hà Nội",))
    cmd = [sys.executable, "-m", "papi_research", "run", "Hà Nội", "Sơn La", "--year", "2024", "--format", "html,pdf",
           "--jobs", "2", "--notebook", str(nb), "--out", str(tmp_path / "out"), "--renderer", "builtin"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp_path)},
                            start_new_session=True)
    try:
        if phase == "executing":
            wait_for(marks / "Hà Nội", proc=proc)
        else:  # as soon as a worker exists, while it starts its kernel and render child
            deadline = time.monotonic() + 60
            while not any("spawn_main" in " ".join(p.cmdline()) for p in _descendants(proc.pid)):
                assert time.monotonic() < deadline and proc.poll() is None, "no worker started"
                time.sleep(0.05)
            time.sleep(0.5)
        family = _descendants(proc.pid)
        assert len(family) >= 2, [p.cmdline() for p in family]  # a worker and the resource tracker at least
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 8
        while _alive(family) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _alive(family) == [], f"still running after the run died: {_alive(family)}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for p in _descendants(proc.pid):
            p.kill()


# ---------------------------------------------------------------- a damaged manifest

@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    base = tmp_path_factory.mktemp("finished")
    nb = make_notebook(base / "nb.ipynb")
    out = base / "out"
    summary = run(RunOptions(provinces=("Sơn La", "Cao Bằng", "Hà Nội"), year=2024, notebook=nb, out=out,
                             formats=("ipynb",), jobs=1), progress=False, echo=lambda s: None)
    assert {r.key: r.status for r in summary.records} == {
        "2024/son-la/vi": "ok", "2024/cao-bang/vi": "failed", "2024/hanoi/vi": "ok"}
    return nb, out


def test_a_damaged_manifest_is_kept_rebuilt_and_the_run_goes_on(finished, tmp_path):
    nb, out0 = finished
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    good = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    text = (out / "manifest.json").read_text(encoding="utf-8")
    (out / "manifest.json").write_text(text[: len(text) // 2], encoding="utf-8")  # cut short
    warnings: list[str] = []
    plan = plan_run(RunOptions(provinces=("Sơn La", "Cao Bằng", "Hà Nội"), year=2024, notebook=nb, out=out,
                               formats=("ipynb",)), log=warnings.append)
    assert len(warnings) == 1
    damaged = [p.name for p in out.iterdir() if p.name.startswith("manifest.json.damaged-")]
    assert len(damaged) == 1 and damaged[0] in warnings[0] and "rebuilt 3 run(s)" in warnings[0]
    assert (out / damaged[0]).read_text(encoding="utf-8") == text[: len(text) // 2]
    # what the executed notebooks record is what the manifest had: the finished ones are cache hits
    assert {j.key: j.action for j in plan.jobs} == {"2024/son-la/vi": "cached", "2024/cao-bang/vi": "run",
                                                    "2024/hanoi/vi": "cached"}
    rebuilt = {r["key"]: r for r in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["runs"]}
    for r in good["runs"]:
        for field in ("province_code", "slug", "year", "lang", "parameters", "inputs", "versions", "status"):
            assert rebuilt[r["key"]][field] == r[field], (r["key"], field)
    assert rebuilt["2024/cao-bang/vi"]["outputs"] == {"failed": "2024/cao-bang/cao-bang-2024.vi.failed.ipynb"}
    # the CLI says it once and carries on
    (out / "manifest.json").write_text("{", encoding="utf-8")
    res = CliRunner().invoke(main, ["run", "Sơn La", "Hà Nội", "--year", "2024", "--format", "ipynb",
                                    "--notebook", str(nb), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stderr.count("warning:") == 1 and "manifest is not valid JSON" in res.stderr
    assert "papi run: 0 ok, 2 cached" in res.stdout


def test_a_published_briefing_without_a_manifest_entry_is_a_cache_hit(finished, tmp_path):
    nb, out0 = finished
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    (out / "manifest.json").unlink()  # e.g. the disk filled up before the entry was written
    plan = plan_run(RunOptions(provinces=("Sơn La",), year=2024, notebook=nb, out=out, formats=("ipynb",)))
    assert [j.action for j in plan.jobs] == ["cached"]


# ---------------------------------------------------------------- two runs, unwritable and full folders

def test_a_second_run_into_the_same_folder_stops_at_once(finished, tmp_path):
    nb, out0 = finished
    with mf.run_lock(tmp_path):
        with pytest.raises(RunLockedError) as exc:
            run(RunOptions(provinces=("Sơn La",), year=2024, notebook=nb, out=tmp_path, formats=("ipynb",)),
                progress=False, echo=lambda s: None)
        assert str(tmp_path) in str(exc.value) and f"pid {os.getpid()}" in str(exc.value)
        res = CliRunner().invoke(main, ["run", "Sơn La", "--year", "2024", "--format", "ipynb",
                                        "--notebook", str(nb), "--out", str(tmp_path)])
        assert res.exit_code == 2 and "another papi run" in res.stderr
    assert not (tmp_path / "manifest.json").exists()


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs mounted at tmp_path/mnt (root only: mount needs CAP_SYS_ADMIN)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    made = []

    def mount(size: str, *options: str) -> Path:
        opts = ",".join((f"size={size}", *options))
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mnt)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}): "
                        "the full-disk and read-only cases need root with CAP_SYS_ADMIN")
        made.append(mnt)
        return mnt

    yield mount
    for m in made:
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def test_an_unwritable_out_is_one_error_before_any_kernel(finished, tmp_path, tmpfs):
    nb, _ = finished
    ro = tmpfs("1m", "ro")
    with pytest.raises(ParameterError) as exc:
        plan_run(RunOptions(provinces=("Sơn La",), year=2024, notebook=nb, out=ro / "reports", formats=("ipynb",)))
    assert exc.value.parameter == "out" and str(ro) in str(exc.value) and "Read-only file system" in str(exc.value)
    res = CliRunner().invoke(main, ["run", "Sơn La", "--year", "2024", "--format", "ipynb", "--notebook", str(nb),
                                    "--out", str(ro)])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and str(ro) in res.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="is not a folder"):
        plan_run(RunOptions(provinces=("Sơn La",), year=2024, notebook=nb, out=blocker / "reports",
                            formats=("ipynb",)))


def test_a_full_disk_loses_nothing_that_had_finished(finished, tmpfs):
    nb, out0 = finished
    out = tmpfs("4m")
    shutil.copytree(out0, out, dirs_exist_ok=True)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")}
    filler = out / "filler"
    with open(filler, "wb", buffering=0) as fh:  # fill the disk to the last byte
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                fh.write(b"\0")
        except OSError:
            pass
    lines: list[str] = []
    summary = run(RunOptions(provinces=("Sơn La", "Hà Nội"), year=2024, notebook=nb, out=out, formats=("ipynb",),
                             jobs=1, force=True), progress=False, echo=lines.append)
    assert summary.exit_code == 1
    assert summary.stopped and "No space left on device" in summary.stopped and "manifest.json" in summary.stopped
    first = summary.records[0]
    assert first.status == "failed" and "No space left on device" in first.error and "nothing of it" in first.error
    assert "stopped: cannot write" in summary.text() and "nothing is half-written" in summary.text()
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p != filler and not p.name.startswith(".")}
    assert after == before, "a file that had finished changed or was lost"
    assert leftovers(out) == []
    filler.unlink()


# ---------------------------------------------------------------- a Dask cluster that shares nothing

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """`dask scheduler` and one `dask worker` (with a nanny) as separate processes on 127.0.0.1, with
    their own working and temporary folders and PAPI_DATA_DIR pointing nowhere."""
    base = tmp_path_factory.mktemp("cluster")
    folders = {name: base / name for name in ("scheduler", "worker", "worker-tmp")}
    for f in folders.values():
        f.mkdir()
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(folders["worker-tmp"]), "PAPI_DATA_DIR": str(base / "nowhere" / "papi"),
           "PAPI_COMPANION_DIR": str(base / "nowhere" / "companion"),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",  # a lost task fails at once ...
           "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}  # ... and only the running one is lost
    bindir = Path(sys.executable).parent
    logs = [open(base / f"{n}.log", "w") for n in ("scheduler", "worker")]
    sched = subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--no-dashboard"], cwd=folders["scheduler"], env=env, stdout=logs[0],
                             stderr=subprocess.STDOUT, start_new_session=True)
    worker = subprocess.Popen([str(bindir / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--host", "127.0.0.1",
                               "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                               "--local-directory", str(folders["worker-tmp"])], cwd=folders["worker"], env=env,
                              stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True)
    address = f"tcp://127.0.0.1:{port}"
    try:
        from distributed import Client
        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(1, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield address, folders["worker-tmp"]
    finally:
        for p in (worker, sched):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def client_data(tmp_path_factory):
    """A copy of the data only the client can see (the workers are told to look elsewhere)."""
    base = tmp_path_factory.mktemp("client-data")
    shutil.copytree(SHARED / "papi", base / "papi")
    shutil.copytree(SHARED / "companion", base / "companion")
    return base / "papi"


@pytest.mark.slow
def test_dask_workers_that_share_nothing_with_the_client_and_one_that_dies(dask_cluster, client_data, tmp_path):
    address, worker_tmp = dask_cluster
    nb = pausing_notebook(tmp_path / "nb.ipynb", tmp_path, pause=())
    out = tmp_path / "out"
    summary = run(RunOptions(provinces=("Sơn La", "Cao Bằng"), year=2024, notebook=nb, out=out, formats=("ipynb",),
                             executor="dask", scheduler=address, data_dir=str(client_data)),
                  progress=False, echo=lambda s: None)
    status = {r.key: r for r in summary.records}
    assert status["2024/son-la/vi"].status == "ok", summary.text()
    assert "injected failure" in status["2024/cao-bang/vi"].error
    assert (out / "2024/cao-bang/cao-bang-2024.vi.failed.ipynb").is_file()  # the failed notebook came back too
    text = printed(out / "2024/son-la/son-la-2024.vi.ipynb")
    assert text.startswith("son-la 2024 vi complete")
    data_line = next(line for line in text.splitlines() if line.startswith("DATA "))
    assert data_line.startswith(f"DATA {worker_tmp}/")  # the worker's own copy of the shipped data
    nb_params = nbformat.read(out / "2024/son-la/son-la-2024.vi.ipynb", as_version=4).metadata.papermill.parameters
    assert nb_params["data_dir"] is None
    m = {r["key"]: r for r in json.loads((out / "manifest.json").read_text())["runs"]}
    assert m["2024/son-la/vi"]["parameters"]["data_dir"] == str(client_data)
    assert leftovers(out) == []
    assert not list(worker_tmp.glob("papi-*")), "the worker kept the shipped data or kernel files"
    again = run(RunOptions(provinces=("Sơn La",), year=2024, notebook=nb, out=out, formats=("ipynb",),
                           executor="dask", scheduler=address, data_dir=str(client_data)),
                progress=False, echo=lambda s: None)
    assert [r.status for r in again.records] == ["cached"]

    # a worker killed in the middle of a province (one test, one cluster: xdist may split a module)
    marks = tmp_path / "marks"
    marks.mkdir()
    nb = pausing_notebook(tmp_path / "nb-kill.ipynb", marks, pause=("Hà Nội",))
    opts = RunOptions(provinces=("Hà Nội", "Sơn La"), year=2024, notebook=nb, out=tmp_path / "out-kill",
                      formats=("ipynb",), executor="dask", scheduler=address, data_dir=str(client_data))
    killer = kill_when_marked(marks / "Hà Nội")
    summary = run(opts, progress=False, echo=lambda s: None)
    killer.join(timeout=5)
    status = {r.key: r for r in summary.records}
    assert status["2024/hanoi/vi"].status == "failed" and "worker running it died" in status["2024/hanoi/vi"].error
    assert status["2024/son-la/vi"].status == "ok", status["2024/son-la/vi"].error  # on the restarted worker
    again = run(opts, progress=False, echo=lambda s: None)
    assert {r.key: r.status for r in again.records} == {"2024/hanoi/vi": "ok", "2024/son-la/vi": "cached"}


# ---------------------------------------------------------------- make lab as root

def test_make_lab_lets_jupyter_start_as_root():
    proc = subprocess.run(["make", "-n", "lab"], cwd=project_dir(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "jupyter lab" in x)
    assert ("--allow-root" in line) == IS_ROOT


# ---------------------------------------------------------------- what a worker receives is checked

def test_a_worker_checks_the_shipped_inputs_against_the_client_hashes(tmp_path, monkeypatch):
    import tempfile

    from papi_research.data.loader import load
    from papi_research.pipeline.transfer import InputMismatchError, build_bundle, forget_materialised, materialise
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    nb = make_notebook(tmp_path / "nb.ipynb")
    data = load(str(SHARED / "papi"))
    bundle = build_bundle(nb, SHARED / "papi", SHARED / "companion")
    assert bundle.data_version == data.version
    local = materialise(bundle)
    assert local.root.parent == tmp_path and (local.papi_dir / "2024.csv").read_bytes() == (SHARED / "papi/2024.csv").read_bytes()
    forget_materialised()
    assert not local.root.exists()
    bundle.papi["2024.csv"] = bundle.papi["2024.csv"].replace(b"\n", b"\r\n", 1)  # one byte more in transit
    with pytest.raises(InputMismatchError, match="data .* \\(client " + bundle.data_version):
        materialise(bundle)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("papi-inputs-")]
    bundle = build_bundle(nb, SHARED / "papi", None)
    bundle.source = "0" * 16  # a worker with other code
    with pytest.raises(InputMismatchError, match="install the same version on the workers"):
        materialise(bundle)
