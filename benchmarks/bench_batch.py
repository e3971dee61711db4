"""Batch benchmark: naive papermill-then-render per province vs ``papi run`` vs ``papi run`` again (cache).

On the same machine, in one run, it measures

(a) the naive baseline: for each province, the papermill command line on
    ``notebooks/province_briefing.ipynb`` then ``papi render --renderer builtin`` to HTML and PDF,
    one province after another (a new kernel and a new renderer process each time);
(b) ``papi run <provinces> --lang vi --format html,pdf --force`` (warm kernels, parallel workers);
(c) the same command again with nothing changed (every job a cache hit);

and prints the wall seconds of each, the median per province, the peak memory of the whole run
(resident set size summed over the process tree, sampled every 50 ms) and the ratio a/b. The last
line is exactly::

    bench: naive_s=<a> batch_s=<b> rerun_s=<c> ratio=<a/b> peak_rss_mb=<m> provinces=<n>

``--quick`` runs a subset (6 provinces); the default covers every province with data that year.
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

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "province_briefing.ipynb"
QUICK = ("Sơn La", "Hà Nội", "Đồng Tháp", "Quảng Ninh", "Cà Mau", "Lào Cai")


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
    ap.add_argument("--skip-naive", action="store_true", help="do not run (a); ratio is then 0")
    args = ap.parse_args()

    year, provinces = provinces_with_data(args.year)
    if args.quick:
        provinces = [p for p in provinces if p[0] in QUICK]
    names = [n for n, _ in provinces]
    work = args.work or Path(tempfile.mkdtemp(prefix="papi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels use their inline backend
    env.setdefault("SOURCE_DATE_EPOCH", "1735689600")
    print(f"bench: {len(names)} provinces, year {year}, {psutil.cpu_count()} cores, work folder {work}", flush=True)

    # (a) naive: papermill CLI then the builtin renderer, one province after another
    naive_s, naive_each, naive_peak = 0.0, [], 0
    if not args.skip_naive:
        out_a = work / "naive"
        out_a.mkdir(exist_ok=True)
        for name, slug in provinces:
            executed = out_a / f"{slug}-{year}.vi.ipynb"
            run_dir = Path(tempfile.mkdtemp(prefix="papi-naive-", dir=work))
            t1, m1, _ = timed([str(BIN / "papermill"), str(NOTEBOOK), str(executed), "-k", "python3",
                               "-p", "province", name, "-p", "year", str(year), "-p", "lang", "vi",
                               "--no-progress-bar", "--log-level", "ERROR"], run_dir, env)
            t2, m2, _ = timed([str(BIN / "papi"), "render", str(executed), "--format", "html,pdf",
                               "--renderer", "builtin"], run_dir, env)
            shutil.rmtree(run_dir, ignore_errors=True)
            naive_each.append(t1 + t2)
            naive_peak = max(naive_peak, m1, m2)
            print(f"  naive {slug}: papermill {t1:.2f} s + render {t2:.2f} s", flush=True)
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
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"bench: naive_s={naive_s:.1f} batch_s={batch_s:.1f} rerun_s={rerun_s:.2f} ratio={ratio:.1f} "
          f"peak_rss_mb={peak / 2**20:.0f} provinces={len(names)}")


if __name__ == "__main__":
    main()
