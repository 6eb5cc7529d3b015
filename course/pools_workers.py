"""The tasks lesson 03 hands to process pools.

A pool's worker process imports this module by name to run a task (under the
spawn and forkserver start methods), so the tasks cannot live in notebook
cells.  Tasks return what they found out, including the worker's PID, instead
of printing it: in a notebook a worker's output may land in the wrong cell, or
nowhere (the lesson's last section shows where it goes, and how logging gets
back to the notebook).
"""
from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
import time
from multiprocessing.queues import Queue
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


# --- output and logging from workers -------------------------------------------

def print_and_square(number: int) -> int:
    """Print a line from the worker (flushed at once), then return ``number`` squared."""
    print(f"printed by a worker process: {number} squared is {number * number}", flush=True)
    return number * number


def stdout_kind(_: object = None) -> str:
    """What ``sys.stdout`` is in the process that runs this: its class, and its file descriptor if plain."""
    stream = sys.stdout
    kind = f"{type(stream).__module__}.{type(stream).__qualname__}"
    if isinstance(stream, io.TextIOWrapper):
        kind += f" on file descriptor {stream.fileno()}"
    return kind


def log_to(records: Queue) -> None:
    """Pool initializer: send every log record of this worker to ``records`` (a ``QueueHandler``)."""
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(logging.INFO)


def square_and_log(number: int) -> int:
    """Log at INFO level what it computes, then return ``number`` squared."""
    logging.getLogger("pools_workers").info("squared %d", number)
    return number * number
