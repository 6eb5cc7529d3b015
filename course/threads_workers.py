"""Thread targets for lesson 06, and a small script about daemon threads.

Threads share their process, so nothing here needs to be importable by a
child; the functions live in a module anyway so that the tests can use them.
Run as a script (``python threads_workers.py --daemon`` or ``--no-daemon``) it
shows what the interpreter does with a thread still running when the main
thread ends.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

WAIT_SECONDS = 10.0
"""Longest a thread here waits for an event, so that a broken demo ends anyway."""


def count_up(steps: int, pause: float) -> None:
    """Print ``steps`` numbered lines from the current thread, ``pause`` seconds apart."""
    name = threading.current_thread().name
    print(f"{name} is running", flush=True)
    for n in range(1, steps + 1):
        print(f"{name} counts {n}", flush=True)
        time.sleep(pause)
    print(f"{name} ends", flush=True)


def describe_into(found: dict[str, object]) -> None:
    """Store facts about the thread that runs this into ``found``."""
    me = threading.current_thread()
    found.update(
        name=me.name,
        is_main=me is threading.main_thread(),
        pid=os.getpid(),
        ident=threading.get_ident(),
        native_id=threading.get_native_id(),
        daemon=me.daemon,
    )


def wait_for(event: threading.Event, timeout: float = WAIT_SECONDS) -> bool:
    """Block until ``event`` is set (or ``timeout`` passes); return whether it was set."""
    return event.wait(timeout)


def divide(numerator: float, denominator: float) -> float:
    """Return ``numerator / denominator`` (and raise ``ZeroDivisionError`` for 0)."""
    return numerator / denominator


def record_wait(seconds: float, origin: float, timeline: list[tuple[str, float, float]]) -> None:
    """Sleep ``seconds``; append ``(thread name, start, end)`` measured from ``origin``."""
    start = time.perf_counter() - origin
    time.sleep(seconds)
    timeline.append((threading.current_thread().name, start, time.perf_counter() - origin))


def overlapping_waits(threads: int, seconds: float) -> list[tuple[str, float, float]]:
    """Run ``threads`` threads that each sleep ``seconds``; return their timeline, sorted by name."""
    origin = time.perf_counter()
    timeline: list[tuple[str, float, float]] = []
    workers = [
        threading.Thread(target=record_wait, args=(seconds, origin, timeline), name=f"waiter-{n}")
        for n in range(1, threads + 1)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT_SECONDS)
    return sorted(timeline)


def leave_thread_running(daemon: bool, work_seconds: float = 0.5) -> None:
    """Start a thread that works for ``work_seconds``, then end the main thread at once.

    The worker prints before it signals that it has started, and the main
    thread prints only after that signal, so the order of the lines is fixed.
    """
    started = threading.Event()

    def work() -> None:
        print("worker: started", flush=True)
        started.set()
        time.sleep(work_seconds)
        print("worker: finished", flush=True)

    threading.Thread(target=work, name="worker", daemon=daemon).start()
    started.wait(WAIT_SECONDS)
    print("main: last line of the script", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--daemon`` or ``--no-daemon`` (the default)."""
    parser = argparse.ArgumentParser(description=leave_thread_running.__doc__)
    parser.add_argument("--daemon", action=argparse.BooleanOptionalAction, default=False)
    args = parser.parse_args(argv)
    leave_thread_running(daemon=args.daemon)


if __name__ == "__main__":
    main()
