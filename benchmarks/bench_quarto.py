"""Where a batch rendered through Quarto spends its time: Quarto's own CPU seconds per briefing.

Needs ``quarto`` on PATH (it says so and exits otherwise). On the same machine, in one run, it

(a) executes ``--briefings K`` briefings (default 16, the most ``papi run`` gives one Quarto process:
    K/2 provinces spread over the list, vi and en)
    with ``papi run --format ipynb`` (no rendering);
(b) renders one of them alone with ``papi_research.render.render(..., renderer="quarto")``, one Quarto
    process for its HTML and PDF, as ``papi render`` of one notebook does;
(c) renders all K in one Quarto process (``render_many``, what ``papi run`` does per batch);

and for (b) and (c) prints the wall seconds and the CPU seconds of Quarto and of every process it
started (exact: ``getrusage`` of this process's children, which are waited for), split by program
(Pandoc, in which Quarto's Lua filters run; Typst; Deno, Quarto itself; Dart Sass) by sampling the
process tree every 10 ms (a process's last 10 ms can be missed; what the split misses is in
``other``). The last line is::

    bench_quarto: briefings=<K> single_s=<b> single_cpu_s=<b> batch_s=<c> cpu_per_briefing=<c/K> pandoc=<..> typst=<..> deno=<..> sass=<..> other=<..> render_floor_122_s=<122 x cpu_per_briefing / cores>

``render_floor_122_s`` is the least wall time Quarto needs to render 122 briefings (both languages of
2024) on this machine's cores, however the batch is arranged: no batch rendered through Quarto can
beat it, and with the notebooks' execution on the same cores it is higher still.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from papi_research.pipeline.batch_render import CHUNK_MAX
from papi_research.render import render, render_many, resolve_renderer

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROGRAMS = ("pandoc", "typst", "deno", "sass")


class TreeCPU:
    """CPU seconds of this process's descendants by program, from samples every ``every`` seconds."""

    def __init__(self, every: float = 0.01):
        self.every, self.last = every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for p in me.children(recursive=True):
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        self.last[p.pid, p.create_time()] = (self.program(p), t.user + t.system)
                except psutil.Error:
                    continue
            self._stop.wait(self.every)

    @staticmethod
    def program(p: psutil.Process) -> str:
        words = " ".join([p.name(), *p.cmdline()[:2]]).lower()
        return next((name for name in PROGRAMS if name in words), "other")

    def __enter__(self) -> TreeCPU:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def by_program(self) -> dict[str, float]:
        out = dict.fromkeys(PROGRAMS, 0.0)
        for program, cpu in self.last.values():
            if program in out:
                out[program] += cpu
        return out


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measured(fn):
    """Run ``fn``; return (wall s, CPU s of the processes it started, CPU s by program)."""
    before, t0 = children_cpu(), time.perf_counter()
    with TreeCPU() as tree:
        fn()
    return time.perf_counter() - t0, children_cpu() - before, tree.by_program()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--briefings", type=int, default=CHUNK_MAX,
                    help=f"briefings to render (even: vi and en; default {CHUNK_MAX})")
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    if args.briefings < 2 or args.briefings % 2:
        ap.error(f"--briefings must be an even number of at least 2; got {args.briefings}")
    if resolve_renderer("auto") != "quarto":
        sys.exit("bench_quarto: quarto is not on PATH; nothing to measure (install Quarto 1.11 to run it)")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1735689600")
    work = args.work or Path(tempfile.mkdtemp(prefix="papi-bench-quarto-"))
    from papi_research.data.loader import load
    from papi_research.analysis.scores import year_scores
    data = load()
    status = year_scores(data, args.year).provinces["status"]
    provinces = [p for p in data.provinces if str(status.get(p.code, "missing")) == "complete"]
    step = max(1, len(provinces) // (args.briefings // 2))
    chosen = provinces[::step][:args.briefings // 2]
    out = work / "executed"
    cmd = [str(BIN / "papi"), "run", *[p.name_vi for p in chosen], "--year", str(args.year), "--lang", "vi,en",
           "--format", "ipynb", "--force", "--json", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    summary = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    notebooks = [out / r["outputs"]["ipynb"] for r in summary.get("runs", []) if r["status"] == "ok"]
    if len(notebooks) != args.briefings:
        sys.exit(f"bench_quarto: papi run executed {len(notebooks)} of {args.briefings} briefings\n{res.stderr[-3000:]}")
    print(f"(a) executed {len(notebooks)} briefings ({', '.join(p.slug for p in chosen)}; vi, en) in {out}", flush=True)

    one = work / "single" / notebooks[0].name
    one.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebooks[0], one)
    single_s, single_cpu, _ = measured(lambda: render(one, ("html", "pdf"), renderer="quarto"))
    print(f"(b) one briefing alone, HTML and PDF: {single_s:.2f} s, {single_cpu:.2f} CPU-s", flush=True)

    results = []
    batch_s, batch_cpu, split = measured(lambda: results.extend(render_many(notebooks, ("html", "pdf"), "quarto")))
    failed = [str(r) for r in results if isinstance(r, Exception)]
    if failed:
        sys.exit("bench_quarto: Quarto could not render every briefing:\n" + "\n".join(failed))
    k = len(notebooks)
    per = {name: cpu / k for name, cpu in split.items()}
    per["other"] = batch_cpu / k - sum(per.values())
    cores = psutil.cpu_count() or 1
    floor = 122 * batch_cpu / k / cores
    print(f"(c) {k} briefings in one Quarto process, HTML and PDF: {batch_s:.2f} s, {batch_cpu:.2f} CPU-s, "
          f"{batch_cpu / k:.2f} CPU-s a briefing (" + ", ".join(f"{n} {v:.2f}" for n, v in per.items()) + ")",
          flush=True)
    print(f"    on {cores} cores Quarto alone needs at least {floor:.0f} s for 122 briefings", flush=True)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"bench_quarto: briefings={k} single_s={single_s:.2f} single_cpu_s={single_cpu:.2f} batch_s={batch_s:.2f} "
          f"cpu_per_briefing={batch_cpu / k:.2f} " + " ".join(f"{n}={v:.2f}" for n, v in per.items())
          + f" render_floor_122_s={floor:.0f}")


if __name__ == "__main__":
    main()
