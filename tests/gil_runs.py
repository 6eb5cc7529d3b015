"""Run dicts for the GIL lab's tests: the keys every run has, and made-up runs with a known answer."""
from __future__ import annotations

from coursetools.gil.workloads import WORKLOADS

RUN_KEYS = {"workload": str, "mode": str, "workers": int, "wall_s": float, "cpu_percent": float, "per_core_percent": list}
"""The keys of a run in results.json that problem set 4 describes, with their types."""


def fake_run(workload: str, mode: str, workers: int, wall: float, cpu: float = 100.0) -> dict:
    return {"workload": workload, "mode": mode, "workers": workers, "wall_s": wall, "cpu_percent": cpu,
            "per_core_percent": [0.0, 0.0]}


def fake_results(cores: int, processes: float, threads: float, io: float, c: float, threads_cpu: float = 100.0) -> dict:
    runs = []
    for workload in WORKLOADS:
        for repeat in range(3):
            runs.append(fake_run(workload, "serial", 1, 2.0 + repeat * 0.01))
    for wall in (2 / processes, 2 / processes, 50.0):  # one outlier: medians ignore it
        runs.append(fake_run("cpu", "processes", cores, wall, 100.0 * cores))
        runs.append(fake_run("cpu", "threads", cores, 2 / threads, threads_cpu))
        runs.append(fake_run("io", "threads", cores, 2 / io, 2.0))
        runs.append(fake_run("c", "threads", cores, 2 / c, 100.0 * cores))
    return {"cpu_count": cores, "runs": runs}
