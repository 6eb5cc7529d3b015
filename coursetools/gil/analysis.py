"""What an experiment's runs say: medians, speedups, typical runs and verdicts.

Every function takes runs in their JSON form (the entries of
``results["runs"]`` in results.json, ``RunResult.as_dict()``).  Speedups are
taken on a ``clock``: ``"wall_s"`` (the whole run, process start-up
included: what a program pays) or ``"work_s"`` (from the moment every worker
is ready: what the GIL does to the work itself).
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from . import interpreter
from .measurement import MODES

Clock = Literal["wall_s", "work_s"]


def _seconds(run: dict[str, Any], clock: Clock) -> float:
    # runs measured before work_s existed: their work is their wall time
    return run.get(clock, run["wall_s"])


def median_table(runs: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, float]]:
    """Median wall time, work time and CPU % per (workload, mode, workers)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["workload"], run["mode"], run["workers"]), []).append(run)
    return {
        key: {
            "wall_s": statistics.median(run["wall_s"] for run in group),
            "work_s": statistics.median(_seconds(run, "work_s") for run in group),
            "cpu_percent": statistics.median(run["cpu_percent"] for run in group),
            "runs": len(group),
        }
        for key, group in groups.items()
    }


def speedup_table(runs: Iterable[dict[str, Any]], clock: Clock = "wall_s") -> dict[tuple[str, str, int], float]:
    """Serial median time / median time on ``clock``, per (workload, mode, workers)."""
    medians = median_table(runs)
    table = {}
    for (workload, mode, workers), row in medians.items():
        serial = medians.get((workload, "serial", 1))
        if serial is not None and row[clock] > 0:
            table[(workload, mode, workers)] = serial[clock] / row[clock]
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


@dataclass(frozen=True)
class Expectation:
    """What the physics predicts for one (workload, mode) at workers = cores."""

    workload: str
    mode: str
    low: float
    """Lowest speedup that agrees with the prediction."""
    high: float | None
    """Highest speedup that agrees (None: no upper bound)."""
    claim: str
    max_cpu_percent: float | None = None
    """Most total CPU that agrees (threads that take turns keep about one core busy)."""

    def agrees(self, speedup: float, cpu_percent: float) -> bool:
        """Whether a measured speedup and total CPU agree with the prediction."""
        return (
            speedup >= self.low
            and (self.high is None or speedup <= self.high)
            and (self.max_cpu_percent is None or cpu_percent <= self.max_cpu_percent)
        )


SCALES = 0.8
"""A mode "scales" when it reaches this share of the ideal speedup (the number of cores)."""


def expectations(cores: int, gil_enabled: bool = True) -> list[Expectation]:
    """The lab's predictions at workers = ``cores`` (2 or more), for a build with or without a GIL.

    Processes scale on every build (one interpreter each); I/O-bound threads
    and threads in C code that releases the GIL scale too.  CPU-bound pure
    Python in threads is what the build decides: with a GIL the threads take
    turns (about 1x, about one core busy); without one they scale like
    processes.
    """
    scaled = SCALES * cores
    found = [Expectation("cpu", "processes", scaled, None, f"CPU-bound processes scale: speedup >= {scaled:.2f}")]
    if gil_enabled:
        found.append(Expectation("cpu", "threads", 0.8, 1.2, "with the GIL, CPU-bound threads take turns: "
                                 "speedup 0.8-1.2, total CPU <= 115 %", max_cpu_percent=115.0))
    else:
        found.append(Expectation("cpu", "threads", scaled, None,
                                 f"without the GIL, CPU-bound threads scale: speedup >= {scaled:.2f}"))
    found.append(Expectation("io", "threads", scaled, None, f"I/O-bound threads scale: speedup >= {scaled:.2f}"))
    low = 0.7 * cores
    found.append(Expectation("c", "threads", low, None, f"threads in C code that releases the GIL scale: speedup >= {low:.2f}"))
    return found


@dataclass
class Verdict:
    """One conclusion of the experiment and whether the data support it."""

    claim: str
    holds: bool | None  # None: not tested (e.g. only one core)
    detail: str


def verdicts(results: dict[str, Any], cores: int | None = None, clock: Clock = "wall_s") -> list[Verdict]:
    """Check the lab's predictions (:func:`expectations`) on the medians at workers = cores.

    The predictions follow the build the results were measured on
    (``results["gil_enabled"]``; results without it come from a build with a
    GIL).  On a single core there is nothing to compare: one Verdict with
    ``holds=None`` says so instead of drawing a false conclusion.
    """
    cores = interpreter.cpu_count() if cores is None else cores
    if cores < 2:
        return [Verdict("parallel speedup", None, "only 1 core: threads and processes cannot run at once; comparisons skipped")]
    medians = median_table(results["runs"])
    speedups = speedup_table(results["runs"], clock)
    found = []
    for expected in expectations(cores, results.get("gil_enabled", True)):
        key = (expected.workload, expected.mode, cores)
        if key not in speedups:
            continue
        speedup, cpu = speedups[key], medians[key]["cpu_percent"]
        found.append(Verdict(expected.claim, expected.agrees(speedup, cpu), f"speedup {speedup:.2f}, total CPU {cpu:.0f} %"))
    return found
