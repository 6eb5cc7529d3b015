"""What problem set 4's tests of Parts A to C grade against (no solutions here).

Parts A to C read measurements, and a test cannot know the right answer for
measurements of a busy, unknown machine.  :func:`synthetic_runs` makes up
runs in the results.json form whose answer is known: shaped like a quiet
machine's, noisy, with the odd outlier.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from coursetools.gil.measurement import MODES, worker_counts
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

