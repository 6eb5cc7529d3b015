"""How problem set 5 runs your pool and watches it from outside.

Your ``run_jobs`` never runs in this kernel during a test: :class:`PoolRun`
calls it in a child process of its own (the *driver*, like a script run from
a terminal), so that a pool that hangs is killed with everything it started,
and so that the test can send that process Ctrl-C (SIGINT) or SIGTERM.
Meanwhile a thread here notes every process below the driver, as the
operating system lists them: which jobs ran where, and what was left running
afterwards, does not depend on what your code says about itself.

Nothing here is a solution.  What several problem sets share
(``meeting_folder``, ``running_children``, ...) is in ``ps_common.py``.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from ps_common import fresh_import, is_multiprocessing_helper, meeting_folder

#: Seconds a new child process may take to start (a loaded machine is slow).
STARTUP = 30.0
#: Seconds a call of ``run_jobs`` may take in a test before it counts as hung.
RUN_LIMIT = 25.0
#: Seconds a process that was killed, or a driver that returned, may take to end.
PATIENCE = 5.0
#: The statuses of a job in what ``run_jobs`` returns.
STATUSES = ("ok", "error", "crashed", "timeout", "cancelled")

_SAMPLE_EVERY = 0.03


def job_folder() -> str:
    """A new, empty folder for the traces of scripted jobs (removed when this kernel ends)."""
    return meeting_folder()


# --------------------------------------------------------------------------- the driver process

def _drive(module: str, args: tuple, kwargs: dict, conn: Any) -> None:
    """Driver side of :class:`PoolRun`: call ``module.run_jobs`` and send back what it returned."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a script run from a terminal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        run_jobs = fresh_import(module).run_jobs
    except BaseException as error:  # noqa: BLE001 - reported to the test
        conn.send(("raised", f"cannot import {module}.run_jobs: {type(error).__name__}: {error}"))
    else:
        conn.send(("started", os.getpid()))
        try:
            value = run_jobs(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            conn.send(("raised", f"run_jobs raised {type(error).__name__}: {error}"))
        else:
            restored = (signal.getsignal(signal.SIGINT) is signal.default_int_handler
                        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
            try:
                conn.send(("returned", value, restored))
            except Exception as error:  # noqa: BLE001 - reported to the test
                conn.send(("raised", f"run_jobs returned something that cannot be sent back: {error}"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a signal meant for run_jobs that came too late
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn.poll(RUN_LIMIT)  # the test says when to go, after it has looked at what is still running
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # multiprocessing's exit handlers would wait for children a pool left running


class PoolRun:
    """``run_jobs(*args, **kwargs)`` of ``module``, called in a driver process and watched from here.

    Use as a context manager: when the block ends, everything below the
    driver that is still running is killed, so nothing outlives a test.
    With ``folder`` (a :func:`job_folder`), each process seen below the
    driver is marked there as ``seen-<pid>``: scripted jobs wait for that
    mark, so even a job over in a millisecond is seen.
    """

    def __init__(self, *args: Any, module: str = "ps5_student_pool", folder: str | None = None,
                 **kwargs: Any) -> None:
        self._conn, theirs = multiprocessing.Pipe()
        self.driver = multiprocessing.Process(target=_drive, args=(module, args, kwargs, theirs),
                                              name="run_jobs driver")  # not a daemon: a pool has children
        self.seen: dict[tuple[int, float], dict[str, Any]] = {}
        self.helpers: dict[tuple[int, float], psutil.Process] = {}
        self._report: tuple | None = None
        self._started = False
        self._hung_up = False  # the driver's end of the pipe is closed
        self._folder = folder
        self._lock = threading.Lock()  # the watcher thread and the test both sample
        self.handlers_restored: bool | None = None
        self._watching = True
        self.driver.start()
        theirs.close()
        self._root = psutil.Process(self.driver.pid)
        self._watcher = threading.Thread(target=self._watch, name="ps5 process watcher", daemon=True)
        self._watcher.start()

    # ------------------------------------------------------------------ watching

    def _sample(self) -> None:
        with self._lock:
            self._sample_locked()

    def _sample_locked(self) -> None:
        try:
            below = self._root.children(recursive=True)
        except psutil.Error:
            return
        for proc in below:
            try:
                key = (proc.pid, proc.create_time())
                if key in self.seen or key in self.helpers:
                    continue
                if is_multiprocessing_helper(proc, self.driver.pid):
                    self.helpers[key] = proc
                else:
                    self.seen[key] = {"process": proc, "ppid": proc.ppid(), "cmdline": proc.cmdline()}
                    if self._folder is not None:
                        (Path(self._folder) / f"seen-{proc.pid}").touch()
            except (psutil.Error, OSError):
                continue

    def _watch(self) -> None:
        while self._watching:
            self._sample()
            time.sleep(_SAMPLE_EVERY)

    # ------------------------------------------------------------------ the call

    def _read(self, timeout: float) -> tuple | None:
        """The driver's next message, or None if none came within ``timeout`` s (or the driver is gone)."""
        if self._hung_up:
            return None
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError):
            self._hung_up = True
        return None

    def result(self, limit: float = RUN_LIMIT) -> Any:
        """What ``run_jobs`` returned; AssertionError if it raised, died or did not return within ``limit`` s."""
        deadline = time.monotonic() + (limit if self._started else STARTUP + limit)
        while self._report is None:
            message = self._read(0.05)
            if message is None and not self.driver.is_alive():
                message = self._read(0.2)  # what it sent before it ended is still in the pipe
                if message is None:
                    code = self.driver.exitcode
                    how = f"by signal {signal.Signals(-code).name}" if code and code < 0 else f"with exit code {code}"
                    raise AssertionError(f"the process running run_jobs died {how} before run_jobs returned")
            if message is not None:
                if message[0] == "started":
                    self._started = True
                    deadline = time.monotonic() + limit
                else:
                    self._report = message
                continue
            if time.monotonic() > deadline:
                what = "return" if self._started else "start"
                raise AssertionError(f"run_jobs did not {what} within {limit if self._started else STARTUP:.0f} s: "
                                     "is it waiting for a job that never ends, or for a message that never comes?")
        kind, value, *rest = self._report
        if kind == "raised":
            raise AssertionError(value)
        self.handlers_restored = rest[0]
        return value

    def ended(self) -> bool:
        """Whether ``run_jobs`` has already returned, raised or died (reads what the driver sent so far)."""
        while self._report is None:
            message = self._read(0)
            if message is None:
                break
            if message[0] == "started":
                self._started = True
            else:
                self._report = message
        return self._report is not None or not self.driver.is_alive()

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the driver alone (Ctrl-C in a terminal is SIGINT), if it is still there."""
        try:
            os.kill(self.driver.pid, signum)
        except ProcessLookupError:
            pass

    # ------------------------------------------------------------------ what is left

    def job_processes(self) -> list[dict[str, Any]]:
        """Every process seen below the driver (multiprocessing's helpers left out)."""
        self._sample()
        with self._lock:
            return list(self.seen.values())

    def left_running(self, grace: float = PATIENCE) -> list[str]:
        """Processes seen below the driver that are still running ``grace`` s from now at the latest."""
        deadline = time.monotonic() + grace
        while True:
            self._sample()
            with self._lock:
                seen = dict(self.seen)
            alive = [f"PID {key[0]} ({' '.join(info['cmdline'])[:60]})" for key, info in seen.items()
                     if _running(*key)]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def close(self) -> None:
        """Let the driver end, then kill whatever is still running below it."""
        self._watching = False
        self._watcher.join(PATIENCE)
        try:
            self._conn.send("go")
        except OSError:
            pass
        self.driver.join(PATIENCE)
        if self.driver.is_alive():
            self.driver.kill()
            self.driver.join(PATIENCE)
        for key in list(self.seen) + list(self.helpers):
            if _running(*key):
                try:
                    psutil.Process(key[0]).kill()
                except psutil.Error:
                    pass
        deadline = time.monotonic() + PATIENCE
        while any(_running(*key) for key in list(self.seen) + list(self.helpers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._conn.close()

    def __enter__(self) -> PoolRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _running(pid: int, created: float) -> bool:
    """Whether the process ``pid`` started at ``created`` is running (a zombie has ended)."""
    try:
        proc = psutil.Process(pid)
        return proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_running_with(marker: str) -> list[int]:
    """Kill every running process whose command line holds ``marker``; return their PIDs.

    The helpers of a scripted job carry its token on their command line, so
    they are found even after their parent died and they left the driver's tree.
    """
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and marker in (proc.info["cmdline"] or []):
                found.append(proc.pid)
                proc.kill()
        except psutil.Error:
            continue
    return found


# --------------------------------------------------------------------------- what the scripted jobs left

def traces(folder: str) -> dict[str, dict[str, Any]]:
    """``{token: {"started": [pid, ...], "finished": [...], "hanging": [...], "nonce": str}}`` of a job folder.

    ``nonce`` is what the (last listed) run of the job wrote in its ``started`` trace.
    """
    found: dict[str, dict[str, Any]] = {}
    for path in Path(folder).iterdir():
        what, _, rest = path.name.partition("-")
        token, _, pid = rest.rpartition("-")
        if what in ("started", "finished", "hanging") and pid.isdigit():
            entry = found.setdefault(token, {"started": [], "finished": [], "hanging": [], "nonce": None})
            entry[what].append(int(pid))
            if what == "started":
                entry["nonce"] = path.read_text()
    return found


def wait_for_traces(folder: str, what: str, tokens: list[str], run: PoolRun, limit: float = STARTUP) -> None:
    """Wait until every job in ``tokens`` has left a ``what`` trace; fail if ``run_jobs`` ended first."""
    deadline = time.monotonic() + limit
    while True:
        found = traces(folder)
        missing = [t for t in tokens if not found.get(t, {}).get(what)]
        if not missing:
            return
        if run.ended():
            raise AssertionError(f"run_jobs ended before the jobs {missing} had started")
        if time.monotonic() > deadline:
            raise AssertionError(f"the jobs {missing} did not start within {limit:.0f} s: "
                                 "does run_jobs start jobs while others are still running?")
        time.sleep(0.02)


def outcomes(results: Any, count: int) -> list[tuple[str, Any, list[str]]]:
    """``results`` checked to be ``count`` triples ``(status, value, logs)`` of plain types."""
    assert type(results) is list, f"run_jobs should return a list, it returned {type(results).__name__}"
    assert len(results) == count, f"run_jobs was given {count} jobs but returned {len(results)} results"
    for index, result in enumerate(results):
        assert type(result) is tuple and len(result) == 3, (
            f"result {index} should be a tuple (status, value, logs), got {result!r:.120}")
        status, _, logs = result
        assert type(status) is str and status in STATUSES, (
            f"result {index}: the status should be one of {STATUSES}, got {status!r:.60}")
        assert type(logs) is list and all(type(line) is str for line in logs), (
            f"result {index}: logs should be a list of str, got {logs!r:.120}")
    return results


# --------------------------------------------------------------------------- trying things out

def try_run(jobs: list, workers: int = 2, timeout: float = 10.0) -> None:
    """Call your ``run_jobs(jobs, workers, timeout)`` in a driver process and print what came back.

    It never hangs: after ``RUN_LIMIT`` seconds it says so, and it kills
    whatever the pool left running (and says that too).
    """
    with PoolRun(jobs, workers, timeout) as run:
        started = time.monotonic()
        try:
            results = run.result()
        except AssertionError as error:
            print("run_jobs failed:", error)
        else:
            print(f"run_jobs returned after {time.monotonic() - started:.1f} s:")
            for index, result in enumerate(results if isinstance(results, list) else [results]):
                print(f"  {index}: {result!r:.200}")
        left = run.left_running(grace=1.0)
        if left:
            print("still running afterwards (now killed):", "; ".join(left))
