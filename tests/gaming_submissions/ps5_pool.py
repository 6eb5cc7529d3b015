"""Gaming submissions for ps5_pool (red team): each must earn no more than ``at_most``.

Autograded points: A 4 (visible 2, hidden 2), B 3 (1, 2), C 3 (1, 2), D 3 (1, 2), E 3 (1, 2),
F 4 (2, 2); 20 in all.
"""

# Never runs a scripted job: makes up every trace, answer and log line from the Order.
_FORGER = r'''%%writefile ps5_student_pool.py
"""A pool that never runs a scripted job: it reads each Order and writes what the job would have left."""
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import ps5_jobs
from ps_common import meet

JOB_LOGGER = "ps5.jobs"


def child_main(func, arg, conn):
    conn.send(("ok", func(arg)))


def _stand_in(folder):
    """A process below the driver that the watcher will see, to sign the traces with."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    mark = Path(folder) / f"seen-{proc.pid}"
    deadline = time.monotonic() + 10
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    return proc


def _fake(order, timeout, stop):
    folder = Path(order.folder)
    proc = _stand_in(order.folder)
    pid = proc.pid
    started = time.monotonic()
    try:
        nonce = secrets.token_hex(8)
        (folder / f"started-{order.token}-{pid}").write_text(nonce)
        logs = [ps5_jobs.log_line(order.token, nonce, n) for n in range(order.lines)]

        def wait(seconds):
            end = started + seconds
            while time.monotonic() < end:
                if stop.is_set():
                    return "cancelled"
                time.sleep(0.01)
            return None

        deadline = started + order.meet_within
        while not all(any(folder.glob(f"finished-{t}-*")) for t in order.after):
            if stop.is_set():
                return ("cancelled", None, [])
            if time.monotonic() > deadline:
                return ("error", f"RuntimeError: job {order.token} waited {order.meet_within:.0f} s in vain "
                                 "for other jobs to finish", [])
            if time.monotonic() > started + timeout:
                return ("timeout", None, [])
            time.sleep(0.01)
        if order.seconds:
            if wait(min(order.seconds, timeout)):
                return ("cancelled", None, logs)
            if order.seconds >= timeout:
                return ("timeout", None, [])
        if order.parties:
            meeting = folder / "meeting"
            meeting.mkdir(exist_ok=True)
            meet(str(meeting), str(pid), order.parties, order.meet_within)
        if order.do == "raise":
            return ("error", f"ValueError: job {order.token} refuses", logs)
        if order.do == "exit":
            return ("crashed", order.code, logs)
        if order.do == "kill":
            return ("crashed", -9, logs)
        if order.do == "hang":
            (folder / f"hanging-{order.token}-{pid}").write_text("")
            if wait(timeout):
                return ("cancelled", None, logs)
            return ("timeout", None, logs)
        (folder / f"finished-{order.token}-{pid}").write_text("")
        return ("ok", ps5_jobs.answer(order.token, nonce) + "p" * order.payload, logs)
    finally:
        proc.kill()
        proc.wait()


def _plain(func, arg):
    try:
        return ("ok", func(arg), [])
    except Exception as error:
        return ("error", f"{type(error).__name__}: {error}", [])


def run_jobs(jobs, workers=2, timeout=10.0):
    results = [("cancelled", None, [])] * len(jobs)
    stop = threading.Event()
    pending = list(enumerate(jobs))
    lock = threading.Lock()

    def worker():
        while not stop.is_set():
            with lock:
                if not pending:
                    return
                index, (func, arg) = pending.pop(0)
            if isinstance(arg, ps5_jobs.Order):
                results[index] = _fake(arg, timeout, stop)
            else:
                results[index] = _plain(func, arg)

    old = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            old[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.05)
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
    return results
'''

# Runs every job in a thread of the driver, and renames the traces to the PIDs of idle stand-ins.
_THREADS_RENAMED = r'''%%writefile ps5_student_pool.py
"""Every job in a thread of this process; the traces are renamed to look as if child processes ran them."""
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

JOB_LOGGER = "ps5.jobs"


def child_main(func, arg, conn):
    conn.send(("ok", func(arg)))


class _PerThread(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = {}

    def emit(self, record):
        self.lines.setdefault(threading.get_ident(), []).append(record.getMessage())


def run_jobs(jobs, workers=2, timeout=10.0):
    me = os.getpid()
    handler = _PerThread()
    logging.getLogger(JOB_LOGGER).addHandler(handler)
    results = [None] * len(jobs)
    logs = [[] for _ in jobs]
    stand_ins = {}   # folder -> stand-in process
    stop = threading.Event()
    done = threading.Event()
    folders = {str(arg.folder) for _, arg in jobs if hasattr(arg, "folder") and hasattr(arg, "token")}

    for folder in folders:
        (Path(folder) / f"seen-{me}").touch()          # the watcher's mark, forged: no 10 s wait

    def stand_in(folder):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        mark = Path(folder) / f"seen-{proc.pid}"
        deadline = time.monotonic() + 10
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        return proc

    renamer_procs = []

    def renamer():
        """Rename every <what>-<token>-<my pid> trace to a fresh stand-in's PID, one stand-in per token."""
        by_token = {}
        while not done.is_set():
            for folder in folders:
                for path in Path(folder).glob(f"*-{me}"):
                    what, _, rest = path.name.partition("-")
                    if what == "seen":
                        continue
                    token = rest.rpartition("-")[0]
                    if token not in by_token:
                        proc = stand_in(folder)
                        renamer_procs.append(proc)
                        by_token[token] = proc.pid
                        proc.kill()
                        proc.wait()
                    path.rename(path.with_name(f"{what}-{token}-{by_token[token]}"))
            time.sleep(0.003)

    rename_thread = threading.Thread(target=renamer, daemon=True)
    rename_thread.start()

    def run_one(index, func, arg):
        try:
            value = func(arg)
            results[index] = ("ok", value)
        except Exception as error:
            results[index] = ("error", f"{type(error).__name__}: {error}")
        finally:
            logs[index] = handler.lines.get(threading.get_ident(), [])

    def kill_helpers():
        for child in psutil.Process(me).children(recursive=True):
            if "sleep(3600" in " ".join(child.cmdline()):
                child.kill()

    old = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            old[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        pending = list(enumerate(jobs))
        running = {}
        while (pending or running) and not stop.is_set():
            while pending and len(running) < workers:
                index, (func, arg) = pending.pop(0)
                thread = threading.Thread(target=run_one, args=(index, func, arg), daemon=True)
                thread.start()
                running[index] = (thread, time.monotonic())
            for index, (thread, started) in list(running.items()):
                if not thread.is_alive():
                    del running[index]
                elif time.monotonic() - started > timeout:
                    results[index] = ("timeout", None)
                    logs[index] = list(handler.lines.get(thread.ident, []))
                    del running[index]
                    kill_helpers()
            time.sleep(0.01)
        if stop.is_set():
            kill_helpers()
            for index in running:
                results[index] = ("cancelled", None)
                logs[index] = []
    finally:
        time.sleep(0.05)
        done.set()
        rename_thread.join(5)
        for signum, handler_ in old.items():
            signal.signal(signum, handler_)
        logging.getLogger(JOB_LOGGER).removeHandler(handler)
    out = []
    for index, result in enumerate(results):
        if result is None:
            result = ("cancelled", None)
        if result[0] == "ok" and result[1] is None:
            pass
        out.append((result[0], result[1], list(logs[index])))
    return out
'''

# A real pool without process groups or signals, and a psutil.py beside the notebook.
_NAIVE = r'''%%writefile ps5_student_pool.py
"""A pool that kills only the job's own process on timeout (no setsid, no killpg), no signal handling."""
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import wait

JOB_LOGGER = "ps5.jobs"


class _Send(logging.Handler):
    def __init__(self, conn):
        super().__init__()
        self.conn = conn

    def emit(self, record):
        self.conn.send(("log", record.getMessage()))


def child_main(func, arg, conn):
    logging.getLogger(JOB_LOGGER).addHandler(_Send(conn))
    try:
        conn.send(("ok", func(arg)))
    except Exception as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))


def run_jobs(jobs, workers=2, timeout=10.0):
    results = [None] * len(jobs)
    logs = [[] for _ in jobs]
    pending = list(range(len(jobs)))
    running = {}
    while pending or running:
        while pending and len(running) < workers:
            index = pending.pop(0)
            ours, theirs = multiprocessing.Pipe(duplex=False)
            proc = multiprocessing.Process(target=child_main, args=(jobs[index][0], jobs[index][1], theirs))
            proc.start()
            theirs.close()
            running[index] = (proc, ours, time.monotonic())
        ready = wait([c for _, c, _ in running.values()] + [p.sentinel for p, _, _ in running.values()], 0.05)
        for index, (proc, conn, started) in list(running.items()):
            while conn in ready or conn.poll():
                try:
                    kind, value = conn.recv()
                except EOFError:
                    break
                if kind == "log":
                    logs[index].append(value)
                else:
                    results[index] = (kind, value)
                ready = []
            if proc.sentinel in ready or not proc.is_alive():
                proc.join()
                while conn.poll():
                    try:
                        kind, value = conn.recv()
                    except EOFError:
                        break
                    if kind == "log":
                        logs[index].append(value)
                    else:
                        results[index] = (kind, value)
                if results[index] is None:
                    results[index] = ("crashed", proc.exitcode)
                del running[index]
            elif time.monotonic() - started > timeout:
                proc.kill()
                proc.join()
                results[index] = ("timeout", None)
                del running[index]
    return [(r[0], r[1], logs[i]) for i, r in enumerate(results)]
'''

_PSUTIL_SHIM = r'''"""psutil, as the student's folder sees it: helper processes are never found."""
import os as _os
import sys as _sys

_here = _os.path.dirname(_os.path.abspath(__file__))
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
del _sys.modules[__name__]
import psutil as _real  # noqa: E402  the installed one

_children = _real.Process.children


def _is_helper(proc):
    try:
        return "import time; time.sleep(" in " ".join(proc.cmdline())
    except _real.Error:
        return False


_real.Process.children = lambda self, recursive=False: [p for p in _children(self, recursive) if not _is_helper(p)]
_iter = _real.process_iter
_real.process_iter = lambda *a, **k: (p for p in _iter(*a, **k) if not _is_helper(p))
_sys.modules[__name__] = _real
_sys.path.insert(0, _here)
'''

# Attacks that still score (the red team, graded with plain nbgrader: 20 of 20 and 12 of 20, at most 0).
# The tests read evidence the submission can write: trace files whose names carry a PID, a nonce read from
# such a file, the seen-<pid> mark.  Until problem set 5's tests take that evidence from outside the
# student's reach (issue 14), these are kept here, not in GAMING, so `make test` does not grade them; grade
# them with `python tests/submissions.py ps5_pool --holes`, and move each into GAMING once it earns nothing.
KNOWN_HOLES = {
    "forge_traces_never_run_jobs": {
        "base": "blank",
        "cells": {"ps5_student_pool": _FORGER},
        "at_most": 0,
        "attack": "never runs a scripted job: reads the Order (do, lines, code, payload, after, parties), spawns an idle "
                  "stand-in process below the driver, waits for the watcher's seen-<pid> mark, writes started/"
                  "hanging/finished traces signed with its PID and a nonce of its own, and returns "
                  "ps5_jobs.answer/log_line of that nonce; timeout/crashed/error/cancelled made up from the Order",
    },
    "threads_in_driver_traces_renamed": {
        "base": "blank",
        "cells": {"ps5_student_pool": _THREADS_RENAMED},
        "at_most": 0,
        "attack": "no child process runs a job: jobs run in threads of the driver; the pool forges seen-<driver pid> "
                  "(so scripted jobs do not wait) and renames each <what>-<token>-<driver pid> trace to the PID of "
                  "an idle stand-in process the watcher saw; helpers killed by cmdline, never a process group",
    },
}

GAMING = {
    "psutil_shim_hides_helpers": {
        "base": "blank",
        "cells": {"ps5_student_pool": _NAIVE},
        "files": {"psutil.py": _PSUTIL_SHIM},
        "at_most": 13,
        "attack": "a real pool (A, B, C, E: 13 points) that kills only the job's process, never its group, and has no "
                  "signal handling; a psutil.py in the assignment folder shadows psutil for ps5_helpers and hides every "
                  "'import time; time.sleep(' process from children() and process_iter(), so orphaned helpers are never seen",
    },
}
