"""Child-process code for lesson 12: workers that die, hang, are interrupted, log, and are debugged.

Every function a child runs lives here, so that a child started with *spawn*
or *forkserver* can import it by name.  ``python -m when_things_go_wrong_workers
PROGRAM`` runs the small programs the lesson starts in a session of their own
(a pool hit by Ctrl-C or SIGTERM, a parent with a grandchild): a signal sent to
them never reaches the notebook's kernel.  The parent-side helpers at the end
look at processes from the outside (psutil) and run the debuggers.
"""
from __future__ import annotations

import argparse
import faulthandler
import logging
import logging.handlers
import multiprocessing
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import IO, Any

import psutil

WAIT_SECONDS = 20.0
"""Longest any worker here waits or "hangs": a demo that goes wrong ends by itself."""


# --- workers that die -----------------------------------------------------------

def exit_with(code: int) -> None:
    """End this process at once with exit code ``code`` (no cleanup, no exception)."""
    os._exit(code)


def kill_self(signum: int) -> None:
    """Send signal ``signum`` to this very process."""
    os.kill(os.getpid(), signum)


def abort_quietly() -> None:
    """End this process with ``os.abort()`` (SIGABRT), writing no core file and no report.

    faulthandler (inherited from the kernel under *fork*) would print a report
    on the kernel's stderr; the core-file limit stops a dump of this process.
    """
    faulthandler.disable()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    os.abort()


def wait_for(event: Event, seconds: float = WAIT_SECONDS) -> bool:
    """A healthy worker: wait until ``event`` is set (at most ``seconds``); return whether it was."""
    return event.wait(seconds)


def start_then_wait(started: Any, release: Any, seconds: float = WAIT_SECONDS) -> bool:
    """Set ``started``, then wait for ``release`` (threading or multiprocessing events alike)."""
    started.set()
    return release.wait(seconds)


def square_unless_poison(number: int, poison: int, seconds: float = 0.05) -> int:
    """Return ``number`` squared after ``seconds``; for ``poison``, kill the worker process instead."""
    time.sleep(seconds)
    if number == poison:
        os._exit(1)
    return number * number


def fail_if_negative(number: int) -> int:
    """Return ``number``, or raise ValueError when it is negative."""
    if number < 0:
        raise ValueError(f"{number} is negative")
    return number


def sleep_then_return(seconds: float, value: Any = None) -> Any:
    """Sleep ``seconds``, then return ``value``."""
    time.sleep(seconds)
    return value


# --- stopping a process pool's workers -------------------------------------------

def stop_workers(executor: ProcessPoolExecutor) -> str:
    """Cancel the executor's waiting tasks and terminate its workers, even mid-task; say how.

    Python 3.14 added ``terminate_workers()`` (and ``kill_workers()``), which
    shut the executor down without waiting, cancelling what has not started,
    and then terminate every worker process.  Before 3.14 there is no public
    way, so this does the same through the executor's private ``_processes``
    map.  Either way the executor is broken afterwards: its running tasks fail
    with ``BrokenProcessPool``.
    """
    if hasattr(executor, "terminate_workers"):
        executor.terminate_workers()
        return "terminate_workers()"
    processes = list((executor._processes or {}).values())  # type: ignore[attr-defined]
    executor.shutdown(wait=False, cancel_futures=True)  # forgets _processes: copied above
    for process in processes:
        if process.is_alive():
            process.terminate()
    return "terminate() on each of executor._processes"


def worker_signals() -> None:
    """Pool initializer: the worker ignores SIGINT, so Ctrl-C in a terminal reaches only the
    parent, and dies of SIGTERM (a *fork* worker would inherit the parent's SIGTERM handler)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Shutdown(Exception):
    """Raised by the careful program's main loop once a stop signal has arrived."""


class StopSignals:
    """SIGINT and SIGTERM handlers that only note the signal.  An exception raised from a handler lands
    wherever the main thread happens to be, possibly inside the executor's own locking (a SIGTERM that
    raised there hung about one run in six): the main loop checks :meth:`check` between waits instead."""

    def __init__(self) -> None:
        self.received: int | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.note)

    def note(self, signum: int, frame: Any) -> None:
        self.received = signum

    def check(self) -> None:
        if self.received is not None:
            raise Shutdown(signal.Signals(self.received).name)


def pool_program(method: str, careful: bool, jobs: list[float]) -> int:
    """A program that runs ``jobs`` (seconds of sleep each) on two pool workers.

    It prints ``ready`` and the worker PIDs once the first two jobs are done.
    ``careful``: workers ignore SIGINT and die of SIGTERM; in the parent both only
    set a flag, which the main loop checks between short waits; then it cancels what
    has not started, stops the workers, prints what was done and what was not, and
    exits with 128 + the signal number.  Not careful: the defaults, which is what
    most programs have.
    """
    context = multiprocessing.get_context(method)
    stop = StopSignals() if careful else None
    executor = ProcessPoolExecutor(max_workers=2, mp_context=context,
                                   initializer=worker_signals if careful else None)
    futures = [executor.submit(sleep_then_return, seconds, index) for index, seconds in enumerate(jobs)]
    try:
        wait_checking(futures[:2], stop)
        pids = sorted(executor._processes)  # type: ignore[attr-defined]
        print("ready", *pids, flush=True)
        wait_checking(futures, stop)
        executor.shutdown()
        return 0
    except Shutdown as interruption:
        manager = executor._executor_manager_thread  # type: ignore[attr-defined]
        stop_workers(executor)
        executor.shutdown(wait=True)
        # Wait for the pool's manager thread here: left to the interpreter's exit, it races
        # with concurrent.futures' exit hook, which then prints "Exception ignored in ...".
        if manager is not None:
            manager.join(WAIT_SECONDS)
        done = [index for index, future in enumerate(futures) if future.done() and not future.cancelled()
                and future.exception() is None]
        name = str(interruption)
        print(f"stopped by {name}: done {done}, not done {sorted(set(range(len(jobs))) - set(done))}",
              flush=True)
        return 128 + signal.Signals[name].value


def wait_checking(futures: list, stop: StopSignals | None) -> None:
    """Wait for ``futures`` (at most WAIT_SECONDS), checking for a stop signal every 50 ms."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        _, pending = wait(futures, timeout=0.05)
        if stop is not None:
            stop.check()
        if not pending:
            return


def parent_of_a_sleeper(seconds: float) -> int:
    """A program that starts a grandchild (a Python that sleeps ``seconds``), prints its PID, and waits."""
    grandchild = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])
    print("grandchild", grandchild.pid, flush=True)
    grandchild.wait(timeout=seconds + WAIT_SECONDS)
    return 0


# --- logging from children -------------------------------------------------------

def log_to_queue(log_queue: Queue, level: int = logging.INFO) -> None:
    """Send every log record of this process to ``log_queue`` (call it first in the child)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(log_queue))
    root.setLevel(level)


def logged_job(log_queue: Queue, job: str, steps: int) -> None:
    """Log ``steps`` numbered steps of job ``job`` through ``log_queue``, then a warning at the end."""
    log_to_queue(log_queue)
    log = logging.getLogger(job)
    for step in range(1, steps + 1):
        log.info("step %d of %d", step, steps)
    log.warning("done")


class RecordList(logging.Handler):
    """A handler that keeps every record it is given, in arrival order (for a QueueListener)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def describe_stdout(report: Queue) -> None:
    """Put on ``report`` what ``sys.stdout`` is in this child: its class and the file descriptor under it."""
    stream = sys.stdout
    try:
        descriptor: int | None = stream.fileno()
    except (OSError, ValueError, AttributeError):
        descriptor = None
    report.put((f"{type(stream).__module__}.{type(stream).__qualname__}", descriptor))


# --- a hang to debug -------------------------------------------------------------

def wait_for_file(path: str, seconds: float = WAIT_SECONDS) -> bool:
    """The "hang": wait for a file nobody writes (at most ``seconds``); return whether it appeared."""
    deadline = time.monotonic() + seconds
    while not os.access(path, os.F_OK):  # C calls only: the innermost Python frame stays this one
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def hang_with_tracebacks(dump_path: str, stop_path: str, after: float, seconds: float = WAIT_SECONDS) -> None:
    """Hang in :func:`wait_for_file`, with faulthandler set to write tracebacks to ``dump_path``.

    One traceback is written ``after`` seconds by ``dump_traceback_later``; one
    more each time the process receives SIGUSR1 (POSIX), by ``register``.
    """
    dump = open(dump_path, "w")  # stays open: faulthandler writes to its file descriptor later
    faulthandler.dump_traceback_later(after, file=dump)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)
    wait_for_file(stop_path, seconds)
    faulthandler.cancel_dump_traceback_later()
    dump.close()


def functions_in_traceback(text: str) -> list[str]:
    """The function names of a faulthandler or py-spy dump, innermost first (as both print them)."""
    return re.findall(r"(?:line \d+ in |^\s+)(\w+) ?(?:\(|$)", text, flags=re.MULTILINE)


def wait_for_text(path: str, wanted: str, count: int = 1, timeout: float = WAIT_SECONDS) -> str:
    """Poll file ``path`` until ``wanted`` appears in it ``count`` times; return its text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = Path(path).read_text() if os.path.exists(path) else ""
        if text.count(wanted) >= count:
            return text
        time.sleep(0.02)
    raise TimeoutError(f"{wanted!r} did not appear {count} time(s) in {path} within {timeout} s")


# --- parent-side helpers: processes seen from outside ----------------------------

def read_line(stream: IO[str], timeout: float = WAIT_SECONDS) -> str:
    """One line from a child's stdout pipe, or TimeoutError after ``timeout`` seconds without one."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no line within {timeout} s")
    return stream.readline().strip()


def running(pids: list[int]) -> list[int]:
    """The PIDs of ``pids`` whose process is still running (a zombie has ended: it only waits to be reaped)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def wait_until_gone(pids: list[int], timeout: float = WAIT_SECONDS) -> list[int]:
    """Wait until none of ``pids`` is running (at most ``timeout`` s); return those still running."""
    deadline = time.monotonic() + timeout
    while (alive := running(pids)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def kill_all(pids: list[int]) -> None:
    """SIGKILL every process of ``pids`` that is still running, and wait until they are gone."""
    for pid in running(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until_gone(pids)


def group_members(group: int) -> list[int]:
    """The PIDs of the running processes in process group ``group``."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group:
                members.append(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return running(members)


def kill_group(group: int) -> list[int]:
    """SIGKILL every process in process group ``group``; return those still running after that (none)."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return wait_until_gone(group_members(group))


def my_processes() -> list[str]:
    """``name PID n`` for every process this one started that is still running, except
    multiprocessing's own helpers (the resource tracker, the fork server): the "nothing left
    running" check at the end of a lesson."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            if child.status() == psutil.STATUS_ZOMBIE or "resource_tracker" in command \
                    or "forkserver" in command:
                continue
            found.append(f"{child.name()} PID {child.pid}")
        except psutil.NoSuchProcess:
            continue
    return found


# --- debuggers --------------------------------------------------------------------

PTRACE_HELP = ("py-spy reads another process's memory, which needs ptrace permission: on Linux run it "
               "as root or with CAP_SYS_PTRACE (in Docker: --cap-add SYS_PTRACE), or allow it with "
               "sysctl kernel.yama.ptrace_scope=0; on macOS run it with sudo")


def ptrace_scope() -> int | None:
    """Linux's Yama ptrace setting (0: any process of the same user; 1: only descendants;
    2: only root; 3: nobody), or None where there is no such setting."""
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text())
    except (OSError, ValueError):
        return None


def py_spy_command() -> str | None:
    """The py-spy program of this environment (or of PATH), or None if it is not installed."""
    return shutil.which("py-spy", path=sysconfig.get_path("scripts")) or shutil.which("py-spy")


def py_spy_dump(pid: int, timeout: float = WAIT_SECONDS) -> tuple[bool, str]:
    """Run ``py-spy dump --pid PID``: (True, its output), or (False, why it could not attach)."""
    command = py_spy_command()
    if command is None:
        return False, "py-spy is not installed (pip install py-spy)"
    # A Jupyter kernel asks its children for colours (CLICOLOR_FORCE): plain text is wanted here.
    env = {name: value for name, value in os.environ.items() if name not in ("CLICOLOR_FORCE", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    try:
        done = subprocess.run([command, "dump", "--pid", str(pid)], capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return False, f"py-spy did not finish within {timeout} s"
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip()).splitlines()
        return False, f"py-spy failed ({reason[-1] if reason else 'no message'}). {PTRACE_HELP}"
    return True, re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)


def pdb_attach(pid: int, commands: list[str], timeout: float = WAIT_SECONDS) -> tuple[bool, str]:
    """``python -m pdb -p PID`` (Python 3.14+), typing ``commands`` then detaching:
    (True, what pdb printed), or (False, why not)."""
    if sys.version_info < (3, 14):
        this = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return False, f"python -m pdb -p needs Python 3.14 or newer; this is {this}"
    try:
        done = subprocess.run([sys.executable, "-m", "pdb", "-p", str(pid)], input="\n".join(commands) + "\n",
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"pdb did not detach within {timeout} s"
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip()).splitlines()
        why = reason[-1] if reason else "no message"
        return False, f"pdb could not attach ({why}); it needs the same permission as py-spy"
    return True, done.stdout


# --- the programs ------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m when_things_go_wrong_workers pool|careful-pool METHOD`` or ``grandparent SECONDS``."""
    parser = argparse.ArgumentParser(prog="python -m when_things_go_wrong_workers")
    sub = parser.add_subparsers(dest="program", required=True)
    for name in ("pool", "careful-pool"):
        pool = sub.add_parser(name, help="two pool workers, six jobs; Ctrl-C or SIGTERM it")
        pool.add_argument("method", choices=multiprocessing.get_all_start_methods())
    grandparent = sub.add_parser("grandparent", help="start a sleeping grandchild and wait for it")
    grandparent.add_argument("seconds", type=float)
    args = parser.parse_args(argv)
    if args.program == "grandparent":
        return parent_of_a_sleeper(args.seconds)
    jobs = [0.05, 0.05] + [WAIT_SECONDS] * 4
    return pool_program(args.method, careful=args.program == "careful-pool", jobs=jobs)


if __name__ == "__main__":
    sys.exit(main())
