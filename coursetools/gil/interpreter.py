"""The interpreter and the machine: is there a GIL, how long a thread keeps it, how many cores."""
from __future__ import annotations

import contextlib
import sys
import sysconfig
import threading
import time
import warnings
from collections.abc import Iterator

import psutil

FORK_WARNING = r".*multi-threaded, use of fork\(\) may lead to deadlocks"
"""Python 3.12+ warns (a DeprecationWarning) when a process with threads (every Jupyter kernel) forks.

A forked child gets a copy of every lock in the state it was in, but only the
thread that forked: a lock another thread held at that moment stays held in
the child forever, and the child hangs the first time it needs it (in
``logging``, an I/O buffer, malloc, a library's own lock).  It matters for
children that go on running the parent's code; it does not for the lab's,
which only compute and send back a result."""


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


def build_label() -> str:
    """The build a result was measured on: ``CPython 3.11.7, GIL enabled``.

    A free-threaded build says so and whether its GIL is off
    (``CPython 3.14.0 free-threaded, GIL disabled``) or was turned back on
    (``PYTHON_GIL=1``, or an extension that needs it): the speedup of
    CPU-bound threads depends on exactly that.
    """
    return f"{python_description()}, GIL {'enabled' if gil_enabled() else 'disabled'}"


def cpu_count() -> int:
    """Number of logical CPUs, the length of every per-core list of the lab.

    Tests monkeypatch this function to check the single-core path, so the
    lab's modules call it as ``interpreter.cpu_count()``.
    """
    return psutil.cpu_count(logical=True) or 1


def python_description() -> str:
    """``CPython 3.11.7`` plus `` free-threaded`` on a ``t`` build."""
    name = sys.implementation.name
    pretty = {"cpython": "CPython", "pypy": "PyPy"}.get(name, name)
    version = ".".join(str(part) for part in sys.version_info[:3])
    return f"{pretty} {version}" + (" free-threaded" if free_threaded_build() else "")


@contextlib.contextmanager
def fork_warning_ignored() -> Iterator[None]:
    """Start processes inside this block without :data:`FORK_WARNING`.

    The lab's children only compute and report back: they take no lock that
    another thread of the parent could have held at the fork, so the deadlock
    the warning is about cannot happen to them.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=FORK_WARNING, category=DeprecationWarning)
        yield


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
