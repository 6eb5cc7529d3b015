"""What problem sets share: calls that cannot hang a test, fresh imports, workers that meet, children left running.

This file is the same in every problem-set folder that uses it.  The course
keeps the original in ``coursetools/ps_common.py``; ``make release`` copies it
into each of those folders (edit the original: a copy is overwritten).
Nothing here is a solution.
"""
from __future__ import annotations

import atexit
import hashlib
import importlib
import importlib.util
import marshal
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

#: Seconds :func:`call_with_timeout` waits for a call unless told otherwise.
CALL_TIMEOUT = 30.0


# --------------------------------------------------------------------------- calls that cannot hang a test

#: Code that did not return in time once, by (module, name, bytecode digest): how many seconds it hung.
_hung: dict[tuple, float] = {}


def _identity(func: Callable) -> tuple:
    code = getattr(func, "__code__", None)
    digest = hashlib.sha1(marshal.dumps(code)).hexdigest() if code is not None else id(func)
    return getattr(func, "__module__", None), getattr(func, "__qualname__", repr(func)), digest


def _name(func: Callable) -> str:
    return getattr(func, "__name__", "the call")


def refuse_if_hung(func: Callable) -> None:
    """Fail at once if this very code of ``func`` did not return in an earlier call.

    Change the code and it is tried again.
    """
    seconds = _hung.get(_identity(func))
    if seconds is not None:
        raise AssertionError(f"{_name(func)}() did not return in an earlier call either (it hung for "
                             f"{seconds:.0f} s there), so it is not called again: fix the hang first")


def remember_hang(func: Callable, timeout: float) -> AssertionError:
    """Note that ``func`` did not return within ``timeout`` s; return the error that says so."""
    _hung[_identity(func)] = timeout
    return AssertionError(f"{_name(func)}() did not return within {timeout:.0f} s: "
                          "is it waiting for something that never comes (a deadlock)?")


def call_with_timeout(func: Callable, *args: Any, timeout: float = CALL_TIMEOUT, **kwargs: Any) -> Any:
    """Return ``func(*args, **kwargs)``, run in a daemon thread so the test cannot hang.

    Re-raises what ``func`` raised; raises AssertionError when it has not
    returned after ``timeout`` seconds (it then goes on in the background).
    The same code is not waited for twice: once a function hung, calling it
    again (unchanged) fails at once.  Change the code and it is tried again.
    """
    refuse_if_hung(func)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise remember_hang(func, timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --------------------------------------------------------------------------- modules a notebook rewrites

def fresh_import(name: str) -> ModuleType:
    """Import module ``name`` anew from its ``.py`` file.

    After ``%%writefile`` rewrote a module, a plain ``import`` would give the
    old one (already in ``sys.modules``), and a stale ``__pycache__`` file
    could give it to child processes too.  This drops both.
    """
    importlib.invalidate_caches()
    sys.modules.pop(name, None)
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(f"no module {name!r}: run the cell that writes {name}.py first")
    cached = spec.cached
    if cached and os.path.exists(cached):
        os.remove(cached)
    return importlib.import_module(name)


# --------------------------------------------------------------------------- workers that meet

#: What each party found at its first arrival, by (meeting folder, party).
_met: dict[tuple[str, str], bool] = {}


def meeting_folder() -> str:
    """A new, empty folder for :func:`meet`, removed when the process that made it ends."""
    folder = tempfile.mkdtemp(prefix="meeting-")
    atexit.register(_remove_meeting, folder, os.getpid())
    return folder


def _remove_meeting(folder: str, creator: int) -> None:
    if os.getpid() == creator:  # not in a forked child that inherited the exit handler
        shutil.rmtree(folder, ignore_errors=True)


def meet(folder: str, party: str, parties: int, timeout: float) -> bool:
    """Arrive at the meeting in ``folder`` as ``party``; True if ``parties`` parties met there.

    The first arrival of a party waits until ``parties`` different parties
    have arrived (True), at most ``timeout`` seconds.  A party that gives up
    breaks the meeting: every later arrival gives up at once (False), so
    parties that come one after the other never meet and only the first of
    them waits.  A party arrives once: later calls answer what it found.
    Parties are names (a PID, a thread's number), so any process that knows
    the folder can take part, however it got there.
    """
    key = (str(folder), str(party))
    if key not in _met:
        _met[key] = _wait_for_peers(Path(folder), str(party), parties, timeout)
    return _met[key]


def _wait_for_peers(here: Path, party: str, parties: int, timeout: float) -> bool:
    (here / f"arrived-{party}").touch()
    broken = here / "broken"
    deadline = time.monotonic() + timeout
    while not broken.exists():
        if len(list(here.glob("arrived-*"))) >= parties:
            return True
        if time.monotonic() > deadline:
            broken.touch()
            break
        time.sleep(0.005)
    return False


# --------------------------------------------------------------------------- children left running

_HELPER_PROCESSES = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def is_multiprocessing_helper(proc: psutil.Process, parent: int | None = None) -> bool:
    """The resource tracker or the fork server of ``parent`` (this process unless told), not what it forks.

    Both are started by the process that uses them.  Children forked by the
    fork server inherit its command line, but their parent is the fork server.
    """
    try:
        command = " ".join(proc.cmdline())
        owner = os.getpid() if parent is None else parent
        return proc.ppid() == owner and any(name in command for name in _HELPER_PROCESSES)
    except psutil.Error:
        return False


def running_children() -> dict[tuple[int, float], psutil.Process]:
    """This process's descendants that are running (not zombies), keyed by (pid, start time).

    multiprocessing's own helper processes (resource tracker, fork server)
    are left out: they belong to multiprocessing, not to your code.
    """
    found = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE or is_multiprocessing_helper(proc):
                continue
            found[(proc.pid, proc.create_time())] = proc
        except psutil.Error:
            continue
    return found
