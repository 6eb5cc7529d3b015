"""Functions that problem set 1 runs in child processes.

They live in a module (not in the notebook) because under the *spawn* and
*forkserver* start methods a child process imports the function it runs by
name.  Nothing here is a solution: these are the jobs your code starts.
"""
from __future__ import annotations

import fcntl
import os
import signal
import sys
from pathlib import Path

from ps_common import meet


def wait_at_gate(folder: str) -> None:
    """Wait while someone holds the lock of ``folder`` (a test watching who waits: see ps1_watch).

    Nobody holds it unless a test watches, so outside the tests this returns at once.
    """
    gate = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(gate, fcntl.LOCK_SH)
    finally:
        os.close(gate)


#: What each behaviour's exit code is, as ``Process.exitcode`` reports it.
EXPECTED_EXIT_CODES: dict[str, int] = {
    "return": 0,       # the target returns normally
    "raise": 1,        # an uncaught exception (its traceback goes to stderr)
    "exit-3": 3,       # sys.exit(3)
    "sigkill": -signal.SIGKILL,  # killed by a signal: minus its number
}


def behave(behaviour: str, marker_dir: str) -> None:
    """Leave a marker file named after this process's PID, pass the folder's gate, end as told.

    ``behaviour`` is a key of :data:`EXPECTED_EXIT_CODES`.  The marker file
    ``<marker_dir>/<pid>`` holds the behaviour's name.  Before it ends, the
    job waits while someone holds the lock of ``marker_dir`` (nobody does,
    unless a test watches: then the job waits until the test has seen it).
    """
    Path(marker_dir, str(os.getpid())).write_text(behaviour)
    wait_at_gate(marker_dir)
    if behaviour == "return":
        return
    if behaviour == "raise":
        # Silence the traceback: the exit code is what matters here.
        sys.stderr = open(os.devnull, "w")
        raise RuntimeError("this child fails on purpose")
    if behaviour == "exit-3":
        sys.exit(3)
    if behaviour == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise ValueError(f"unknown behaviour {behaviour!r}")


def square_together(task: tuple[str, int], peers: int = 2, timeout: float = 5.0) -> tuple[int, int, bool]:
    """Square ``x`` once ``peers`` different processes are working at once.

    ``task`` is ``(rendezvous_dir, x)``.  Like :func:`behave`, it first waits
    while someone holds the folder's lock.  Then each process meets the others
    in ``rendezvous_dir`` (``ps_common.meet``: its first call waits until
    ``peers`` different processes have come), so the work only finishes
    promptly when several worker processes really run side by side.  Returns
    ``(x * x, pid, met)`` where ``met`` is False when the wait timed out (the
    work ran alone).  After one timeout in a folder nobody waits there any
    more, so a sequential run fails after ``timeout`` seconds, not that per item.
    """
    rendezvous_dir, x = task
    wait_at_gate(rendezvous_dir)
    met = meet(rendezvous_dir, str(os.getpid()), peers, timeout)
    return x * x, os.getpid(), met


def negate(task: tuple[str, int]) -> int:
    """Return ``-x`` for ``task = (folder, x)``, after waiting at the folder's gate like the others."""
    folder, x = task
    wait_at_gate(folder)
    return -x
