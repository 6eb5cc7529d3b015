"""What an experiment's runs say: medians, speedups, typical runs and verdicts.

Every function takes runs in their JSON form (the entries of
``results["runs"]`` in results.json, ``RunResult.as_dict()``).
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import interpreter
from .measurement import MODES


def median_table(runs: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, float]]:
    """Median wall time and CPU % per (workload, mode, workers)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["workload"], run["mode"], run["workers"]), []).append(run)
    return {
        key: {
            "wall_s": statistics.median(run["wall_s"] for run in group),
            "cpu_percent": statistics.median(run["cpu_percent"] for run in group),
            "runs": len(group),
        }
        for key, group in groups.items()
    }


def speedup_table(runs: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], float]:
    """Serial median wall time / median wall time, per (workload, mode, workers)."""
    medians = median_table(runs)
    table = {}
    for (workload, mode, workers), row in medians.items():
        serial = medians.get((workload, "serial", 1))
        if serial is not None and row["wall_s"] > 0:
            table[(workload, mode, workers)] = serial["wall_s"] / row["wall_s"]
    return table


def typical_runs(runs: Iterable[dict[str, Any]], workload: str, workers: int) -> list[dict[str, Any]]:
    """Serial, threads and processes runs of ``workload`` to plot side by side.

    For each mode (threads and processes at ``workers``) the run whose wall
    time is the median of its repeats, so one lucky or unlucky repeat is
    not what the figure shows.
    """
    runs = list(runs)
    chosen = []
    for mode in MODES:
        count = 1 if mode == "serial" else workers
        group = [run for run in runs if (run["workload"], run["mode"], run["workers"]) == (workload, mode, count)]
        if group:
            middle = statistics.median_low(run["wall_s"] for run in group)
            chosen.append(next(run for run in group if run["wall_s"] == middle))
    return chosen


@dataclass
class Verdict:
    """One conclusion of the experiment and whether the data support it."""

    claim: str
    holds: bool | None  # None: not tested (e.g. only one core)
    detail: str


def verdicts(results: dict[str, Any], cores: int | None = None) -> list[Verdict]:
    """Check the lab's targets on the medians at workers = cores.

    On a single core there is nothing to compare: one Verdict with
    ``holds=None`` says so instead of drawing a false conclusion.
    """
    cores = interpreter.cpu_count() if cores is None else cores
    if cores < 2:
        return [Verdict("parallel speedup", None, "only 1 core: threads and processes cannot run at once; comparisons skipped")]
    medians = median_table(results["runs"])
    speedups = speedup_table(results["runs"])
    checks = [
        ("cpu", "processes", lambda s, c: s >= 0.85 * cores, f"CPU-bound processes speedup >= {0.85 * cores:.2f}"),
        ("cpu", "threads", lambda s, c: 0.8 <= s <= 1.2 and c <= 115, "CPU-bound threads speedup 0.8-1.2, total CPU <= 115 %"),
        ("io", "threads", lambda s, c: s >= 0.8 * cores, f"I/O-bound threads speedup >= {0.8 * cores:.2f}"),
        ("c", "threads", lambda s, c: s >= 0.7 * cores, f"C-release threads speedup >= {0.7 * cores:.2f}"),
    ]
    found = []
    for workload, mode, rule, claim in checks:
        key = (workload, mode, cores)
        if key not in speedups:
            continue
        speedup, cpu = speedups[key], medians[key]["cpu_percent"]
        found.append(Verdict(claim, bool(rule(speedup, cpu)), f"speedup {speedup:.2f}, total CPU {cpu:.0f} %"))
    return found
