"""Code for lesson 13: pool tasks, four ways to share an array, and threads that coordinate.

Pool tasks and the children of the sharing measurement live here so that a
child started with *spawn* or *forkserver* can import them by name; the
thread functions live here so that they can be tested.  ``measure_sharing``
and ``time_map`` are the parent-side halves of the two measurements.
"""
from __future__ import annotations

import os
import queue as queue_module
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.queues import Queue
from multiprocessing.shared_memory import SharedMemory
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any

import numpy as np

WAIT_SECONDS = 20.0
"""Longest any wait here lasts, so that a broken demo fails instead of hanging."""

SENTINEL = None
"""The "no more items" marker of the producer/consumer (``None`` survives pickling as itself)."""


# --- pool tasks --------------------------------------------------------------------

def add_one(number: int) -> int:
    """A tiny task: ``number + 1`` (the pool's own overhead is all there is to measure)."""
    return number + 1


def worker_pid(_: Any = None) -> int:
    """The PID of the process that runs this task."""
    return os.getpid()


def half(number: int) -> int:
    """``number // 2``, or ValueError for an odd number."""
    if number % 2:
        raise ValueError(f"{number} is odd")
    return number // 2


_setting: str | None = None
_initializer_calls = 0


def remember_setting(setting: str) -> None:
    """Pool initializer: keep ``setting`` in this worker process (it runs once per worker)."""
    global _setting, _initializer_calls
    _setting = setting
    _initializer_calls += 1


def read_setting(_: Any = None) -> tuple[int, str | None, int]:
    """(worker PID, the setting its initializer kept, how many times the initializer ran there)."""
    return os.getpid(), _setting, _initializer_calls


def time_map(executor: Executor, tasks: int, chunksize: int, repeats: int = 2) -> float:
    """Best of ``repeats`` wall times (seconds) of ``executor.map(add_one, range(tasks), chunksize=...)``."""
    best = float("inf")
    expected = list(range(1, tasks + 1))
    for _ in range(repeats):
        began = time.perf_counter()
        results = list(executor.map(add_one, range(tasks), chunksize=chunksize, timeout=WAIT_SECONDS * 3))
        best = min(best, time.perf_counter() - began)
        if results != expected:
            raise AssertionError(f"map with chunksize {chunksize} returned wrong results")
    return best


# --- sharing an array: the four children -------------------------------------------
# Each child waits for a message per round, reads the whole array the way its method
# allows, and answers with its sum.  Every child first answers "ready".

def sum_from_queue(data: Queue, answers: Queue, rounds: int) -> None:
    """Each round: take a pickled array from ``data`` and answer its sum."""
    answers.put("ready")
    for _ in range(rounds):
        array = data.get(timeout=WAIT_SECONDS)
        answers.put(float(array.sum()))


def sum_from_shared_memory(name: str, length: int, go: Queue, answers: Queue, rounds: int) -> None:
    """Each round: on a message from ``go``, sum the float64 array in shared memory block ``name``."""
    block = SharedMemory(name=name)
    view = np.ndarray((length,), dtype=np.float64, buffer=block.buf)
    answers.put("ready")
    for _ in range(rounds):
        go.get(timeout=WAIT_SECONDS)
        answers.put(float(view.sum()))
    del view  # the block cannot close while an array still points into it
    block.close()


def sum_from_array(shared: Any, go: Queue, answers: Queue, rounds: int) -> None:
    """Each round: on a message from ``go``, sum the ``multiprocessing.Array`` under its lock."""
    answers.put("ready")
    for _ in range(rounds):
        go.get(timeout=WAIT_SECONDS)
        with shared.get_lock():
            answers.put(float(np.frombuffer(shared.get_obj(), dtype=np.float64).sum()))


def sum_from_proxy(values: Any, go: Queue, answers: Queue, rounds: int) -> None:
    """Each round: on a message from ``go``, copy the manager's list through its proxy and sum it."""
    answers.put("ready")
    for _ in range(rounds):
        go.get(timeout=WAIT_SECONDS)
        answers.put(float(sum(values[:])))


@dataclass(frozen=True)
class SharingRun:
    """One sharing method measured: ``rounds`` rounds of writing ``megabytes`` and reading them in a child."""

    method: str
    megabytes: float
    rounds: int
    seconds: float
    correct: bool

    @property
    def megabytes_per_second(self) -> float:
        return self.megabytes * self.rounds / self.seconds


SHARING_METHODS = ("queue (pickled)", "shared_memory", "Array (with its lock)", "Manager list proxy")


def measure_sharing(method: str, length: int, rounds: int, context: BaseContext) -> SharingRun:
    """Time ``rounds`` rounds in which this process writes a fresh float64 array of ``length`` values
    and a child of ``context`` reads all of it through ``method`` (one of SHARING_METHODS) and
    answers its sum.  The child is started, and has said "ready", before the clock starts."""
    answers, go = context.Queue(), context.Queue()
    cleanup: list[Callable[[], None]] = []
    if method == "queue (pickled)":
        target, args = sum_from_queue, (go, answers, rounds)

        def send(array: np.ndarray) -> None:
            go.put(array)
    elif method == "shared_memory":
        block = SharedMemory(create=True, size=length * 8)
        view = np.ndarray((length,), dtype=np.float64, buffer=block.buf)
        target, args = sum_from_shared_memory, (block.name, length, go, answers, rounds)

        def send(array: np.ndarray) -> None:
            view[:] = array
            go.put(1)

        def release_block() -> None:
            nonlocal view
            del view
            block.close()
            block.unlink()
        cleanup.append(release_block)
    elif method == "Array (with its lock)":
        shared = context.Array("d", length, lock=True)
        target, args = sum_from_array, (shared, go, answers, rounds)

        def send(array: np.ndarray) -> None:
            with shared.get_lock():
                np.frombuffer(shared.get_obj(), dtype=np.float64)[:] = array
            go.put(1)
    elif method == "Manager list proxy":
        manager = context.Manager()
        values = manager.list()
        target, args = sum_from_proxy, (values, go, answers, rounds)

        def send(array: np.ndarray) -> None:
            values[:] = array.tolist()
            go.put(1)
        cleanup.append(manager.shutdown)
    else:
        raise ValueError(f"unknown method {method!r}: choose one of {SHARING_METHODS}")
    child = context.Process(target=target, args=args, name=f"reader ({method})")
    child.start()
    try:
        if answers.get(timeout=WAIT_SECONDS) != "ready":
            raise RuntimeError("the child did not start properly")
        base = np.arange(length, dtype=np.float64)
        correct = True
        began = time.perf_counter()
        for round_number in range(rounds):
            array = base + round_number
            send(array)
            correct &= abs(answers.get(timeout=WAIT_SECONDS) - float(array.sum())) < 1e-6 * length * length
        seconds = time.perf_counter() - began
        child.join(timeout=WAIT_SECONDS)
    finally:
        if child.is_alive():
            child.kill()
            child.join(timeout=WAIT_SECONDS)
        for release in cleanup:
            release()
    return SharingRun(method, length * 8 / 1e6, rounds, seconds, correct and child.exitcode == 0)


# --- a lost update between processes, and the lock that prevents it -----------------

def add_one_racily(counter: Any, barrier: ProcessBarrier, rounds: int) -> None:
    """Each round: read ``counter``, meet the other process, write read + 1, meet again.

    The barrier forces the bad interleaving every round: both processes read
    before either writes, so one of the two increments is lost.
    """
    for _ in range(rounds):
        seen = counter.value
        barrier.wait(timeout=WAIT_SECONDS)
        counter.value = seen + 1
        barrier.wait(timeout=WAIT_SECONDS)


def add_one_locked(counter: Any, rounds: int) -> None:
    """Each round: read and write ``counter`` in one step, holding its lock."""
    for _ in range(rounds):
        with counter.get_lock():
            counter.value += 1


# --- threads that coordinate --------------------------------------------------------

def work_until_cancelled(stop: threading.Event, steps: list[int]) -> None:
    """Do small steps (append to ``steps``) until ``stop`` is set; check it between steps."""
    while not stop.wait(0.005):
        steps.append(1)


class Peak:
    """How many threads are inside a block at once, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def __enter__(self) -> Peak:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.inside -= 1


def limited_task(limit: threading.Semaphore, group: threading.Barrier, peak: Peak) -> None:
    """Enter ``limit``; inside, wait until ``group``'s parties are all inside too, then leave.

    The barrier makes the semaphore's bound visible: the threads go in batches
    of exactly as many as it lets in at once.  The barrier's own timeout bounds the wait.
    """
    with limit, peak:
        group.wait()


def produce(items: queue_module.Queue, first: int, count: int, high_water: list[int]) -> None:
    """Put ``count`` numbers from ``first`` on the bounded queue ``items``; note its size after each put."""
    for number in range(first, first + count):
        items.put(number, timeout=WAIT_SECONDS)
        high_water.append(items.qsize())


def consume(items: queue_module.Queue, taken: list[int], seconds_per_item: float = 0.0) -> None:
    """Take items until the sentinel, calling ``task_done`` for every item (sentinel included)."""
    while True:
        item = items.get(timeout=WAIT_SECONDS)
        try:
            if item is SENTINEL:
                return
            time.sleep(seconds_per_item)
            taken.append(item)
        finally:
            items.task_done()


def consume_until_shutdown(items: queue_module.Queue, taken: list[int]) -> None:
    """Take items until the queue is shut down and empty (``Queue.shutdown``, Python 3.13+)."""
    while True:
        try:
            item = items.get(timeout=WAIT_SECONDS)
        except queue_module.ShutDown:  # type: ignore[attr-defined]
            return
        taken.append(item)
        items.task_done()


def join_queue(items: queue_module.Queue, timeout: float = WAIT_SECONDS) -> bool:
    """``items.join()`` (wait until every item was marked done) with a timeout: True if it returned.

    ``Queue.join`` has no timeout of its own, so it runs in a daemon thread that is waited for.
    """
    waiter = threading.Thread(target=items.join, daemon=True, name="queue-join")
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()
