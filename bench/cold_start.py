#!/usr/bin/python3
"""Cold start of bertrt: a fresh process opens a model file and runs one forward.

Runs `bertrt bench MODEL --shapes BxT --runs 1 --warmup 0 --json --threads N` as a new process,
ROUNDS times, and per run reports
  to_first_ms   wall time from just before the process is started to the moment its stderr line
                "... first forward ..." arrives (exec, dynamic loading, open, first forward)
  open_ms       model open, in-process, wall (bertrt bench's load line)
  first_ms      first forward, in-process, wall (same line)
  cpu_ms        open + first forward in CPU time of the process (same line; not stretched by other
                processes, so the figure to judge on a loaded machine, with 1 thread)
  peak_rss_mb   peak resident set of the process (getrusage ru_maxrss of the child): mapped file
                pages it touched plus its own memory
against the file size. --cold drops the page cache before each run (`sync`, then
`echo 3 > /proc/sys/vm/drop_caches`; root only), so the file, the binary and its libraries are read
from disk; without it the page cache is warm (one untimed run first).

usage: cold_start.py --bertrt PATH MODEL [MODEL ...] [--rounds 5] [--shape 1x8] [--threads 1] [--cold]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def one_run(bertrt, model, shape, threads):
    cmd = [bertrt, "bench", model, "--shapes", shape, "--runs", "1", "--warmup", "0", "--json",
           "--threads", str(threads)]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    to_first = None
    load = None
    for line in p.stderr:
        if to_first is None and "first forward" in line:
            to_first = (time.monotonic() - t0) * 1000.0
        if line.startswith("{") and '"event":"load"' in line:
            load = json.loads(line)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0 or to_first is None or load is None:
        sys.exit(f"cold_start: {' '.join(cmd)} failed (status {status})")
    return {"to_first_ms": to_first, "open_ms": load["open_ms"], "first_ms": load["first_forward_ms"],
            "cpu_ms": load.get("open_cpu_ms", float("nan")) + load.get("first_forward_cpu_ms", float("nan")),
            "peak_rss_mb": usage.ru_maxrss / 1024.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--bertrt", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--shape", default="1x8")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cold", action="store_true", help="drop the page cache before each run (root)")
    a = ap.parse_args()
    if a.rounds < 1:
        sys.exit("cold_start: --rounds must be >= 1")
    if a.cold and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        sys.exit("cold_start: --cold needs write access to /proc/sys/vm/drop_caches (root)")
    cache = "cold (page cache dropped before each run)" if a.cold else "warm"
    print(f"\npage cache {cache}, shape {a.shape}, {a.threads} thread(s), {a.rounds} runs: median (min-max)\n")
    print("| model file | size MB | start to first output ms | open ms | first forward ms | open + first, CPU ms "
          "| peak RSS MB | peak RSS - size MB |")
    print("|---|---|---|---|---|---|---|---|")
    for m in a.models:
        if not os.path.isfile(m):
            sys.exit(f"cold_start: no model file {m}")
        size_mb = os.path.getsize(m) / 2**20
        if not a.cold:
            one_run(a.bertrt, m, a.shape, a.threads)
        runs = []
        for _ in range(a.rounds):
            if a.cold:
                drop_caches()
            runs.append(one_run(a.bertrt, m, a.shape, a.threads))

        def col(k, f="{:.1f}"):
            v = [r[k] for r in runs]
            return f"{f.format(statistics.median(v))} ({f.format(min(v))}-{f.format(max(v))})"
        extra = [r["peak_rss_mb"] - size_mb for r in runs]
        print(f"| {os.path.basename(m)} | {size_mb:.1f} | {col('to_first_ms')} | {col('open_ms', '{:.2f}')} | "
              f"{col('first_ms')} | {col('cpu_ms')} | {col('peak_rss_mb')} | {max(extra):+.1f} (worst) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
