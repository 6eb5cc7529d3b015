"""Workers for lesson 10: the same master/worker code on threads and on processes.

Run as a program it demonstrates what a crash in a *thread* does to its
process (the lesson runs these in a subprocess, so the kernel survives)::

    python -m processes_vs_threads_workers thread-raises
    python -m processes_vs_threads_workers thread-exits
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, NamedTuple, Protocol

STOP = None
"""Sentinel a master puts once per worker: no more tasks."""


class TaskQueue(Protocol):
    """What ``worker_loop`` needs: ``queue.Queue`` and ``multiprocessing.Queue`` both fit."""

    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None: ...


def worker_loop(tasks: TaskQueue, results: TaskQueue, idle_timeout: float = 10.0) -> None:
    """Square numbers from ``tasks`` until ``STOP``; put ``(n, n*n, pid, thread name)``.

    The first message is ``("ready", pid, thread name)`` so the master learns
    who its workers are even if one of them gets no task.  A worker that waits
    ``idle_timeout`` seconds without a task gives up (``queue.Empty`` escapes).
    """
    me = (os.getpid(), threading.current_thread().name)
    results.put(("ready", *me))
    while (n := tasks.get(timeout=idle_timeout)) is not STOP:
        results.put((n, n * n, *me))


# --- crashes -----------------------------------------------------------------

def finish_task() -> None:
    """A worker that does its job and returns normally (exit code 0)."""


def exit_abruptly(code: int = 3) -> None:
    """A worker that ends its process at once, skipping all cleanup."""
    os._exit(code)


def kill_self() -> None:
    """A worker killed by a signal, as a segfault or the OOM killer would do."""
    os.kill(os.getpid(), signal.SIGKILL)


def thread_raises() -> None:
    """An exception escapes a thread: it is reported and the process carries on."""
    def fail() -> None:
        raise ValueError("bad input in a worker thread")

    worker = threading.Thread(target=fail, name="worker")
    worker.start()
    worker.join()
    print("main thread: still running after the worker raised", flush=True)


def thread_exits(code: int = 7) -> None:
    """``os._exit`` in a thread ends the whole process, main thread included."""
    worker = threading.Thread(target=os._exit, args=(code,), name="worker")
    worker.start()
    worker.join(timeout=10)
    print("main thread: this line is never reached", flush=True)


# --- cost of starting ----------------------------------------------------------

def do_nothing() -> None:
    """A target that returns at once, so only starting and joining is measured."""


def start_join_seconds(kind: str, count: int) -> float:
    """Seconds to start ``count`` threads or processes running ``do_nothing`` and join them.

    ``kind`` is ``"thread"`` or a start method (``"fork"``, ``"spawn"``,
    ``"forkserver"``).
    """
    if kind == "thread":
        make = threading.Thread
    else:
        make = multiprocessing.get_context(kind).Process
    begin = time.perf_counter()
    workers = [make(target=do_nothing) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - begin


class Spread(NamedTuple):
    """The median of some timings and their quartiles, in seconds."""

    median: float
    low: float   # first quartile
    high: float  # third quartile


def spread(seconds: list[float]) -> Spread:
    """Median and quartiles of ``seconds`` (at least two timings)."""
    low, median, high = statistics.quantiles(seconds, n=4, method="inclusive")
    return Spread(median, low, high)


def start_costs(kinds: list[str], counts: list[int], repeats: int = 5) -> dict[str, dict[int, Spread]]:
    """``start_join_seconds`` for every kind and count, ``repeats`` times each: their spread.

    Each kind first starts one worker that is not counted (imports, caches, and
    the forkserver's server, whose one-time start :func:`forkserver_server_seconds`
    measures apart).  The repeats go round all counts in turn, so that a burst of
    load elsewhere spreads over every count instead of spoiling one.
    """
    runs: dict[str, dict[int, list[float]]] = {kind: {n: [] for n in counts} for kind in kinds}
    for kind in kinds:
        start_join_seconds(kind, 1)
        for _ in range(repeats):
            for n in counts:
                runs[kind][n].append(start_join_seconds(kind, n))
    return {kind: {n: spread(seconds) for n, seconds in by_count.items()} for kind, by_count in runs.items()}


SERVER_START = """\
import multiprocessing, os, statistics, time

context = multiprocessing.get_context("forkserver")

def start_one():
    began = time.perf_counter()
    child = context.Process(target=os.getpid)
    child.start()
    child.join()
    return time.perf_counter() - began

first = start_one()
print(first - statistics.median(start_one() for _ in range(3)))
"""


def forkserver_server_seconds(repeats: int = 3) -> Spread:
    """Seconds a program's first forkserver child costs more than the next ones: starting the server.

    Measured in fresh Pythons (``repeats`` of them), since a running program
    starts its server only once, for its first forkserver child.
    """
    seconds = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", SERVER_START], capture_output=True, text=True,
                              timeout=60, check=True)
        seconds.append(float(done.stdout))
    return spread(seconds)


def rises_within_spread(by_count: dict[int, Spread]) -> bool:
    """Whether the cost never falls from one count to the next by more than the quartiles allow."""
    rows = [by_count[n] for n in sorted(by_count)]
    return all(later.high >= earlier.low for earlier, later in zip(rows, rows[1:]))


def usable_cpus() -> int:
    """CPUs this process may run on: ``os.process_cpu_count()`` (3.13+), else its affinity mask,
    else every CPU of the machine (``os.cpu_count()``)."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# --- CPU-bound work ------------------------------------------------------------

def count_down(n: int) -> int:
    """Pure-Python CPU work: count from ``n`` to zero; return how many steps ran."""
    steps = 0
    while n > 0:
        n -= 1
        steps += 1
    return steps


DEMOS = {"thread-raises": thread_raises, "thread-exits": thread_exits}


def main(argv: list[str]) -> int:
    """Run the crash demo named by ``argv[0]``."""
    if len(argv) != 1 or argv[0] not in DEMOS:
        print(f"usage: python -m processes_vs_threads_workers {{{'|'.join(DEMOS)}}}", file=sys.stderr)
        return 2
    DEMOS[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
