"""Problem set 4's measurements: what the tests of Parts A to C grade against, and the student's
own GIL lab run (no solutions here).

Parts A to C read measurements, and a test cannot know the right answer for
measurements of a busy, unknown machine.  :func:`synthetic_runs` makes up
runs in the results.json form whose answer is known: shaped like a quiet
machine's, noisy, with the odd outlier.
"""
from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from typing import Any

from coursetools.gil.measurement import MODES, plan, run_experiment, worker_counts
from coursetools.gil.workloads import WORKLOADS


def synthetic_runs(
    workload: str,
    cores: int,
    rng: random.Random,
    *,
    repeats: int = 3,
    counts: Sequence[int] | None = None,
    outliers: bool = False,
) -> list[dict[str, Any]]:
    """Made-up runs in the results.json form, shaped like a quiet machine's.

    For tests and exercises that need measurements with a known answer.
    Speedups follow each workload's physics times a random efficiency:
    CPU-bound threads stay near 1x at about 100 % CPU while processes reach
    about ``min(workers, cores)``; I/O-bound work speeds up with the number of
    workers, past the core count, at a few % CPU; C code that releases the
    GIL scales on threads like CPU-bound work does on processes.  Every run
    gets +/-3 % noise.  ``outliers`` makes one repeat of about half the
    groups 3-6 times slower (a burst of background load), which a median
    shrugs off and a mean does not; it needs ``repeats >= 3``.
    """
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose from {WORKLOADS}")
    counts = list(counts) if counts is not None else worker_counts(cores)
    serial_wall = rng.uniform(0.8, 2.0)
    thread_eff = {"cpu": rng.uniform(0.85, 1.05), "io": rng.uniform(0.9, 0.99), "c": rng.uniform(0.85, 0.97)}[workload]
    process_eff = {"cpu": rng.uniform(0.85, 0.97), "io": rng.uniform(0.7, 0.85), "c": rng.uniform(0.65, 0.8)}[workload]

    def shape(mode: str, workers: int) -> tuple[float, float]:
        """(speedup, total CPU %) of a mode at a worker count."""
        busy = min(workers, cores)
        if workload == "io":
            return (1.0, 2.5) if mode == "serial" else (
                1.0 + (workers - 1) * (thread_eff if mode == "threads" else process_eff), 2.0 + 0.5 * workers)
        if mode == "serial" or workers == 1:
            return 1.0, 100.0
        if workload == "cpu" and mode == "threads":
            return thread_eff, 100.0
        efficiency = thread_eff if mode == "threads" else process_eff
        speedup = max(1.0, busy * efficiency)
        return speedup, min(100.0 * busy, 100.0 * speedup)

    runs = []
    for mode in MODES:
        for workers in [1] if mode == "serial" else counts:
            speedup, cpu = shape(mode, workers)
            walls = [serial_wall / speedup * rng.uniform(0.97, 1.03) for _ in range(repeats)]
            if outliers and repeats >= 3 and rng.random() < 0.5:
                walls[rng.randrange(repeats)] *= rng.uniform(3, 6)
            for repeat, wall in enumerate(walls):
                percent = cpu * rng.uniform(0.97, 1.03)
                runs.append({
                    "workload": workload,
                    "mode": mode,
                    "workers": workers,
                    "wall_s": wall,
                    "cpu_percent": percent,
                    "per_core_percent": [min(100.0, percent / cores)] * cores,
                    "repeat": repeat,
                })
    rng.shuffle(runs)
    return runs



MEASUREMENTS_FILE = "my_measurements.json"
RUN_FIELDS = ("workload", "mode", "workers", "wall_s", "cpu_percent", "per_core_percent", "samples")


def my_measurements(workers: int, path: str = MEASUREMENTS_FILE) -> dict[str, Any]:
    """The student's GIL lab run: every workload serially, in ``workers`` threads and in ``workers``
    processes, three times each, saved to ``path`` beside the notebook.

    When nbgrader runs the notebook (autograding, the Validate button: ``NBGRADER_EXECUTION``), the run
    saved there is read back instead: the TA grades the figure and the answers against the numbers the
    student measured and quoted, not a new run on a busy grading machine, and grading takes seconds.
    Without a valid saved run, one short repeat is measured (and not saved).  A saved run may use
    another worker count than ``workers`` (the student's machine is not the grader's): see
    :func:`workers_in`.
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        saved = _saved_run(path)
        if saved is not None:
            print(f"(your run saved in {path}, read back)")
            return saved
        print(f"(no valid run saved in {path}: one short repeat measured now)")
        return run_experiment(plan(WORKLOADS, [workers]), repeats=1, seconds=0.25)
    results = run_experiment(plan(WORKLOADS, [workers]), repeats=3, seconds=0.25)
    try:
        with open(path, "w") as f:
            json.dump(results, f)
    except OSError as error:
        print(f"(not saved: {error})")
    return results


def _saved_run(path: str) -> dict[str, Any] | None:
    """The results saved in ``path`` if they have the shape the notebook reads, else None."""
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        return None
    runs = saved.get("runs") if isinstance(saved, dict) else None
    if not runs or not isinstance(runs, list):
        return None
    if not all(isinstance(run, dict) and all(field in run for field in RUN_FIELDS) for run in runs):
        return None
    try:
        workers_in(saved)
    except ValueError:
        return None
    return saved


def workers_in(results: dict[str, Any]) -> int:
    """The number of workers of the threads and processes runs in ``results`` (one number)."""
    counts = {run["workers"] for run in results["runs"] if run["mode"] != "serial"}
    if len(counts) != 1 or not all(isinstance(c, int) and c > 0 for c in counts):
        raise ValueError(f"expected one worker count in the parallel runs, found {sorted(counts, key=str)}")
    return counts.pop()
