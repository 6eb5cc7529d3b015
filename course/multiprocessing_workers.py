"""What lesson 02 runs in child processes.

Under the spawn and forkserver start methods a child finds the function it
must run by importing its module by name, so every ``Process`` target and
pool task of the lesson lives here, not in a notebook cell.  A child cannot
return a value to its parent: the functions that report something put it on
a queue the parent passes in.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from typing import Any

SETTING = "as written in multiprocessing_workers.py"
"""A module global that the lesson changes in the parent at run time."""


def describe_self(reports: Any) -> None:
    """Put this process's PID, its parent's PID and its name on ``reports``."""
    reports.put({
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "name": multiprocessing.current_process().name,
    })


def report_setting(reports: Any) -> None:
    """Put ``SETTING`` as this process sees it, and this process's PPID, on ``reports``."""
    reports.put({"setting": SETTING, "ppid": os.getppid()})


def answer() -> int:
    """Return 42; a ``Process`` target's return value is thrown away."""
    return 42


def square(number: int) -> int:
    """Return ``number`` squared."""
    return number * number


def divide(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator`` (raises ZeroDivisionError for 0)."""
    return numerator / denominator


def exit_with(code: int) -> None:
    """End this process with exit code ``code``."""
    sys.exit(code)


def sleep_for(seconds: float) -> None:
    """Sleep ``seconds``: a child that is still busy when the parent looks."""
    time.sleep(seconds)


def send_stderr_to(path: str) -> None:
    """Send everything this process writes to stderr into the file ``path``.

    A child's traceback goes to its stderr.  In a notebook that is the
    kernel's log (or, under fork, an output of whichever cell runs then), so
    the lesson collects it in a file to read it in the right place.  Usable
    as a pool ``initializer``.
    """
    log = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 (open until exit)
    os.dup2(log.fileno(), 2)
    sys.stderr = log


def run_with_stderr_to(path: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function(*args)`` after sending this process's stderr to ``path``."""
    send_stderr_to(path)
    return function(*args)
