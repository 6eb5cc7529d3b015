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
import sys
import threading
import time
from typing import Any, Protocol

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
