"""The tasks lesson 03 hands to process pools.

A pool's worker process imports this module by name to run a task (under the
spawn and forkserver start methods), so the tasks cannot live in notebook
cells.  Tasks return what they found out, including the worker's PID, instead
of printing it: in a notebook a worker's output may land in the wrong cell.
"""
from __future__ import annotations

import os
import time
from typing import TypedDict


class TaskRun(TypedDict):
    """When and where one task ran (times from ``time.time()``, in seconds)."""

    task: int
    pid: int
    start: float
    end: float


def square(number: int) -> int:
    """Return ``number`` squared."""
    return number * number


def square_and_pid(number: int) -> tuple[int, int]:
    """Return ``number`` squared and the PID of the process that computed it."""
    return number * number, os.getpid()


def check_positive(number: int) -> int:
    """Return ``number``, or raise ValueError when it is not positive."""
    if number <= 0:
        raise ValueError(f"{number} is not positive")
    return number


def slow_square(number: int, seconds: float) -> int:
    """Sleep ``seconds``, then return ``number`` squared."""
    time.sleep(seconds)
    return number * number


def timed_sleep(task: int, seconds: float) -> TaskRun:
    """Sleep ``seconds`` and report when, and in which process, task ``task`` ran.

    ``time.time()`` is a wall clock that every process on the machine shares,
    so runs from different workers can be drawn on one time axis.
    """
    start = time.time()
    time.sleep(seconds)
    return {"task": task, "pid": os.getpid(), "start": start, "end": time.time()}
