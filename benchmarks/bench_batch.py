"""Batch benchmark: naive papermill-then-render per province vs ``papi run`` vs ``papi run`` again (cache).

On the same machine, in one run, it measures

(a) the naive baseline: for each province, the papermill command line on
    ``notebooks/province_briefing.ipynb`` then ``papi render --renderer builtin`` to HTML and PDF,
    one province after another (a new kernel and a new renderer process each time);
(b) ``papi run <provinces> --lang vi --format html,pdf --force`` (warm kernels, parallel workers);
(c) the same command again with nothing changed (every job a cache hit);

and prints the wall seconds of each, the median per province, the peak memory of the whole run
(resident set size summed over the process tree, sampled every 50 ms) and the ratio a/b, as the line::

    bench: naive_s=<a> batch_s=<b> rerun_s=<c> ratio=<a/b> peak_rss_mb=<m> provinces=<n>

Then, for every briefing in both languages (``briefings`` = provinces x 2, vi and en), it measures

(d) ``papi run <provinces> --lang vi,en --format html,pdf --force`` timed in full (national model fits
    kept on disk by (b), in the benchmark's own cache folder, which starts empty), checking that the
    manifest records every briefing ``ok``; then the same command again, which must be all cache hits
    (``rerun_s``); ``peak_rss_mb`` is the peak of the process tree over these two runs;
(e) the naive loop doing the same work (papermill then ``papi render --format html,pdf --renderer
    builtin`` per province and language, each a fresh process, as in (a)): Vietnamese is (a)'s own
    times (every province, timed); English is timed on ``--naive-sample K`` provinces (default 8)
    spread evenly over the list, and their mean is multiplied by the number of provinces. ``naive_s``
    = the vi sum + that scaled en figure; ``naive_sample`` = K, the provinces timed in English;
    ``ratio`` = naive_s / batch_s (0 with ``--skip-naive``: nothing naive is timed);
(f) only when ``quarto`` is on PATH: the loop a researcher with Quarto would run from the project
    folder, ``quarto render notebooks/province_briefing.ipynb --execute -P province:<name> -P
    year:<year> -P lang:<lang> --to html --output-dir <tmp>`` (HTML only, no PDF: less work than the
    batch does), one briefing after another, with ``QUARTO_PYTHON`` = this Python unless set. It runs
    in a scratch copy of the project folder (``_quarto.yml``, ``src`` linked, the notebook copied from
    the repository before each render), because Quarto writes the executed cells back into the
    notebook. Timed on ``--quarto-sample K`` briefings (default 4) spread evenly over the vi-then-en
    list, the mean multiplied by ``briefings``; a human line gives quarto_loop_s / batch_s. Without
    Quarto it says so and the line reads ``quarto_loop_s=none quarto_sample=0``.

``papi run`` renders with ``--renderer auto``: through Quarto where ``quarto`` is on PATH (the workers
execute, the client renders the briefings in batches, one Quarto process per batch), with the builtin
renderer elsewhere; ``renderer=`` says which. Where it is Quarto, (d) is timed once more with
``--renderer builtin`` (``builtin_batch_s``), so one run shows both.

The last line is exactly::

    bench_both: briefings=<n> naive_s=<e> batch_s=<d> ratio=<e/d> naive_sample=<k> quarto_loop_s=<f|none> quarto_sample=<k|0> rerun_s=<d again> peak_rss_mb=<m> renderer=<quarto|builtin> builtin_batch_s=<s|none>

``--quick`` runs a subset (6 provinces; samples of 2 provinces for (e) and 1 briefing for (f) unless
given); the default covers every province with data that year. ``--skip-both`` leaves out (d)-(f)
and the ``bench_both`` line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from papi_research.render import resolve_renderer

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "province_briefing.ipynb"
QUICK = ("Sơn La", "Hà Nội", "Đồng Tháp", "Quảng Ninh", "Cà Mau", "Lào Cai")
LANGS = ("vi", "en")
NAIVE_SAMPLE, QUARTO_SAMPLE = 8, 4
QUICK_SAMPLE = (2, 1)  # the same two samples with --quick


class PeakRSS:
    """Samples the summed RSS of a process and all its descendants in a background thread."""

    def __init__(self, pid: int, every: float = 0.05):
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    total += p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run ``cmd``; return wall seconds, peak RSS of its process tree (bytes) and the result."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakRSS(proc.pid) as mem:
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    res = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check and proc.returncode != 0:
        sys.exit(f"bench: command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return wall, mem.peak, res


def naive_one(name: str, slug: str, year: int, lang: str, out: Path, work: Path, env: dict) -> tuple[float, int]:
    """One briefing the naive way: the papermill CLI on the notebook, then ``papi render --renderer builtin``
    to HTML and PDF, each a fresh process; returns the wall seconds of both and their peak RSS (bytes)."""
    executed = out / f"{slug}-{year}.{lang}.ipynb"
    run_dir = Path(tempfile.mkdtemp(prefix="papi-naive-", dir=work))
    t1, m1, _ = timed([str(BIN / "papermill"), str(NOTEBOOK), str(executed), "-k", "python3",
                       "-p", "province", name, "-p", "year", str(year), "-p", "lang", lang,
                       "--no-progress-bar", "--log-level", "ERROR"], run_dir, env)
    t2, m2, _ = timed([str(BIN / "papi"), "render", str(executed), "--format", "html,pdf",
                       "--renderer", "builtin"], run_dir, env)
    shutil.rmtree(run_dir, ignore_errors=True)
    print(f"  naive {slug} ({lang}): papermill {t1:.2f} s + render {t2:.2f} s", flush=True)
    return t1 + t2, max(m1, m2)


def spread(items: list, k: int) -> list:
    """``k`` of ``items`` spread evenly over the list (the middle of each of k equal slices): a fixed,
    stated sample, the same on every run."""
    n = len(items)
    k = max(0, min(k, n))
    return [items[(2 * i + 1) * n // (2 * k)] for i in range(k)]


def briefings_by_status(out: Path, year: int) -> dict[str, set[tuple[str, str]]]:
    """The (slug, lang) briefings of ``year`` in ``<out>/manifest.json``, grouped by status."""
    from papi_research.data.manifest import read_manifest
    found: dict[str, set[tuple[str, str]]] = {}
    for run in read_manifest(out).runs.values():
        if run.year == year:
            found.setdefault(run.status, set()).add((run.slug, run.lang))
    return found


def quarto_project(folder: Path) -> Path:
    """A scratch copy of the project folder as Quarto sees it: ``_quarto.yml``, the notebooks folder and
    ``src`` (a link, for the CSS, filter and Typst header ``_quarto.yml`` names). ``quarto render --execute``
    of an ``.ipynb`` writes the executed cells back into the notebook (and edits ``.gitignore``), so the
    Quarto loop runs here and leaves the repository as it was."""
    (folder / NOTEBOOK.parent.relative_to(ROOT)).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "_quarto.yml", folder / "_quarto.yml")
    if not (folder / "src").is_symlink():  # a --work folder used before has it already
        (folder / "src").symlink_to(ROOT / "src", target_is_directory=True)
    return folder


def provinces_with_data(year: int | None) -> tuple[int, list[tuple[str, str]]]:
    from papi_research.analysis.scores import year_scores
    from papi_research.data.loader import load
    data = load()
    year = data.latest_year if year is None else year
    status = year_scores(data, year).provinces["status"]
    return year, [(p.name_vi, p.slug) for p in data.provinces if status[p.code] != "missing"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"only {len(QUICK)} provinces")
    ap.add_argument("--year", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=None, help="workers for papi run (default: cores)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--skip-naive", action="store_true", help="do not run (a) nor (e); both ratios are then 0")
    ap.add_argument("--skip-both", action="store_true", help="do not run (d)-(f) (no bench_both line)")
    ap.add_argument("--naive-sample", type=int, default=None, metavar="K",
                    help=f"provinces timed the naive way in English for (e) (default {NAIVE_SAMPLE}; "
                         f"{QUICK_SAMPLE[0]} with --quick)")
    ap.add_argument("--quarto-sample", type=int, default=None, metavar="K",
                    help=f"briefings timed in the Quarto loop (f) (default {QUARTO_SAMPLE}; "
                         f"{QUICK_SAMPLE[1]} with --quick)")
    args = ap.parse_args()
    for flag, value in (("--naive-sample", args.naive_sample), ("--quarto-sample", args.quarto_sample)):
        if value is not None and value < 1:
            ap.error(f"{flag} must be at least 1; got {value}")
    quick_naive, quick_quarto = QUICK_SAMPLE if args.quick else (NAIVE_SAMPLE, QUARTO_SAMPLE)
    args.naive_sample = args.naive_sample or quick_naive
    args.quarto_sample = args.quarto_sample or quick_quarto

    year, provinces = provinces_with_data(args.year)
    if args.quick:
        provinces = [p for p in provinces if p[0] in QUICK]
    names = [n for n, _ in provinces]
    work = args.work or Path(tempfile.mkdtemp(prefix="papi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels use their inline backend
    env.setdefault("SOURCE_DATE_EPOCH", "1735689600")
    # National model fits are kept on disk between runs (pipeline.warmup): start from none, so (b) fits
    # them (and keeps them) and (d) uses what (b) kept, as a second run on a researcher's machine would.
    env["PAPI_CACHE_DIR"] = str(work / "cache")
    print(f"bench: {len(names)} provinces, year {year}, {psutil.cpu_count()} cores, work folder {work}", flush=True)

    # (a) naive: papermill CLI then the builtin renderer, one province after another
    naive_s, naive_each, naive_peak = 0.0, [], 0
    if not args.skip_naive:
        out_a = work / "naive"
        out_a.mkdir(exist_ok=True)
        for name, slug in provinces:
            seconds, peak = naive_one(name, slug, year, "vi", out_a, work, env)
            naive_each.append(seconds)
            naive_peak = max(naive_peak, peak)
        naive_s = sum(naive_each)
        print(f"(a) naive: {naive_s:.1f} s, median {statistics.median(naive_each):.2f} s per province, "
              f"peak {naive_peak / 2**20:.0f} MB", flush=True)

    # (b) papi run --force, (c) the same again
    out_b = work / "batch"
    selection = ["--all"] if not args.quick else names
    cmd = [str(BIN / "papi"), "run", *selection, "--year", str(year), "--lang", "vi", "--format", "html,pdf",
           "--out", str(out_b)]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    batch_s, batch_peak, res_b = timed(cmd + ["--force"], ROOT, env)
    manifest = json.loads((out_b / "manifest.json").read_text(encoding="utf-8"))
    runs = [r for r in manifest["runs"] if r["year"] == year and r["lang"] == "vi"]
    ok = [r for r in runs if r["status"] == "ok"]
    if len(ok) != len(names):
        sys.exit(f"bench: papi run produced {len(ok)} briefings for {len(names)} provinces\n{res_b.stdout[-3000:]}")
    per = statistics.median(r["duration_s"] for r in ok)
    print(f"(b) papi run --force: {batch_s:.1f} s, median {per:.2f} s per province (in a worker), "
          f"peak {batch_peak / 2**20:.0f} MB", flush=True)
    rerun_s, rerun_peak, res_c = timed(cmd, ROOT, env)
    manifest = json.loads((out_b / "manifest.json").read_text(encoding="utf-8"))
    cached = [r for r in manifest["runs"] if r["year"] == year and r["lang"] == "vi" and r["status"] == "cached"]
    print(f"(c) papi run again: {rerun_s:.2f} s, {len(cached)}/{len(names)} cache hits", flush=True)
    if len(cached) != len(names):
        print("bench: WARNING: the second run was not all cache hits", flush=True)

    peak = max(naive_peak, batch_peak, rerun_peak)
    ratio = naive_s / batch_s if batch_s else 0.0
    both = None if args.skip_both else both_languages(args, year, provinces, selection, naive_each, work, env)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"bench: naive_s={naive_s:.1f} batch_s={batch_s:.1f} rerun_s={rerun_s:.2f} ratio={ratio:.1f} "
          f"peak_rss_mb={peak / 2**20:.0f} provinces={len(names)}")
    if both is not None:
        print(both)


def both_languages(args, year: int, provinces: list[tuple[str, str]], selection: list[str],
                   naive_vi: list[float], work: Path, env: dict) -> str:
    """Legs (d)-(f): every briefing in Vietnamese and English; returns the ``bench_both:`` line."""
    n = len(provinces) * len(LANGS)
    expected = {(slug, lang) for _, slug in provinces for lang in LANGS}

    # (d) papi run --lang vi,en --force, then the same again (cache)
    out_d = work / "both"
    cmd = [str(BIN / "papi"), "run", *selection, "--year", str(year), "--lang", ",".join(LANGS),
           "--format", "html,pdf", "--out", str(out_d)]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    batch_s, batch_peak, res = timed(cmd + ["--force"], ROOT, env)
    ok = briefings_by_status(out_d, year).get("ok", set())
    if ok != expected:
        sys.exit(f"bench: papi run --lang vi,en produced {len(ok & expected)} of {n} briefings "
                 f"(missing: {sorted(expected - ok)[:5]})\n{res.stdout[-3000:]}")
    print(f"(d) papi run --lang vi,en --force: {batch_s:.1f} s for {n} briefings, "
          f"peak {batch_peak / 2**20:.0f} MB", flush=True)
    rerun_s, rerun_peak, res = timed(cmd, ROOT, env)
    cached = briefings_by_status(out_d, year).get("cached", set())
    print(f"(d) papi run --lang vi,en again: {rerun_s:.2f} s, {len(cached & expected)}/{n} cache hits", flush=True)
    if cached != expected:
        sys.exit(f"bench: the re-run of papi run --lang vi,en was not all cache hits "
                 f"(not cached: {sorted(expected - cached)[:5]})\n{res.stdout[-3000:]}")

    renderer = resolve_renderer("auto")
    builtin_s = None
    if renderer != "builtin":
        out_b = work / "both-builtin"
        builtin_cmd = [str(out_b) if c == str(out_d) else c for c in cmd] + ["--renderer", "builtin", "--force"]
        builtin_s, builtin_peak, res = timed(builtin_cmd, ROOT, env)
        if briefings_by_status(out_b, year).get("ok", set()) != expected:
            sys.exit(f"bench: papi run --renderer builtin did not produce every briefing\n{res.stdout[-3000:]}")
        print(f"(d) papi run --lang vi,en --force with --renderer builtin: {builtin_s:.1f} s, "
              f"peak {builtin_peak / 2**20:.0f} MB", flush=True)

    # (e) naive, both languages: Vietnamese is (a) (every province, timed); English is timed on a sample
    naive_s, naive_k = 0.0, 0
    if naive_vi:
        sample = spread(provinces, args.naive_sample)
        out_e = work / "naive-en"
        out_e.mkdir(exist_ok=True)
        en_each = [naive_one(name, slug, year, "en", out_e, work, env)[0] for name, slug in sample]
        naive_k = len(en_each)
        en_s = statistics.mean(en_each) * len(provinces)
        naive_s = sum(naive_vi) + en_s
        print(f"(e) naive, vi,en: vi {sum(naive_vi):.1f} s ({len(naive_vi)} provinces timed in (a)) + en "
              f"{en_s:.1f} s ({naive_k} of {len(provinces)} provinces timed, mean "
              f"{statistics.mean(en_each):.2f} s, x {len(provinces)}) = {naive_s:.1f} s", flush=True)
        if builtin_s:
            print(f"(e) naive_s / builtin_batch_s = {naive_s / builtin_s:.1f} (the naive loop renders with the "
                  f"builtin renderer too)", flush=True)
    else:
        print("(e) naive, vi,en: not timed (--skip-naive), ratio 0", flush=True)
    ratio = naive_s / batch_s if batch_s else 0.0

    # (f) the Quarto loop a researcher would run, where quarto is on PATH
    quarto = shutil.which("quarto")
    if quarto is None:
        print("(f) quarto: not on PATH, the Quarto loop is not timed (quarto_loop_s=none)", flush=True)
        quarto_part = "quarto_loop_s=none quarto_sample=0"
    else:
        briefings = [(name, slug, lang) for lang in LANGS for name, slug in provinces]
        sample = spread(briefings, args.quarto_sample)
        q_env = {**env, "QUARTO_PYTHON": env.get("QUARTO_PYTHON", sys.executable)}  # the project's kernel
        project = quarto_project(work / "quarto-project")
        notebook = project / NOTEBOOK.relative_to(ROOT)
        q_each = []
        for name, slug, lang in sample:
            shutil.copyfile(NOTEBOOK, notebook)  # without outputs again (Quarto wrote them into the last)
            out_g = work / "quarto" / f"{slug}-{lang}"
            t, _, res = timed([quarto, "render", str(NOTEBOOK.relative_to(ROOT)), "--execute",
                               "-P", f"province:{name}", "-P", f"year:{year}", "-P", f"lang:{lang}",
                               "--to", "html", "--output-dir", str(out_g)], project, q_env)
            if not any(out_g.rglob(f"{NOTEBOOK.stem}.html")):
                sys.exit(f"bench: quarto render wrote no {NOTEBOOK.stem}.html in {out_g}\n{res.stderr[-3000:]}")
            q_each.append(t)
            print(f"  quarto {slug} ({lang}): {t:.2f} s", flush=True)
        quarto_s = statistics.mean(q_each) * n
        print(f"(f) quarto loop (HTML only): {len(q_each)} of {n} briefings timed, mean "
              f"{statistics.mean(q_each):.2f} s, x {n} = {quarto_s:.1f} s; "
              f"quarto_loop_s / batch_s = {quarto_s / batch_s:.1f} (papi run rendering with {renderer})"
              + (f", {quarto_s / builtin_s:.1f} with --renderer builtin" if builtin_s else ""), flush=True)
        quarto_part = f"quarto_loop_s={quarto_s:.1f} quarto_sample={len(q_each)}"

    peak = max(batch_peak, rerun_peak)
    return (f"bench_both: briefings={n} naive_s={naive_s:.1f} batch_s={batch_s:.1f} ratio={ratio:.1f} "
            f"naive_sample={naive_k} {quarto_part} rerun_s={rerun_s:.2f} peak_rss_mb={peak / 2**20:.0f} "
            f"renderer={renderer} builtin_batch_s=" + (f"{builtin_s:.1f}" if builtin_s else "none"))


if __name__ == "__main__":
    main()
