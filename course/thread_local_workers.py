"""Per-thread context for lesson 09: a global, ``threading.local``, ``contextvars``.

The code models a tiny web application: a request handler stores who is asking
(or which request it serves) somewhere, and a helper deep in the call chain reads
it back without being passed it as a parameter.  The lesson runs these functions
in threads; nothing here starts a process.
"""
from __future__ import annotations

import contextvars
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

WAIT_SECONDS = 5.0
"""Longest a thread waits at a barrier, so a broken demo fails instead of hanging."""

# --- one global for everybody: breaks as soon as two requests overlap ----------

current_user: str = "anonymous"


def greeting_from_global() -> str:
    """Build a greeting for the user stored in the module-level global."""
    return f"Hello, {current_user}"


def handle_with_global(user: str, barrier: threading.Barrier | None = None) -> str:
    """Serve one request, keeping its user in a global shared by all threads.

    ``barrier`` makes every request store its user before any of them reads it
    back, the interleaving that breaks this version.
    """
    global current_user
    current_user = user
    if barrier is not None:
        barrier.wait(WAIT_SECONDS)
    return f"{user} got: {greeting_from_global()}"


# --- threading.local: one namespace per thread ---------------------------------

request_context = threading.local()


def greeting_from_local() -> str:
    """Build a greeting for the user stored in this thread's ``request_context``."""
    return f"Hello, {getattr(request_context, 'user', 'anonymous')}"


def handle_with_local(user: str, barrier: threading.Barrier | None = None) -> str:
    """Serve one request, keeping its user in ``request_context`` (per thread)."""
    request_context.user = user
    if barrier is not None:
        barrier.wait(WAIT_SECONDS)
    return f"{user} got: {greeting_from_local()}"


class RequestDefaults(threading.local):
    """A thread-local with defaults: ``__init__`` runs once in every thread that uses it."""

    def __init__(self) -> None:
        self.user = "anonymous"
        self.initialised_in = threading.current_thread().name


# --- a resource that must stay in its thread: one SQLite connection each ---------

class PerThreadConnections:
    """Open one SQLite connection per thread, on first use, and count them.

    A ``sqlite3.Connection`` refuses to be used from any thread but the one
    that created it, so a threaded program keeps one per thread.
    """

    def __init__(self, database: str = ":memory:") -> None:
        self.database = database
        self.opened = 0
        self._local = threading.local()
        self._count_lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """Return the calling thread's connection, opening it the first time."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.database)
            self._local.connection = connection
            with self._count_lock:
                self.opened += 1
        return connection

    def close(self) -> None:
        """Close the calling thread's connection, if it has one."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            del self._local.connection


def run_queries(connections: PerThreadConnections, count: int) -> int:
    """Run ``count`` small queries on this thread's connection, then close it.

    Returns the sum of the query results (``1 + 2 + ... + count``).
    """
    try:
        return sum(connections.get().execute("SELECT ?", (n,)).fetchone()[0]
                   for n in range(1, count + 1))
    finally:
        connections.close()


# --- reused pool threads: a thread-local outlives the task that set it ----------

def log_line(message: str) -> str:
    """Prefix ``message`` with the request id found in this thread's context."""
    return f"[{getattr(request_context, 'request_id', '-')}] {message}"


def serve_request(request_id: str) -> str:
    """Handle a request: store its id thread-locally and never clear it (the bug)."""
    request_context.request_id = request_id
    return log_line("served")


def background_job() -> str:
    """A task that belongs to no request; it should log with ``-``."""
    return log_line("background job")


@contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """Set this thread's request id for the ``with`` block, and always remove it."""
    request_context.request_id = request_id
    try:
        yield
    finally:
        del request_context.request_id


def serve_request_scoped(request_id: str) -> str:
    """Handle a request with its id set only while the request runs (the fix)."""
    with request_scope(request_id):
        return log_line("served")


# --- contextvars: context that follows tasks, not threads -------------------------

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def log_line_cv(message: str) -> str:
    """Prefix ``message`` with the request id of the current context."""
    return f"[{request_id_var.get()}] {message}"


def serve_request_cv(request_id: str) -> str:
    """Handle a request, setting the context variable and never resetting it."""
    request_id_var.set(request_id)
    return log_line_cv("served")


def background_job_cv() -> str:
    """A task that belongs to no request, logging from the context variable."""
    return log_line_cv("background job")
