"""Measure a workload serially, in N threads or in N processes, and whole experiments.

Every run records

- the wall time of the run, and its two parts that matter: ``ready_s``, until
  every worker is started and waiting to begin (process start-up), and
  ``work_s``, from the moment they all begin until the last one is done,
- the CPU time of the process tree (this process plus the worker
  processes), as a percentage where 100 % is one core busy for the whole run,
- the CPU use of every core, from a :class:`~coursetools.gil.sampler.CpuSampler`.

For processes, the total CPU adds to this process's CPU time the CPU time
each worker process reports for itself when its work is done (interpreter
start-up included, exit not); ``wall_s`` includes starting the processes,
``work_s`` does not: workers are started first and released together, so a
speedup taken on ``work_s`` compares the work alone, however slow start-up is
(spawn starts a fresh interpreter per child).  Each run records the build it
ran on (``build``, e.g. ``CPython 3.14.0 free-threaded, GIL disabled``).

Everything that runs in a child process is a module-level function, so it
works under every start method (fork, spawn, forkserver).
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import interpreter
from .sampler import CoreSample, CpuSampler
from .workloads import WORKLOADS, calibrate, do_units, split_units

MODES = ("serial", "threads", "processes")


# --------------------------------------------------------------------------
# What one worker did


@dataclass
class WorkerReport:
    """One worker's share of a run, measured by the worker itself.

    ``ready``/``started``/``finished`` are ``time.monotonic()`` values (one
    clock for the whole machine on Linux, macOS and Windows): when the worker
    was ready and began to wait for the others (0.0 in a serial run), when it
    began its work, when it was done.  ``cpu_s`` is the
    worker's own CPU time: the thread's for threads and serial runs, the
    whole process's (start-up included) for processes.
    """

    pid: int
    thread_id: int
    units: int
    checksum: int
    started: float
    finished: float
    cpu_s: float
    ready: float = 0.0


def _work_in_thread(workload: str, units: int, ready: float = 0.0) -> WorkerReport:
    started = time.monotonic()
    cpu_before = time.thread_time()
    checksum = do_units(workload, units)
    return WorkerReport(
        pid=os.getpid(),
        thread_id=threading.get_ident(),
        units=units,
        checksum=checksum,
        started=started,
        finished=time.monotonic(),
        cpu_s=time.thread_time() - cpu_before,
        ready=ready,
    )


READY = "ready"
"""What a worker process sends once it is started and waiting for the go signal."""

READY_TIMEOUT_S = 60.0
"""Longest a started worker waits for the go signal (the parent failed if it never comes)."""


def process_worker(workload: str, units: int, conn: multiprocessing.connection.Connection, go: Any) -> None:
    """Child-process entry point: say ready, wait for ``go`` (an Event), do the units, send a WorkerReport."""
    try:
        ready = time.monotonic()
        conn.send(READY)
        if not go.wait(READY_TIMEOUT_S):
            return
        report = _work_in_thread(workload, units, ready)
        report.cpu_s = time.process_time()  # since this process started
        conn.send(report)
    finally:
        conn.close()


# --------------------------------------------------------------------------
# One run


@dataclass
class RunResult:
    """One measured run.  ``samples`` times are seconds from the run's start."""

    workload: str
    mode: str
    workers: int
    units: int
    wall_s: float
    cpu_s: float
    cpu_percent: float
    per_core_percent: list[float]
    samples: list[CoreSample] = field(default_factory=list)
    reports: list[WorkerReport] = field(default_factory=list)
    ready_s: float = 0.0
    """From the start of the run until every worker was started and waiting (process start-up)."""
    work_s: float = 0.0
    """From the moment all workers began until the last one was done: the work alone."""
    build: str = field(default_factory=interpreter.build_label)
    """The interpreter the run ran on, e.g. ``CPython 3.11.7, GIL enabled``."""

    def describe(self) -> str:
        """One line: mode, workers, wall and work time, total CPU, mean CPU of each core."""
        per_core = " ".join(f"{value:3.0f}" for value in self.per_core_percent)
        return (
            f"{self.workload:<3} {self.mode:<9} x{self.workers:<2} wall {self.wall_s:5.2f} s"
            f"  work {self.work_s:5.2f} s  total CPU {self.cpu_percent:4.0f} %  per core [{per_core}] %"
        )

    def as_dict(self, samples: bool = True) -> dict[str, Any]:
        """The JSON form used in results.json (worker reports left out)."""
        data = asdict(self)
        data.pop("reports")
        data["pids"] = sorted({report.pid for report in self.reports})
        if samples:
            data["samples"] = [[round(s.t, 4), [round(p, 1) for p in s.per_core]] for s in self.samples]
        else:
            data.pop("samples")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Rebuild a run from its JSON form (without worker reports)."""
        fields = {
            key: data[key]
            for key in ("workload", "mode", "workers", "units", "wall_s", "cpu_s", "cpu_percent", "per_core_percent")
        }
        samples = [CoreSample(t, list(per_core)) for t, per_core in data.get("samples", [])]
        # runs saved before ready_s, work_s and build existed: all wall time counted as work
        return cls(
            **fields,
            samples=samples,
            ready_s=data.get("ready_s", 0.0),
            work_s=data.get("work_s", data["wall_s"]),
            build=data.get("build", ""),
        )


def _own_cpu_s() -> float:
    # every thread of this process, in ns resolution (psutil's /proc ticks are 10 ms)
    return time.process_time()


@dataclass
class _Phases:
    """``time.monotonic()`` when every worker was ready, and when the last one was done."""

    ready: float
    done: float


def _run_threads(workload: str, shares: list[int]) -> tuple[list[WorkerReport], _Phases]:
    reports: list[WorkerReport | None] = [None] * len(shares)
    errors: list[BaseException] = []
    # All workers begin together, when this thread joins them at the barrier: none can
    # finish before the last one exists, so each run really has `workers` threads alive
    # at once, and the work is timed from the moment they all begin.
    all_started = threading.Barrier(len(shares) + 1)
    ready = 0.0

    def target(index: int, units: int) -> None:
        try:
            ready_at = time.monotonic()
            all_started.wait(timeout=60)
            reports[index] = _work_in_thread(workload, units, ready_at)
        except BaseException as error:  # re-raised in the caller below
            errors.append(error)

    threads = [
        threading.Thread(target=target, args=(index, units), name=f"gil-worker-{index}")
        for index, units in enumerate(shares)
    ]
    try:
        for thread in threads:
            thread.start()
        all_started.wait(timeout=60)
        ready = time.monotonic()
    except BaseException:
        all_started.abort()
        raise
    finally:
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    done = time.monotonic()
    if errors:
        raise errors[0]
    return [report for report in reports if report is not None], _Phases(ready, done)


def _receive(receiver: multiprocessing.connection.Connection, process: Any) -> Any:
    """The next message of a worker process, or RuntimeError with its exit code if it died first."""
    try:
        return receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"worker {process.name} died with exit code {process.exitcode}") from None


def _run_processes(workload: str, shares: list[int], context: Any) -> tuple[list[WorkerReport], _Phases]:
    pipes = [context.Pipe(duplex=False) for _ in shares]
    go = context.Event()
    processes = [
        context.Process(target=process_worker, args=(workload, units, sender, go), name=f"gil-worker-{index}")
        for index, (units, (_, sender)) in enumerate(zip(shares, pipes))
    ]
    try:
        with interpreter.fork_warning_ignored():
            for process in processes:
                process.start()
        for _, sender in pipes:
            sender.close()  # so recv() sees EOF if a child dies
        # Start-up (a fresh interpreter per child under spawn) is over once every child said
        # ready; the work is timed from the go signal on.
        for (receiver, _), process in zip(pipes, processes):
            if _receive(receiver, process) != READY:
                raise RuntimeError(f"worker {process.name} sent something else than {READY!r} first")
        ready = time.monotonic()
        go.set()
        reports = [_receive(receiver, process) for (receiver, _), process in zip(pipes, processes)]
        done = time.monotonic()
        for process in processes:
            process.join()
        return reports, _Phases(ready, done)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            if process.pid is not None:
                process.join()
        for receiver, _ in pipes:
            receiver.close()


def measure(
    workload: str,
    mode: str,
    workers: int = 1,
    units: int | None = None,
    *,
    seconds: float = 1.0,
    sampler: CpuSampler | None = None,
    mp_context: Any = None,
) -> RunResult:
    """Run ``units`` of ``workload`` in ``mode`` with ``workers`` workers.

    ``units`` None means "about ``seconds`` of serial work" (calibrated).
    ``mode`` "serial" always uses one worker, the calling thread.  For
    "processes" ``wall_s`` starts before the first child starts and stops
    after the last one is joined, so start-up is part of that price;
    ``work_s`` starts when every worker is ready and they are released
    together.
    ``sampler`` is reused when given (cheaper than a new sampler process per
    run); ``mp_context`` defaults to the current default start method.
    """
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose from {WORKLOADS}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
    if mode == "serial":
        workers = 1
    if units is None:
        units = calibrate(workload, seconds)
    shares = split_units(units, workers)
    context = mp_context or multiprocessing.get_context()
    if sampler is None:
        with CpuSampler(mp_context=context) as own_sampler:
            return measure(workload, mode, workers, units, sampler=own_sampler, mp_context=context)

    cpu_before = _own_cpu_s()
    sampler.start()
    start = time.monotonic()
    try:
        if mode == "serial":
            reports = [_work_in_thread(workload, units)]
            phases = _Phases(start, time.monotonic())
        elif mode == "threads":
            reports, phases = _run_threads(workload, shares)
        else:
            reports, phases = _run_processes(workload, shares, context)
    finally:
        # Also when the work failed: a sampler left sampling would take the
        # next run's "start" for a "stop" and quit.
        wall = time.monotonic() - start
        samples, overall = sampler.stop()
    cpu = _own_cpu_s() - cpu_before
    if mode == "processes":
        cpu += sum(report.cpu_s for report in reports)
    return RunResult(
        workload=workload,
        mode=mode,
        workers=workers,
        units=units,
        wall_s=wall,
        cpu_s=cpu,
        cpu_percent=100.0 * cpu / wall if wall > 0 else 0.0,
        per_core_percent=overall,
        samples=[CoreSample(s.t - start, s.per_core) for s in samples],
        reports=reports,
        ready_s=phases.ready - start,
        work_s=phases.done - phases.ready,
    )


# --------------------------------------------------------------------------
# Many runs: the experiment


def worker_counts(cores: int) -> list[int]:
    """1 to 2 x cores (at least 1 and 2), the x axis of the speedup plot."""
    return list(range(1, max(2, 2 * cores) + 1))


def plan(
    workloads: Iterable[str] = WORKLOADS,
    workers: Iterable[int] | None = None,
    modes: Iterable[str] = MODES,
) -> list[tuple[str, str, int]]:
    """The (workload, mode, workers) runs of one repeat, serial first."""
    counts = list(workers) if workers is not None else worker_counts(interpreter.cpu_count())
    runs = []
    for workload in workloads:
        for mode in modes:
            for count in [1] if mode == "serial" else counts:
                runs.append((workload, mode, count))
    return runs


def run_experiment(
    runs: Sequence[tuple[str, str, int]],
    *,
    repeats: int = 3,
    seconds: float = 1.0,
    progress: Callable[[int, int, RunResult], None] | None = None,
    mp_context: Any = None,
    background_s: float = 0.0,
) -> dict[str, Any]:
    """Measure every planned run ``repeats`` times; return the results.json dict.

    Units are calibrated once per workload, so every run of a workload does
    the same total work.  Repeats are interleaved (all runs once, then all
    again) so a burst of background load hits every mode alike.
    ``progress(done, total, result)`` is called after each run.  With
    ``background_s`` > 0 the sampler first watches the machine for that long
    with nothing of ours running: ``background_per_core_percent`` is what
    other programs used meanwhile (None when not measured).
    """
    context = mp_context or multiprocessing.get_context()
    units = {workload: calibrate(workload, seconds) for workload in dict.fromkeys(w for w, _, _ in runs)}
    results: list[dict[str, Any]] = []
    total = len(runs) * repeats
    with CpuSampler(mp_context=context) as sampler:
        background = None
        if background_s > 0:
            # What the machine does without us: other programs' load shrinks speedups.
            sampler.start()
            time.sleep(background_s)
            _, background = sampler.stop()
        for repeat in range(repeats):
            for workload, mode, workers in runs:
                result = measure(workload, mode, workers, units[workload], sampler=sampler, mp_context=context)
                entry = result.as_dict()
                entry["repeat"] = repeat
                results.append(entry)
                if progress is not None:
                    progress(len(results), total, result)
    return {
        "python": interpreter.python_description(),
        "build": interpreter.build_label(),
        "cpu_count": interpreter.cpu_count(),
        "gil_enabled": interpreter.gil_enabled(),
        "free_threaded_build": interpreter.free_threaded_build(),
        "start_method": context.get_start_method(),
        "switch_interval_s": sys.getswitchinterval(),
        "seconds_per_serial_run": seconds,
        "units": units,
        "background_per_core_percent": background,
        "runs": results,
    }

