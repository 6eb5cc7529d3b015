"""Measure what the GIL does to threads and processes, with your own CPU.

Run a workload serially, in N threads or in N processes, and record

- the wall time of the run,
- the CPU time of the process tree (this process plus the worker
  processes), as a percentage where 100 % is one core busy for the whole run,
- the CPU use of every core, sampled ~12 times a second by a separate
  sampler process (a sampler thread inside this process would compete for
  the very GIL it measures).

Three workloads, each made of equal "units" that are split as evenly as
possible between the workers (strong scaling: the total work is the same in
every mode, so ``speedup = serial wall time / parallel wall time``):

``"cpu"``  pure Python arithmetic: needs the GIL the whole time;
``"io"``   a short sleep plus writing and reading back a small file: waits
           without the GIL;
``"c"``    SHA-256 of a 1 MiB buffer: C code that releases the GIL while it
           hashes.

For processes, the total CPU adds to this process's CPU time the CPU time
each worker process reports for itself when its work is done (interpreter
start-up included, exit not); the clock includes starting the processes.

Also here: ``gil_turns`` (how long a thread keeps the GIL), ``rendezvous``
and ``echo_after`` (child-process jobs that let tests prove calls ran at
the same time and in order), ``synthetic_runs`` (made-up measurements with a
known answer, for tests and problem set 4), and the medians, speedups and
verdicts of an experiment.

Everything that runs in a child process is a module-level function here, so
it works under every start method (fork, spawn, forkserver).  Lesson 08, the
``make gil-lab`` experiment (``coursetools.gil_lab``) and problem set ps4 all
use this module; the plots are in ``coursetools.gil_plots``.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.connection
import os
import random
import statistics
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

WORKLOADS = ("cpu", "io", "c")
MODES = ("serial", "threads", "processes")
WORKLOAD_TITLES = {
    "cpu": "CPU-bound (pure Python)",
    "io": "I/O-bound (sleep + file)",
    "c": "C code releasing the GIL (SHA-256)",
}
SAMPLE_INTERVAL_S = 0.08
"""Sampler period: 12.5 samples per second, so >= 10 Hz even with late ticks."""

CPU_UNIT_LOOPS = 20_000
HASH_BUFFER_BYTES = 1 << 20
IO_UNIT_SLEEP_S = 0.004
IO_UNIT_BYTES = 64 * 1024

_FORK_WARNING = r".*multi-threaded, use of fork\(\) may lead to deadlocks"


# --------------------------------------------------------------------------
# The interpreter and the machine


def gil_enabled() -> bool:
    """True when this interpreter runs with a GIL.

    ``sys._is_gil_enabled()`` exists from Python 3.13; every build before
    that has a GIL.  A free-threaded build (3.13t, 3.14t) can still turn it
    on at run time (``PYTHON_GIL=1``, or an extension that needs it).
    """
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def free_threaded_build() -> bool:
    """True for a CPython built with ``--disable-gil`` (the ``t`` builds)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def cpu_count() -> int:
    """Number of logical CPUs, the length of every per-core list here.

    Tests monkeypatch this function to check the single-core path.
    """
    return psutil.cpu_count(logical=True) or 1


def python_description() -> str:
    """``CPython 3.11.7`` plus `` free-threaded`` on a ``t`` build."""
    name = sys.implementation.name
    pretty = {"cpython": "CPython", "pypy": "PyPy"}.get(name, name)
    version = ".".join(str(part) for part in sys.version_info[:3])
    return f"{pretty} {version}" + (" free-threaded" if free_threaded_build() else "")


# --------------------------------------------------------------------------
# Workloads


def spin(loops: int) -> int:
    """Pure Python arithmetic: ``loops`` iterations holding the GIL."""
    total = 0
    for number in range(loops):
        total += number * number % 7
    return total


def _hash_buffer() -> bytes:
    return bytes(range(256)) * (HASH_BUFFER_BYTES // 256)


def do_units(workload: str, units: int) -> int:
    """Do ``units`` units of ``workload`` in the calling thread; return a checksum.

    The checksum depends only on ``workload`` and ``units`` (so tests can
    check that nothing was skipped).
    """
    if workload == "cpu":
        return sum(spin(CPU_UNIT_LOOPS) for _ in range(units))
    if workload == "c":
        buffer = _hash_buffer()
        checksum = 0
        for _ in range(units):
            checksum ^= hashlib.sha256(buffer).digest()[0]
        return checksum + units
    if workload == "io":
        payload = b"x" * IO_UNIT_BYTES
        with tempfile.TemporaryFile() as scratch:
            for _ in range(units):
                time.sleep(IO_UNIT_SLEEP_S)
                scratch.seek(0)
                scratch.write(payload)
                scratch.flush()
                scratch.seek(0)
                if scratch.read() != payload:
                    raise OSError("scratch file did not read back what was written")
        return units
    raise ValueError(f"unknown workload {workload!r}; choose from {WORKLOADS}")


def split_units(units: int, workers: int) -> list[int]:
    """Split ``units`` into ``workers`` shares that differ by at most one."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    share, extra = divmod(units, workers)
    return [share + (1 if index < extra else 0) for index in range(workers)]


def calibrate(workload: str, seconds: float) -> int:
    """How many units of ``workload`` take about ``seconds`` here, serially.

    Times a growing batch until it lasts at least a tenth of the target
    (and at least 20 ms), then scales.  Returns at least 1.
    """
    units = 1
    while True:
        start = time.perf_counter()
        do_units(workload, units)
        elapsed = time.perf_counter() - start
        if elapsed >= min(0.2, max(0.02, seconds / 10)) or units >= 1 << 20:
            return max(1, round(units * seconds / elapsed))
        units *= 4


# --------------------------------------------------------------------------
# What one worker did


@dataclass
class WorkerReport:
    """One worker's share of a run, measured by the worker itself.

    ``started``/``finished`` are ``time.monotonic()`` values (one clock for
    the whole machine on Linux, macOS and Windows).  ``cpu_s`` is the
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


def _work_in_thread(workload: str, units: int) -> WorkerReport:
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
    )


def process_worker(workload: str, units: int, conn: multiprocessing.connection.Connection) -> None:
    """Child-process entry point: do the units, send back a WorkerReport."""
    try:
        report = _work_in_thread(workload, units)
        report.cpu_s = time.process_time()  # since this process started
        conn.send(report)
    finally:
        conn.close()


def gil_turns(seconds: float = 0.3, threads: int = 2) -> list[float]:
    """How long CPU-bound threads keep running before another one takes over.

    ``threads`` threads spin for ``seconds``; whenever one notices that it
    was not the last to run, it notes the time.  The gaps between those
    take-overs are the turns (in seconds).  With a GIL a turn lasts about
    ``sys.getswitchinterval()``; without one, threads run at once and the
    "turns" shrink to microseconds.
    """
    last_runner = [0]
    takeovers: list[float] = []
    all_started = threading.Barrier(threads)
    deadline = [0.0]

    def spin_and_watch() -> None:
        me = threading.get_ident()
        if all_started.wait(timeout=60) == 0:
            deadline[0] = time.perf_counter() + seconds
        while not deadline[0]:
            pass
        while (now := time.perf_counter()) < deadline[0]:
            if last_runner[0] != me:
                last_runner[0] = me
                takeovers.append(now)

    workers = [threading.Thread(target=spin_and_watch, name=f"turn-taker-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    takeovers.sort()
    return [later - earlier for earlier, later in zip(takeovers, takeovers[1:])]


def rendezvous(folder: str, parties: int, timeout: float = 8.0) -> tuple[int, bool]:
    """Wait until ``parties`` processes have called this with the same folder.

    Returns ``(pid, True)`` when all of them were there at the same time, and
    ``(pid, False)`` after ``timeout`` seconds otherwise (then it also marks
    the folder as broken, so that later callers give up at once).  A test
    that runs this in several processes proves that they really ran at the
    same time: calls made one after the other can never all meet.
    """
    here = Path(folder)
    (here / f"arrived-{os.getpid()}").touch()
    broken = here / "broken"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not broken.exists():
        if len(list(here.glob("arrived-*"))) >= parties:
            return os.getpid(), True
        time.sleep(0.01)
    broken.touch()
    return os.getpid(), False


def echo_after(value: Any, seconds: float) -> tuple[int, Any]:
    """Return ``(pid, value)`` after sleeping ``seconds`` (for ordering tests)."""
    time.sleep(seconds)
    return os.getpid(), value


# --------------------------------------------------------------------------
# Per-core CPU sampling, from another process


@dataclass
class CoreSample:
    """Busy percentage of every core over the interval that ends at ``t``."""

    t: float
    per_core: list[float]


def busy_percent(before: Sequence[Any], after: Sequence[Any]) -> list[float]:
    """Per-core busy percentage between two ``psutil.cpu_times(percpu=True)``.

    Busy means neither idle nor waiting for I/O; guest time is already
    counted in user time on Linux, so it is not added twice.
    """
    percents = []
    for old, new in zip(before, after):
        def total(times: Any) -> float:
            extra = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
            return sum(times) - extra

        def idle(times: Any) -> float:
            return times.idle + getattr(times, "iowait", 0.0)

        elapsed = total(new) - total(old)
        busy = elapsed - (idle(new) - idle(old))
        percents.append(0.0 if elapsed <= 0 else max(0.0, min(100.0, 100.0 * busy / elapsed)))
    return percents


def sampler_loop(conn: multiprocessing.connection.Connection, interval: float) -> None:
    """Sampler process: answer ``"start"``/``"stop"``/``"quit"`` on ``conn``.

    After ``"start"`` it takes a sample every ``interval`` seconds until
    ``"stop"`` arrives, then sends ``(samples, per_core_over_whole_run)``.
    """
    try:
        while True:
            command = conn.recv()
            if command != "start":
                return
            first = previous = psutil.cpu_times(percpu=True)
            conn.send(("started", time.monotonic()))
            samples: list[CoreSample] = []
            next_tick = time.monotonic() + interval
            while not conn.poll(max(0.0, next_tick - time.monotonic())):
                current = psutil.cpu_times(percpu=True)
                now = time.monotonic()
                samples.append(CoreSample(now, busy_percent(previous, current)))
                previous = current
                next_tick += interval
                if next_tick < now:  # starved: skip the ticks we missed
                    next_tick = now + interval
            conn.recv()  # "stop"
            last = psutil.cpu_times(percpu=True)
            samples.append(CoreSample(time.monotonic(), busy_percent(previous, last)))
            conn.send((samples, busy_percent(first, last)))
    except (EOFError, OSError, KeyboardInterrupt):
        return
    finally:
        conn.close()


class CpuSampler:
    """A sampler process that records per-core CPU between start() and stop().

    Use it as a context manager so the process always ends::

        with CpuSampler() as sampler:
            sampler.start()
            ...                     # the work to watch
            samples, overall = sampler.stop()
    """

    def __init__(self, interval: float = SAMPLE_INTERVAL_S, mp_context: Any = None) -> None:
        self.interval = interval
        self._context = mp_context or multiprocessing.get_context()
        self._conn: multiprocessing.connection.Connection | None = None
        self.process: Any = None
        self.started_at: float | None = None

    def __enter__(self) -> CpuSampler:
        ours, theirs = self._context.Pipe()
        self.process = self._context.Process(
            target=sampler_loop, args=(theirs, self.interval), name="cpu-sampler", daemon=True
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_FORK_WARNING, category=DeprecationWarning)
            self.process.start()
        theirs.close()
        self._conn = ours
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> float:
        """Take the baseline; return its ``time.monotonic()``."""
        _, self.started_at = self._ask("start")
        return self.started_at

    def stop(self) -> tuple[list[CoreSample], list[float]]:
        """Return the samples since start() and each core's busy % over them."""
        samples, overall = self._ask("stop")
        return samples, overall

    def _ask(self, command: str) -> Any:
        if self._conn is None:
            raise RuntimeError("use CpuSampler as a context manager")
        try:
            self._conn.send(command)
            return self._conn.recv()
        except (EOFError, OSError) as error:
            exitcode = None if self.process is None else self.process.exitcode
            raise RuntimeError(f"the sampler process is gone (exit code {exitcode})") from error

    def close(self) -> None:
        """Tell the sampler to quit and wait for it (kill it if it won't)."""
        if self._conn is not None:
            try:
                self._conn.send("quit")
            except OSError:
                pass
            self._conn.close()
            self._conn = None
        if self.process is not None:
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.process = None


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

    def describe(self) -> str:
        """One line: mode, workers, wall time, total CPU, mean CPU of each core."""
        per_core = " ".join(f"{value:3.0f}" for value in self.per_core_percent)
        return (
            f"{self.workload:<3} {self.mode:<9} x{self.workers:<2} wall {self.wall_s:5.2f} s"
            f"  total CPU {self.cpu_percent:4.0f} %  per core [{per_core}] %"
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
        return cls(**fields, samples=samples)


def _own_cpu_s() -> float:
    # every thread of this process, in ns resolution (psutil's /proc ticks are 10 ms)
    return time.process_time()


def _run_threads(workload: str, shares: list[int]) -> list[WorkerReport]:
    reports: list[WorkerReport | None] = [None] * len(shares)
    errors: list[BaseException] = []
    # All workers begin together: none can finish before the last one exists,
    # so each run really has `workers` threads alive at once.
    all_started = threading.Barrier(len(shares))

    def target(index: int, units: int) -> None:
        try:
            all_started.wait(timeout=60)
            reports[index] = _work_in_thread(workload, units)
        except BaseException as error:  # re-raised in the caller below
            errors.append(error)

    threads = [
        threading.Thread(target=target, args=(index, units), name=f"gil-worker-{index}")
        for index, units in enumerate(shares)
    ]
    try:
        for thread in threads:
            thread.start()
    except BaseException:
        all_started.abort()
        raise
    finally:
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    if errors:
        raise errors[0]
    return [report for report in reports if report is not None]


def _run_processes(workload: str, shares: list[int], context: Any) -> list[WorkerReport]:
    pipes = [context.Pipe(duplex=False) for _ in shares]
    processes = [
        context.Process(target=process_worker, args=(workload, units, sender), name=f"gil-worker-{index}")
        for index, (units, (_, sender)) in enumerate(zip(shares, pipes))
    ]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_FORK_WARNING, category=DeprecationWarning)
            for process in processes:
                process.start()
        for _, sender in pipes:
            sender.close()  # so recv() sees EOF if a child dies
        reports = []
        for (receiver, _), process in zip(pipes, processes):
            try:
                reports.append(receiver.recv())
            except EOFError:
                process.join()
                raise RuntimeError(f"worker {process.name} died with exit code {process.exitcode}") from None
        for process in processes:
            process.join()
        return reports
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
    "processes" the clock starts before the first child starts and stops
    after the last one is joined, so start-up is part of the price.
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
        elif mode == "threads":
            reports = _run_threads(workload, shares)
        else:
            reports = _run_processes(workload, shares, context)
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
    )


# --------------------------------------------------------------------------
# Many runs: the experiment, medians and speedups


def worker_counts(cores: int) -> list[int]:
    """1 to 2 x cores (at least 1 and 2), the x axis of the speedup plot."""
    return list(range(1, max(2, 2 * cores) + 1))


def plan(
    workloads: Iterable[str] = WORKLOADS,
    workers: Iterable[int] | None = None,
    modes: Iterable[str] = MODES,
) -> list[tuple[str, str, int]]:
    """The (workload, mode, workers) runs of one repeat, serial first."""
    counts = list(workers) if workers is not None else worker_counts(cpu_count())
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
        "python": python_description(),
        "cpu_count": cpu_count(),
        "gil_enabled": gil_enabled(),
        "free_threaded_build": free_threaded_build(),
        "start_method": context.get_start_method(),
        "switch_interval_s": sys.getswitchinterval(),
        "seconds_per_serial_run": seconds,
        "units": units,
        "background_per_core_percent": background,
        "runs": results,
    }


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
    cores = cpu_count() if cores is None else cores
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
