"""Helpers for lesson 01: look at processes from the outside.

The lesson forks in its own cells, so that the call to ``os.fork()`` is in
plain sight; these helpers only observe (with psutil) and run small scripts
in a fresh interpreter, where stdout is a pipe as it is for a real program.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import psutil


def status_of(pid: int) -> str:
    """The state of process ``pid`` as psutil reports it, or ``"gone"``."""
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone"


def wait_for_status(pid: int, wanted: str, timeout: float = 10.0) -> str:
    """Poll until ``pid`` reaches state ``wanted`` (or ``timeout``); return the last state."""
    deadline = time.monotonic() + timeout
    state = status_of(pid)
    while state != wanted and time.monotonic() < deadline:
        time.sleep(0.01)
        state = status_of(pid)
    return state


def run_script(source: str, timeout: float = 30.0) -> str:
    """Run ``source`` in a new Python whose stdout is a pipe; return what it printed.

    When stdout is a pipe or a file, Python buffers it in blocks instead of
    lines, which is what makes unflushed output before ``fork`` visible.
    """
    # PYTHONUNBUFFERED (set in some terminals and CI systems) would hide the
    # buffering this helper exists to show.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True, text=True, timeout=timeout, check=True, env=env,
    )
    return done.stdout
