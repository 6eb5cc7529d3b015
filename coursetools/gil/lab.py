"""The full GIL experiment: ``make gil-lab`` (``python -m coursetools.gil.lab``).

Runs every workload (cpu, io, c) serially and in 1 to 2 x cores threads and
processes, ``--repeats`` times, then writes into ``--out`` (build/gil-lab):

- ``results.json``: the machine, the interpreter and every run;
- ``timeline_cpu.png``, ``timeline_io.png``, ``timeline_c.png``: per-core CPU
  over time for serial, threads and processes (workers = cores);
- ``speedup.png``: median speedup against workers, with the ideal line;
- ``total_cpu.png``: median total CPU per mode and workload.

It prints the build it runs on and what that build predicts (with a GIL,
CPU-bound threads stay at about 1x; on a free-threaded build with the GIL
off they scale like processes), one line per run while it works, then a table
of medians and speedups (on the wall clock, and on the work alone, timed from
the moment every worker is ready) and whether the predictions held on the
work.  Close other busy programs first: the numbers are measurements of the
whole machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt  # noqa: E402

from .. import COURSE_ROOT  # noqa: E402
from . import interpreter  # noqa: E402
from .analysis import expectations, median_table, speedup_table, typical_runs, verdicts  # noqa: E402
from .measurement import MODES, RunResult, plan, run_experiment, worker_counts  # noqa: E402
from .plots import plot_speedup, plot_timelines, plot_total_cpu  # noqa: E402
from .workloads import WORKLOADS  # noqa: E402

DEFAULT_OUT = COURSE_ROOT / "build" / "gil-lab"
FULL_SECONDS = 1.5
QUICK_SECONDS = 0.4
BACKGROUND_S = 1.0
"""How long to watch the machine before the runs, to report other programs' load."""
BUSY_PERCENT = 25.0
"""Background CPU (sum over cores, measured before the runs) above which a note warns."""


def progress_line(done: int, total: int, result: RunResult) -> str:
    """One line per finished run, e.g. ``[ 4/57] cpu threads x2 ...``."""
    return f"[{done:>{len(str(total))}}/{total}] {result.describe()}"


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The table of medians and speedups, one line per (workload, mode, workers)."""
    medians = median_table(results["runs"])
    speedups = speedup_table(results["runs"])
    work_speedups = speedup_table(results["runs"], "work_s")
    lines = [f"{'workload':<8} {'mode':<9} {'workers':>7} {'wall (median)':>14} {'work (median)':>14}"
             f" {'total CPU':>10} {'speedup':>8} {'on work':>8}"]
    mode_order = {mode: index for index, mode in enumerate(MODES)}
    workload_order = {workload: index for index, workload in enumerate(WORKLOADS)}
    for key in sorted(medians, key=lambda k: (workload_order[k[0]], mode_order[k[1]], k[2])):
        row = medians[key]
        shown = [speedups.get(key), work_speedups.get(key)]
        lines.append(
            f"{key[0]:<8} {key[1]:<9} {key[2]:>7} {row['wall_s']:>12.2f} s {row['work_s']:>12.2f} s"
            f" {row['cpu_percent']:>8.0f} %" + "".join(f" {'' if v is None else f'{v:7.2f}x':>8}" for v in shown)
        )
    return lines


def write_figures(results: dict[str, Any], out: Path) -> list[Path]:
    """Save the lab's PNG figures into ``out``; return their paths."""
    cores = results["cpu_count"]
    workers = max(2, cores)
    written = []
    figures = []
    for workload in WORKLOADS:
        runs = typical_runs(results["runs"], workload, workers)
        if runs:
            figures.append((f"timeline_{workload}.png", plot_timelines(runs)))
    figures.append(("speedup.png", plot_speedup(results["runs"], cores)))
    figures.append(("total_cpu.png", plot_total_cpu(results["runs"], cores, workers)))
    for name, figure in figures:
        path = out / name
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.gil.lab", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"short runs (~{QUICK_SECONDS} s serial) and 1 repeat")
    parser.add_argument("--repeats", type=int, help="repeats of every run (default 3, or 1 with --quick)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default build/gil-lab)")
    parser.add_argument("--seconds", type=float, help=f"serial run length in seconds (default {FULL_SECONDS})")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else FULL_SECONDS)
    cores = interpreter.cpu_count()
    runs = plan(args.workloads, worker_counts(cores))

    print(f"{interpreter.build_label()}, {cores} logical CPU(s)")
    if cores < 2:
        print("Only 1 core: threads and processes cannot run at the same time here, so the")
        print("lab measures but skips the comparisons (run it on a machine with 2+ cores).")
    else:
        print("Predicted for this build, at", cores, "workers:")
        for expected in expectations(cores, interpreter.gil_enabled()):
            print(f"  {expected.claim}")
    print(f"{len(runs)} runs x {repeats} repeat(s), ~{seconds} s of serial work each; output in {args.out}")
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    results = run_experiment(
        runs,
        repeats=repeats,
        seconds=seconds,
        progress=lambda done, total, result: print(progress_line(done, total, result), flush=True),
        background_s=BACKGROUND_S,
    )
    results["elapsed_s"] = time.monotonic() - started
    background = sum(results["background_per_core_percent"])
    json_path = args.out / "results.json"
    json_path.write_text(json.dumps(results, indent=1))
    figures = write_figures(results, args.out)

    print()
    print("\n".join(summary_lines(results)))
    print()
    print(f"On the work alone ({results['build']}):")
    for verdict in verdicts(results, cores, clock="work_s"):
        mark = {True: "ok  ", False: "MISS", None: "skip"}[verdict.holds]
        print(f"[{mark}] {verdict.claim}: {verdict.detail}")
    if background > BUSY_PERCENT:
        print(f"\nNote: before the runs, other programs kept {background:.0f} % of a core busy;")
        print("speedups that need free cores come out lower than on a quiet machine.")
    print(f"\nwrote {json_path} and {', '.join(path.name for path in figures)} in {results['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
