"""Child-process code for lesson 05: queues, pipes, sentinels, and what goes wrong.

Every function that runs in a child lives here, so that a child started with
*spawn* or *forkserver* can import it by name.  The parent-side helpers at the
end (``drain``, ``wait_until_reading``) only make the lesson's demos
deterministic.
"""
from __future__ import annotations

import os
import queue as queue_module
import time
from multiprocessing.connection import Connection
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

SENTINEL = None
"""The "no more items" marker.

``None`` survives pickling as ``None``, so ``item is SENTINEL`` holds in every
process.  A fresh ``object()`` would not: each child would unpickle its own copy.
"""

WAIT_SECONDS = 10.0
"""Longest any helper here waits, so that a broken demo fails instead of hanging."""


# --- Queue: a writer and readers that stop at a sentinel ----------------------

def write_items(queue: Queue, items: list[Any], readers: int = 1) -> None:
    """Put every item on ``queue``, then one sentinel per reader."""
    for item in items:
        queue.put(item)
    for _ in range(readers):
        queue.put(SENTINEL)


def read_until_sentinel(queue: Queue, report: Queue) -> None:
    """Take items until the sentinel, then put ``(pid, items taken)`` on ``report``."""
    taken = []
    while (item := queue.get()) is not SENTINEL:
        taken.append(item)
    report.put((os.getpid(), taken))


# --- Pipe: two connected ends --------------------------------------------------

def send_lines(conn: Connection, lines: list[str]) -> None:
    """Send every line through ``conn``, then close this end."""
    for line in lines:
        conn.send(line)
    conn.close()


def shout_back(conn: Connection) -> None:
    """Answer every message with its upper-case copy until the sentinel arrives.

    The loop stops on a sentinel, not on ``EOFError``: under *fork* the child
    inherits a copy of the parent's end too, so the parent closing its copy
    would not end this child's ``recv()``.
    """
    while (message := conn.recv()) is not SENTINEL:
        conn.send(message.upper())
    conn.close()


# --- join before drain ---------------------------------------------------------

def put_big_item(queue: Queue, size: int, put_returned: Event) -> None:
    """Put one ``size``-byte item on ``queue`` and signal that ``put`` returned.

    ``put`` only hands the item to the queue's feeder thread; a process does
    not exit until that thread has written everything into the pipe.
    """
    queue.put(b"x" * size)
    put_returned.set()


# --- what terminate() breaks ---------------------------------------------------

def work_through(tasks: Queue, progress: Queue) -> None:
    """Do tasks ``(name, seconds)`` until the sentinel, reporting each step.

    Puts ``("started", name)`` when a task is taken and ``("finished", name)``
    when its work (a sleep of ``seconds``) is done.
    """
    while (task := tasks.get()) is not SENTINEL:
        name, seconds = task
        progress.put(("started", name))
        time.sleep(seconds)
        progress.put(("finished", name))


def wait_for_one_item(queue: Queue, ready: Event) -> None:
    """Signal ``ready``, then wait for one item (blocking inside ``queue.get``)."""
    ready.set()
    queue.get()


# --- parent-side helpers -------------------------------------------------------

def drain(queue: Queue, quiet_seconds: float = 0.5) -> list[Any]:
    """Take items from ``queue`` until none arrives for ``quiet_seconds``."""
    items = []
    while True:
        try:
            items.append(queue.get(timeout=quiet_seconds))
        except queue_module.Empty:
            return items


def wait_until_reading(queue: Queue, timeout: float = WAIT_SECONDS) -> None:
    """Return once another process is inside ``queue.get()``.

    A blocking ``get`` holds the queue's read lock while it waits for data.
    This peeks at that private lock (``_rlock``), for the demo only: it makes
    "the reader is inside get" a fact instead of a guess about timing.
    """
    read_lock = queue._rlock  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while read_lock.acquire(timeout=0.01):
        read_lock.release()
        if time.monotonic() > deadline:
            raise TimeoutError("no process entered queue.get()")
        time.sleep(0.01)


def receive(conn: Connection, timeout: float = WAIT_SECONDS) -> Any:
    """``conn.recv()``, but raise ``TimeoutError`` after ``timeout`` seconds without data."""
    if not conn.poll(timeout):
        raise TimeoutError(f"nothing arrived within {timeout} s")
    return conn.recv()
