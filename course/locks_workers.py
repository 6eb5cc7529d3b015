"""Shared counters, locks and a deadlock for lesson 07 (threads only).

The lesson and ``tests/test_locks_workers.py`` run the same functions, so the
test proves what the lesson shows: the unlocked counter loses updates on every
run, the locked one never does, and the classic add-then-subtract example
stays at 0 on CPython 3.10 and later.
"""
from __future__ import annotations

import dis
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

WAIT_SECONDS = 10.0
"""Longest a thread waits at a barrier, so that a broken demo fails instead of hanging."""

JOIN_SECONDS = 120.0
"""Longest ``run_threads`` waits for its threads (locked counting is slow on a busy machine)."""

THREADS = 2
TIMES = 1_000_000
"""Increments per thread.  Measured on CPython 3.11-3.13: with two threads of a
million increments each, every run of ``count_in_threads(locked=False)`` lost
updates (hundreds of runs); with far fewer, some runs finish without losing any,
because a thread can do all its work within one 5 ms switch interval."""



class AnyLock(Protocol):
    """What ``threading.Lock()`` and ``threading.RLock()`` both provide."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool: ...

    def release(self) -> None: ...

    def __enter__(self) -> bool: ...

    def __exit__(self, *exc_info: object) -> None: ...


def run_threads(calls: list[tuple[Callable[..., Any], tuple[Any, ...]]],
                timeout: float = JOIN_SECONDS) -> list[Any]:
    """Run every ``(function, args)`` in a thread of its own; return the results in order.

    Raises ``TimeoutError`` if a thread is still running after ``timeout`` seconds.
    """
    results: list[Any] = [None] * len(calls)

    def call(index: int, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        results[index] = function(*args)

    threads = [threading.Thread(target=call, args=(i, f, a), name=f"{f.__name__}-{i}")
               for i, (f, a) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"{thread.name} still running after {timeout} s")
    return results


# --- the classic example: add n, then subtract it ----------------------------

balance = 0


def change_it(n: int) -> None:
    """Add ``n`` to the global ``balance``, then subtract it again: no net change."""
    global balance
    balance = balance + n
    balance = balance - n


def change_it_repeatedly(n: int, times: int, start: threading.Barrier) -> None:
    """Wait until every thread is ready, then call ``change_it(n)`` ``times`` times."""
    start.wait(WAIT_SECONDS)
    for _ in range(times):
        change_it(n)


def classic_balance(times: int = TIMES) -> int:
    """Run ``change_it(5)`` and ``change_it(8)`` in two threads at once; return ``balance``.

    ``balance`` starts at 0 and ends at 0 unless an update was lost.
    """
    global balance
    balance = 0
    start = threading.Barrier(2)
    run_threads([(change_it_repeatedly, (5, times, start)),
                 (change_it_repeatedly, (8, times, start))])
    return balance


# --- a counter with a function call between the read and the write -----------

@dataclass
class Counter:
    """An integer that several threads add to."""

    value: int = 0


def next_value(current: int) -> int:
    """Return ``current + 1``: a call that stands for any work between a read and a write."""
    return current + 1


def add_unlocked(counter: Counter, times: int, start: threading.Barrier) -> None:
    """Add 1 to ``counter`` ``times`` times, without a lock."""
    start.wait(WAIT_SECONDS)
    for _ in range(times):
        current = counter.value
        counter.value = next_value(current)


def add_with_pause(counter: Counter, times: int, start: threading.Barrier, pause_s: float) -> None:
    """Add 1 to ``counter`` ``times`` times, sleeping ``pause_s`` between the read and the write.

    The sleep stands for any wait (a file, a socket, a lock): a thread that
    blocks lets go of the GIL at once, so another thread runs in the gap.
    """
    start.wait(WAIT_SECONDS)
    for _ in range(times):
        current = counter.value
        time.sleep(pause_s)
        counter.value = current + 1


def add_locked(counter: Counter, times: int, start: threading.Barrier, lock: AnyLock) -> None:
    """Add 1 to ``counter`` ``times`` times, each read-and-write under ``lock``."""
    start.wait(WAIT_SECONDS)
    for _ in range(times):
        with lock:
            current = counter.value
            counter.value = next_value(current)


def count_in_threads(threads: int = THREADS, times: int = TIMES, locked: bool = False,
                     pause_s: float | None = None) -> int:
    """Let ``threads`` threads each add 1 ``times`` times to a new counter; return its value.

    A barrier makes the threads start counting together, so that they compete
    from the first increment.  Without losses the result is ``threads * times``.
    ``pause_s`` makes each thread sleep that long between its read and its
    write (:func:`add_with_pause`, unlocked).
    """
    counter = Counter()
    start = threading.Barrier(threads)
    if pause_s is not None:
        if locked:
            raise ValueError("pause_s is for the unlocked counter")
        calls = [(add_with_pause, (counter, times, start, pause_s)) for _ in range(threads)]
    elif locked:
        lock = threading.Lock()
        calls = [(add_locked, (counter, times, start, lock)) for _ in range(threads)]
    else:
        calls = [(add_unlocked, (counter, times, start)) for _ in range(threads)]
    run_threads(calls)
    return counter.value


# --- where CPython may switch threads -----------------------------------------

def instructions_between_read_and_write(function: Callable[..., Any], name: str) -> list[str]:
    """Names of the bytecode instructions after the first read of ``name`` and before its next write.

    ``name`` is a global or an attribute; its read is a ``LOAD_*`` and its
    write a ``STORE_*`` instruction whose argument is ``name``.
    """
    between: list[str] = []
    reading = False
    for instruction in dis.get_instructions(function):
        if instruction.argval == name and instruction.opname.startswith("LOAD"):
            reading = True
        elif instruction.argval == name and instruction.opname.startswith("STORE"):
            if reading:
                return between
        elif reading:
            between.append(instruction.opname)
    raise ValueError(f"{function.__name__} does not read and then write {name!r}")


SWITCH_POINTS = frozenset({"RESUME", "CALL", "CALL_KW", "CALL_FUNCTION_EX", "JUMP_BACKWARD"})
"""The instructions (as ``dis`` names them on 3.11 to 3.15) at which a running thread checks whether
another one asked for the GIL: a function's entry (``RESUME``), the end of a call (``CALL``; ``CALL_KW``
since 3.13), and the jump back to the top of a loop.  Not ``JUMP_BACKWARD_NO_INTERRUPT`` (3.12+, inside
``await`` and ``yield from``) nor ``CALL_INTRINSIC_1``/``_2`` (3.12+, helpers that never check).
A thread also lets go of the GIL whenever it blocks (I/O, sleeping, waiting for a lock) or runs C code
that releases it: that needs no instruction at all."""


def switch_points(opnames: list[str]) -> list[str]:
    """The instructions among ``opnames`` where CPython 3.10+ checks for a thread switch (:data:`SWITCH_POINTS`)."""
    return [op for op in opnames if op in SWITCH_POINTS]


# --- locks that give up -------------------------------------------------------

def acquire_and_release(lock: AnyLock, timeout: float) -> bool:
    """Try to take ``lock`` for ``timeout`` seconds; release it if taken; return whether it was."""
    taken = lock.acquire(timeout=timeout)
    if taken:
        lock.release()
    return taken


@contextmanager
def holding(lock: AnyLock, timeout: float = 0.5) -> Iterator[None]:
    """``with lock:``, except that it raises ``TimeoutError`` after ``timeout`` seconds of waiting."""
    if not lock.acquire(timeout=timeout):
        raise TimeoutError(f"lock not acquired within {timeout} s")
    try:
        yield
    finally:
        lock.release()


class Account:
    """A balance whose methods hold ``lock`` while they change it.

    ``deposit_all`` holds the lock and calls ``deposit``, which takes the same
    lock again: fine with an ``RLock``, a self-deadlock with a ``Lock``.
    """

    def __init__(self, lock: AnyLock) -> None:
        self.lock = lock
        self.balance = 0

    def deposit(self, amount: int) -> None:
        """Add ``amount`` to the balance."""
        with holding(self.lock):
            self.balance += amount

    def deposit_all(self, amounts: list[int]) -> None:
        """Deposit every amount, holding the lock throughout so nobody sees a partial total."""
        with holding(self.lock):
            for amount in amounts:
                self.deposit(amount)


# --- two locks: a deadlock, and the fix ---------------------------------------

def hold_first_try_second(first: AnyLock, second: AnyLock, both_hold: threading.Barrier,
                          both_tried: threading.Barrier, timeout: float) -> bool:
    """Take ``first``; once the other thread holds its first lock, try ``second``.

    Returns whether ``second`` was acquired within ``timeout`` seconds.  The
    first lock is kept until the other thread has tried too, so that neither
    can win by luck: with the locks in opposite orders both give up.
    """
    with first:
        both_hold.wait(WAIT_SECONDS)
        taken = acquire_and_release(second, timeout)
        both_tried.wait(WAIT_SECONDS)
    return taken


def in_lock_order(*locks: AnyLock) -> list[AnyLock]:
    """Return ``locks`` in one fixed order (by ``id``) that every thread agrees on."""
    return sorted(locks, key=id)


def take_both(first: AnyLock, second: AnyLock, start: threading.Barrier, timeout: float) -> bool:
    """After ``start``, take ``first`` then ``second`` (each within ``timeout``); return success."""
    start.wait(WAIT_SECONDS)
    with holding(first, timeout):
        return acquire_and_release(second, timeout)
