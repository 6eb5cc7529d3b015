"""Figures of the GIL lab: per-core CPU over time, speedup, total CPU.

Every function takes runs in their JSON form (``RunResult.as_dict()``, the
entries of ``results["runs"]`` in results.json) or ``RunResult`` objects, and
returns a matplotlib ``Figure`` made with pyplot (so a notebook shows it;
scripts save it and call ``plt.close(fig)``).  Every figure names the build
its runs were measured on (``"build"`` of each run), since the speedup of
CPU-bound threads depends on it.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .analysis import Clock, median_table, speedup_table
from .measurement import MODES, RunResult
from .workloads import WORKLOAD_TITLES, WORKLOADS

MODE_COLORS = {"serial": "tab:gray", "threads": "tab:blue", "processes": "tab:orange"}


def _as_dict(run: RunResult | dict[str, Any]) -> dict[str, Any]:
    return run.as_dict() if isinstance(run, RunResult) else run


def _with_build(title: str, runs: Iterable[dict[str, Any]]) -> str:
    """``title``, and on a second line the build(s) the runs were measured on, if they say."""
    builds = sorted({run.get("build") for run in runs} - {None, ""})
    return f"{title}\n{'; '.join(builds)}" if builds else title


def _run_label(run: dict[str, Any]) -> str:
    workers = run["workers"]
    if run["mode"] == "serial":
        return "serial (1 thread)"
    if run["mode"] == "threads":
        return f"{workers} thread{'' if workers == 1 else 's'}"
    return f"{workers} process{'' if workers == 1 else 'es'}"


def plot_timelines(runs: Sequence[RunResult | dict[str, Any]], title: str | None = None) -> Figure:
    """Per-core CPU over time, one panel per run, side by side.

    Each line is one core, so a CPU-bound run shows how many cores it kept
    busy.  The sampler sees the whole machine: other programs show too.  A
    dotted line marks when the workers of a processes run were all started
    and began their work (before it: process start-up).
    """
    runs = [_as_dict(run) for run in runs]
    fig, axes = plt.subplots(
        1, len(runs), figsize=(4.2 * len(runs), 3.4), sharex=True, sharey=True, squeeze=False
    )
    for ax, run in zip(axes[0], runs):
        times = [0.0] + [t for t, _ in run["samples"]]
        cores = len(run["per_core_percent"])
        for core in range(cores):
            values = [per_core[core] for _, per_core in run["samples"]]
            # each sample is the mean over the interval that ends at t: draw steps
            ax.stairs(values, times, label=f"core {core}", linewidth=1.5, baseline=None)
        if run["mode"] == "processes" and run.get("ready_s", 0.0) > 0:
            ax.axvline(run["ready_s"], color="black", linestyle=":", linewidth=1, label="work begins")
        ax.set_title(f"{_run_label(run)}\nwall {run['wall_s']:.2f} s, total CPU {run['cpu_percent']:.0f} %", fontsize=10)
        ax.set_xlabel("time since start (s)")
        ax.set_ylim(-3, 105)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("CPU use of each core (%)")
    if cores <= 8:
        axes[0][-1].legend(loc="lower right", fontsize=8)
    workload = runs[0]["workload"]
    fig.suptitle(_with_build(title or f"Per-core CPU: {WORKLOAD_TITLES.get(workload, workload)}", runs))
    fig.tight_layout()
    return fig


def speedup_series(
    runs: Iterable[dict[str, Any]], workload: str, mode: str, clock: Clock = "wall_s"
) -> tuple[list[int], list[float]]:
    """Worker counts and median speedups (on ``clock``) of one workload and mode, sorted."""
    table = speedup_table(runs, clock)
    points = sorted((workers, value) for (w, m, workers), value in table.items() if w == workload and m == mode)
    return [workers for workers, _ in points], [value for _, value in points]


def plot_speedup(
    runs: Iterable[RunResult | dict[str, Any]],
    cores: int,
    workloads: Sequence[str] | None = None,
    clock: Clock = "wall_s",
) -> Figure:
    """Median speedup over serial against the number of workers.

    The ideal line is what perfect parallel hardware use would give:
    ``min(workers, cores)`` for work that needs a core, ``workers`` for
    work that mostly waits (I/O), since waiting needs no core.  ``clock``
    "work_s" leaves process start-up out (see :mod:`~coursetools.gil.analysis`).
    """
    runs = [_as_dict(run) for run in runs]
    if workloads is None:
        workloads = [w for w in WORKLOADS if any(run["workload"] == w for run in runs)]
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.5 * len(workloads), 3.6), squeeze=False)
    for ax, workload in zip(axes[0], workloads):
        top = 1
        for mode in ("threads", "processes"):
            workers, speedups = speedup_series(runs, workload, mode, clock)
            if workers:
                ax.plot(workers, speedups, "o-", color=MODE_COLORS[mode], label=mode)
                top = max(top, max(workers))
        counts = list(range(1, top + 1))
        ideal = counts if workload == "io" else [min(count, cores) for count in counts]
        ax.plot(counts, ideal, "--", color="black", linewidth=1, label="ideal")
        ax.axhline(1.0, color=MODE_COLORS["serial"], linewidth=1, linestyle=":", label="serial")
        ax.axvline(cores, color="tab:green", linewidth=1, alpha=0.5, label=f"{cores} core{'s' if cores > 1 else ''}")
        ax.set_title(WORKLOAD_TITLES.get(workload, workload), fontsize=10)
        ax.set_xlabel("workers (threads or processes)")
        ax.set_xticks(counts)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    timed = "work time, start-up left out" if clock == "work_s" else "wall time"
    axes[0][0].set_ylabel(f"speedup over serial (×, median {timed})")
    fig.suptitle(_with_build("Speedup against the number of workers", runs))
    fig.tight_layout()
    return fig


def plot_total_cpu(runs: Iterable[RunResult | dict[str, Any]], cores: int, workers: int | None = None) -> Figure:
    """Median total CPU of the process tree per workload and mode.

    100 % is one core busy for the whole run; the dotted lines mark one core
    and all cores.  Threads and processes are taken at ``workers`` (default:
    as many as there are cores).
    """
    runs = [_as_dict(run) for run in runs]
    workers = max(2, cores) if workers is None else workers
    medians = median_table(runs)
    workloads = [w for w in WORKLOADS if any(run["workload"] == w for run in runs)]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.27
    for offset, mode in enumerate(MODES):
        heights = []
        for workload in workloads:
            row = medians.get((workload, mode, 1 if mode == "serial" else workers))
            heights.append(row["cpu_percent"] if row else 0.0)
        label = mode if mode == "serial" else f"{workers} {mode}"
        positions = [index + (offset - 1) * width for index in range(len(workloads))]
        bars = ax.bar(positions, heights, width, color=MODE_COLORS[mode], label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    # labels just right of the axes, at the height of their line
    beside = ax.get_yaxis_transform()
    ax.axhline(100, color="black", linestyle=":", linewidth=1)
    ax.text(1.01, 100, "one core", transform=beside, va="center", fontsize=8)
    if cores > 1:
        ax.axhline(100 * cores, color="tab:green", linestyle=":", linewidth=1)
        ax.text(1.01, 100 * cores, f"all {cores} cores", transform=beside, va="center", fontsize=8)
    ax.set_xticks(range(len(workloads)), [WORKLOAD_TITLES.get(w, w).split(" (")[0] for w in workloads])
    ax.set_xlabel("workload")
    ax.set_ylabel("total CPU of the process tree (%)")
    ax.set_ylim(0, 100 * max(cores, 1) * 1.2)
    ax.set_title(_with_build("Total CPU per mode (100 % = one core)", runs))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
