"""What problem set 2 runs beside your code: jobs for child processes and test tools.

Functions that a child process runs live in a module (not in the notebook)
because under the *spawn* and *forkserver* start methods the child imports
them by name.  Nothing here is a solution: these are the jobs, the work
functions and the checks that the notebook's tests use.

Every wait here has a generous time limit, so a test never hangs: when your
code does not answer, the test fails with a message that says what it was
waiting for.  What problem sets 1 to 3 share (``call_with_timeout``, the
meeting behind :class:`Together`, ``running_children``) is in ``ps_common.py``.
"""
from __future__ import annotations

import contextlib
import hmac
import importlib
import multiprocessing
import multiprocessing.queues
import os
import queue
import secrets
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil

# The notebook imports call_with_timeout and fresh_import from here, like everything else it uses.
from ps_common import call_with_timeout, fresh_import, meet, meeting_folder, refuse_if_hung, remember_hang, running_children  # noqa: F401  (re-exported)

#: Seconds a new child process may take to start and answer (a loaded machine is slow).
STARTUP = 30.0
#: Seconds a process that is already running may take to react.
PATIENCE = 10.0
#: The end-of-stream marker of this problem set.
SENTINEL = None


# --------------------------------------------------------------------------- work functions

def square(item: int) -> int:
    """Return ``item * item`` (a work function for trying things out)."""
    return item * item


def tag(item: Any) -> tuple[Any, int]:
    """Return ``(item, pid)``: the item and the PID of the process that handled it."""
    return item, os.getpid()


class Together:
    """A work function that proves several processes work at the same time.

    ``Together(workers)`` returns ``(item, pid, together)`` for each item.  The
    first call in each process waits until ``workers`` processes have come (at
    most ``timeout`` seconds); ``together`` says whether they met.  Processes
    that run one after the other never meet, and a call in the process that
    made the ``Together`` (this kernel) does not wait.  With ``payload`` bytes
    added to every result, results are too big for a pipe's buffer, which
    turns the join-before-drain mistake into a sure deadlock.

    It may travel to a child process in any way (a ``Process`` argument, a
    queue).  For trying things out only: what it returns passes through your
    code, so the tests do not rely on it (they use :class:`Witness`, which
    asks the operating system instead).
    """

    def __init__(self, workers: int, payload: int = 0, timeout: float = 15.0) -> None:
        self.workers = workers
        self.payload = payload
        self.timeout = timeout
        self.creator = os.getpid()
        self.folder = meeting_folder()

    def __call__(self, item: Any) -> tuple:
        pid = os.getpid()
        together = pid != self.creator and meet(self.folder, str(pid), self.workers, self.timeout)
        result = (item, pid, together)
        if self.payload:
            result += (b"p" * self.payload,)
        return result


# --------------------------------------------------------------------------- who called the work (Part B)

_CREDENTIALS = struct.Struct("3i")  # what SO_PEERCRED gives: pid, uid, gid


def _read_line(sock: socket.socket, limit: int = 1 << 16) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk or len(data) > limit:
            raise ConnectionError("the other side hung up before the end of its line")
        data += chunk
    return data[:-1]


class WorkFailed(Exception):
    """What a work function of the tests raises on purpose: ``WorkFailed(item_repr, receipt)``."""

    def __init__(self, item: str, receipt: str) -> None:
        super().__init__(item, receipt)
        self.item = item
        self.receipt = receipt


class Reported:
    """A work function made by :class:`Witness`: ``work(item)`` returns ``(item, receipt)``.

    Each call reports the item to the witness in the test and waits for its
    receipt.  With ``payload`` bytes added to every result (``(item, receipt,
    payload)``), results are too big for a pipe's buffer.  For the items in
    ``fails_on`` it raises :class:`WorkFailed` with the receipt instead of
    returning.  It can travel to a child process in any way (a ``Process``
    argument, a queue).
    """

    def __init__(self, address: Any, payload: int, fails_on: tuple = ()) -> None:
        self.address = address
        self.payload = payload
        self.fails_on = fails_on

    def __call__(self, item: Any) -> tuple:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(STARTUP * 2)
            sock.connect(self.address)
            sock.sendall(repr(item).encode() + b"\n")
            receipt = _read_line(sock).decode()
        if item in self.fails_on:
            raise WorkFailed(repr(item), receipt)
        if self.payload:
            return item, receipt, b"p" * self.payload
        return item, receipt


class Witness:
    """The test's side of :class:`Reported`: which process called the work, with what.

    ``run(func, *args)`` calls ``func`` in a thread and, meanwhile, answers
    the work calls in the calling thread.  The operating system names the
    process behind each call (``SO_PEERCRED``), so ``calls`` maps each receipt
    handed out to ``(pid, repr(item))`` of a real call.  The first call of
    each new process waits until ``workers`` processes are calling at once
    (``met``), or ``meet_within`` seconds.  The call for ``last_item`` is
    answered only after ``total - 1`` others (or 3 s), so that its result
    comes late.
    """

    def __init__(self, workers: int, payload: int = 0, meet_within: float = 8.0) -> None:
        self.workers = workers
        self.meet_within = meet_within
        self.calls: dict[str, tuple[int, str]] = {}
        self.met = False
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind("\0" + secrets.token_hex(16))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self._payload = payload
        self._held: list[tuple[socket.socket, int, str, float]] = []
        self._released: set[int] = set()
        self._meeting_over = False
        self._last: str | None = None
        self._total = 0

    def work(self, fails_on: tuple = ()) -> Reported:
        """The work function to hand to the code under test (raising for the items of ``fails_on``)."""
        return Reported(self._listener.getsockname(), self._payload, tuple(fails_on))

    def close(self) -> None:
        for conn, *_ in self._held:
            conn.close()
        self._held.clear()
        self._listener.close()

    def __enter__(self) -> Witness:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _answer(self, conn: socket.socket, pid: int, text: str) -> None:
        receipt = secrets.token_hex(16)
        self.calls[receipt] = (pid, text)
        try:
            conn.sendall(receipt.encode() + b"\n")
        except OSError:
            pass
        conn.close()

    def _arrive(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(True)
        conn.settimeout(PATIENCE)
        try:
            pid = _CREDENTIALS.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                      _CREDENTIALS.size))[0]
            text = _read_line(conn).decode(errors="replace")
        except (OSError, ConnectionError):
            conn.close()
            return
        self._held.append((conn, pid, text, time.monotonic()))

    def _release(self) -> None:
        now = time.monotonic()
        if not self._meeting_over:
            waiting = {pid for _, pid, _, _ in self._held if pid != os.getpid()}
            if len(waiting) >= self.workers:
                self.met = self._meeting_over = True
            elif any(pid in waiting and now - since > self.meet_within for _, pid, _, since in self._held):
                self._meeting_over = True
        keep = []
        for entry in self._held:
            conn, pid, text, since = entry
            if pid != os.getpid() and pid not in self._released and not self._meeting_over:
                keep.append(entry)  # a new process waits for its peers
            elif (text == self._last and len(self.calls) < self._total - 1 and now - since < 3.0):
                keep.append(entry)  # the first item's result comes late
            else:
                if text == self._last:
                    self._last = None
                self._released.add(pid)
                self._answer(conn, pid, text)
        self._held = keep

    def run(self, func: Callable, *args: Any, last_item: Any = None, total: int = 0,
            timeout: float = 20.0) -> Any:
        """Return ``func(*args)`` (run in a thread), answering the work calls meanwhile."""
        self._last = None if last_item is None else repr(last_item)
        self._total = total
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["value"] = func(*args)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                outcome["error"] = error

        refuse_if_hung(func)
        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while thread.is_alive():
            if time.monotonic() > deadline:
                raise remember_hang(func, timeout)
            if select.select([self._listener], [], [], 0.02)[0]:
                self._arrive()
            self._release()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


# --------------------------------------------------------------------------- a slow producer (Part A)

class SlowFeed(multiprocessing.queues.Queue):
    """A Queue fed by a producer slower than any timeout a reader gives ``get``.

    ``get()`` (blocking, no timeout) behaves as usual.  ``get(timeout=t)``
    waits at most a twentieth of a second, whatever ``t`` is: for a reader
    it is as if the producer were slower than ``t``.  A reader that waits
    for the sentinel keeps waiting; one that gives up after a timeout gives
    up at once, every time.
    """

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize, ctx=multiprocessing.get_context())

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if block and timeout is not None:
            timeout = min(timeout, 0.05)
        return super().get(block, timeout)


# --------------------------------------------------------------------------- calling code in a child

def _call_and_report(module: str, function: str, args: tuple, report: Any) -> None:
    """Child side of :class:`ChildCall`: report instead of printing a traceback."""
    try:
        func = getattr(importlib.import_module(module), function)
    except BaseException as error:  # noqa: BLE001 - reported to the test
        report.send(("raised", f"cannot get {module}.{function}: {type(error).__name__}: {error}"))
        return
    report.send(("started", os.getpid()))
    try:
        value = func(*args)
    except BaseException as error:  # noqa: BLE001 - reported to the test
        report.send(("raised", f"{function}() raised {type(error).__name__}: {error}"))
    else:
        report.send(("returned", repr(value)[:200]))


class ChildCall:
    """Run ``module.function(*args)`` in a new child process and watch it.

    An exception in the child is reported to the parent (nothing is printed),
    so a test can fail with the child's error message.
    """

    def __init__(self, module: str, function: str, *args: Any) -> None:
        self.label = f"{function}()"
        self._reader, writer = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.Process(
            target=_call_and_report, args=(module, function, args, writer),
            name=f"{module}.{function}", daemon=True)
        self.process.start()
        writer.close()
        self.events: list[tuple] = []

    def _read_reports(self, timeout: float = 0.0) -> None:
        try:
            while self._reader.poll(timeout):
                self.events.append(self._reader.recv())
                timeout = 0.0
        except (EOFError, OSError):
            pass

    def failure(self) -> str | None:
        """The child's error message if it raised, else None."""
        self._read_reports()
        for event in self.events:
            if event[0] == "raised":
                return event[1]
        return None

    def wait_started(self, timeout: float = STARTUP) -> int:
        """Wait until the child is about to call the function; return its PID."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event[0] == "started":
                    return event[1]
            if self.failure():
                raise AssertionError(self.failure())
            if time.monotonic() > deadline:
                raise AssertionError(f"the child process did not start {self.label} within {timeout:.0f} s")
            if not self.process.is_alive():
                self._read_reports(0.5)
                if not any(e[0] == "started" for e in self.events):
                    raise AssertionError(f"the child process died (exit code {self.process.exitcode}) "
                                         f"before calling {self.label}")
            self._read_reports(0.05)

    def finished(self, timeout: float = PATIENCE) -> bool:
        """Wait at most ``timeout`` s for the child to end; True if it has."""
        self.process.join(timeout)
        return not self.process.is_alive()

    def assert_returned(self, timeout: float = PATIENCE, why: str = "") -> None:
        """Fail unless the function returned normally and the child then ended."""
        if not self.finished(timeout):
            raise AssertionError(f"{self.label} is still running {timeout:.0f} s after it should have "
                                 f"returned{why}")
        self._read_reports()
        if self.failure():
            raise AssertionError(self.failure())
        assert any(e[0] == "returned" for e in self.events) and self.process.exitcode == 0, (
            f"the child running {self.label} ended with exit code {self.process.exitcode}")

    def stop(self) -> None:
        """Kill the child if it is still running, and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(PATIENCE)
        self._reader.close()


def collect(source: Any, child: ChildCall, expected: int | None = None,
            timeout: float = STARTUP) -> list:
    """Read ``source`` (a queue) until SENTINEL; return the items before it.

    Fails fast, with a message, when ``child`` raised or ended without putting
    SENTINEL; fails after ``timeout`` s in any case, and after PATIENCE s once
    ``expected`` items arrived but SENTINEL does not follow.
    """
    items: list = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            item = source.get(timeout=0.05)
        except queue.Empty:
            failure = child.failure()
            if failure:
                raise AssertionError(failure) from None
            if not child.process.is_alive():
                try:  # everything the child put is in the pipe once it has ended
                    item = source.get(timeout=0.5)
                except queue.Empty:
                    raise AssertionError(
                        f"{child.label} ended without putting SENTINEL (None) at the end; "
                        f"got {len(items)} items before that") from None
            elif time.monotonic() > deadline:
                raise AssertionError(
                    f"{child.label} is still running but sent no SENTINEL (None) after "
                    f"{len(items)} items: does it stop when its own input ends?") from None
            else:
                continue
        if item is SENTINEL:
            return items
        items.append(item)
        if expected is not None and len(items) == expected:
            deadline = min(deadline, time.monotonic() + PATIENCE)


@contextlib.contextmanager
def started(*processes: Any, patience: float = PATIENCE) -> Iterator[tuple]:
    """Start ``processes``; when the block ends, join them, killing any still running.

    A process that does not end within ``patience`` seconds after the block
    is killed (and this says so), so that nothing is left running even when
    the code in the block failed.
    """
    for process in processes:
        process.start()
    try:
        yield processes
    finally:
        deadline = time.monotonic() + patience
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                print(f"{process.name} was still running {patience:.0f} s later: killed it")
                process.kill()
                process.join()


def read_all(source: Any, *processes: Any, timeout: float = STARTUP) -> list:
    """Read ``source`` until SENTINEL and return the items before it.

    For trying things out: instead of blocking forever, it stops with an
    error when every process in ``processes`` has ended and nothing more can
    come, or after ``timeout`` seconds.
    """
    items: list = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            item = source.get(timeout=0.05)
        except queue.Empty:
            if all(p.exitcode is not None for p in processes):
                try:
                    item = source.get(timeout=0.5)
                except queue.Empty:
                    codes = [p.exitcode for p in processes]
                    raise RuntimeError(f"the processes ended (exit codes {codes}) without "
                                       f"sending SENTINEL; got {items}") from None
            elif time.monotonic() > deadline:
                raise RuntimeError(f"no SENTINEL after {timeout:.0f} s; got {items}") from None
            else:
                continue
        if item is SENTINEL:
            return items
        items.append(item)


def received(conn: Any, child: ChildCall, timeout: float = STARTUP) -> Any:
    """Receive one message on ``conn`` from ``child``; fail fast if it raised or died."""
    deadline = time.monotonic() + timeout
    while not conn.poll(0.05):
        failure = child.failure()
        if failure:
            raise AssertionError(failure)
        if not child.process.is_alive() and not conn.poll(0.5):
            raise AssertionError(f"{child.label} ended without answering")
        if time.monotonic() > deadline:
            raise AssertionError(f"no answer from {child.label} within {timeout:.0f} s")
    return conn.recv()


def exchange(conn: Any, child: ChildCall, request: Any) -> Any:
    """Send ``request`` to the server ``child`` on ``conn`` and return its answer."""
    try:
        conn.send(request)
    except OSError:
        raise AssertionError(child.failure() or f"{child.label} closed its end of the pipe "
                             f"before the request {request!r}") from None
    return received(conn, child)


# --------------------------------------------------------------------------- child processes left behind

def new_children(before: dict) -> list[psutil.Process]:
    """Running descendants that were not in ``before`` (see :func:`running_children`)."""
    return [proc for key, proc in running_children().items() if key not in before]


def snapshot() -> tuple[dict, set]:
    """What :func:`left_behind` compares with: running descendants and unjoined Process objects."""
    return running_children(), set(multiprocessing.process._children)


def left_behind(before: tuple[dict, set]) -> list[str]:
    """Processes started since ``before`` that are still running or were never joined.

    Seen three ways: running descendants of this kernel (psutil), ended
    children nobody has waited for (zombies), and ``multiprocessing.Process``
    objects started but not joined.
    """
    running, started = before
    found = [f"PID {proc.pid} (running)" for proc in new_children(running)]
    for proc in psutil.Process().children():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE and (proc.pid, proc.create_time()) not in running:
                found.append(f"PID {proc.pid} (ended, never joined)")
        except psutil.Error:
            continue
    found += [f"{process.name} (started, never joined)"
              for process in set(multiprocessing.process._children) - started]
    return sorted(set(found))


def unjoined(processes: list) -> list[str]:
    """The names of ``processes`` that nobody joined: OS children not waited for, or Process objects."""
    pids = {proc.pid for proc in psutil.Process().children()}
    pending = set(multiprocessing.process._children)
    return [process.name for process in processes if process.pid in pids or process in pending]


def kill_new_children(before: dict) -> None:
    """Kill every running descendant that was not in ``before`` (test clean-up)."""
    for proc in new_children(before):
        try:
            proc.kill()
        except psutil.Error:
            pass
    multiprocessing.active_children()  # reaps what this kernel's Process objects can


# --------------------------------------------------------------------------- servers for Part C

def echo_server(conn: Any) -> None:
    """Answer every request with ``("echo", request, pid)`` until None arrives."""
    while True:
        request = conn.recv()
        if request is None:
            break
        conn.send(("echo", request, os.getpid()))
    conn.close()


def slow_echo_server(conn: Any, delay: float = 0.5) -> None:
    """Like :func:`echo_server`, but each answer comes ``delay`` seconds late."""
    while True:
        request = conn.recv()
        if request is None:
            break
        time.sleep(delay)
        conn.send(("echo", request, os.getpid()))
    conn.close()


def keyed_echo_server(conn: Any, delay: float = 0.0) -> None:
    """Answer each request, ``delay`` seconds late, with ``("echo", request, seal)``, until None.

    The first message is a key (bytes) and gets no answer; ``seal`` is
    :func:`seal` of the key and the request, which only the key's owner can
    compute.
    """
    key = conn.recv()
    while True:
        request = conn.recv()
        if request is None:
            break
        time.sleep(delay)
        conn.send(("echo", request, seal(key, request)))
    conn.close()


def seal(key: bytes, request: Any) -> str:
    """A short keyed digest of ``repr(request)``."""
    return hmac.new(key, repr(request).encode(), "sha256").hexdigest()[:20]


def silent_server(conn: Any) -> int:
    """Read requests and never answer, until None arrives; return how many came before it."""
    count = 0
    while conn.recv() is not None:
        count += 1
    conn.close()
    return count


# --------------------------------------------------------------------------- workers for Part D

def _say(log: Any, *message: Any) -> None:
    if log is not None:
        log.send(message)


def polite_worker(inbox: Any, outbox: Any, ready: Any, log: Any = None) -> None:
    """Copy items from ``inbox`` to ``outbox`` until SENTINEL, then end."""
    ready.set()
    while True:
        item = inbox.get()
        if item is SENTINEL:
            _say(log, "sentinel")
            break
        _say(log, "item", item)
        outbox.put(item)


def slow_worker(inbox: Any, outbox: Any, ready: Any, log: Any = None) -> None:
    """Like :func:`polite_worker`, but it takes 0.3 s to end after its SENTINEL."""
    polite_worker(inbox, outbox, ready, log)
    time.sleep(0.3)


def _hang() -> None:
    while True:
        signal.pause()


def stuck_worker(inbox: Any, outbox: Any, ready: Any, log: Any = None) -> None:
    """Hang without reading ``inbox``: only a signal can stop it."""
    def ended_by_sigterm(signum: int, frame: Any) -> None:
        _say(log, "SIGTERM")
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, ended_by_sigterm)
    ready.set()
    _hang()


def tidy_worker(inbox: Any, outbox: Any, ready: Any, log: Any = None) -> None:
    """Hang without reading ``inbox``; on SIGTERM, take 0.6 s to tidy up, then end by it."""
    def tidy_up(signum: int, frame: Any) -> None:
        _say(log, "SIGTERM")
        time.sleep(0.6)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, tidy_up)
    ready.set()
    _hang()


def stubborn_worker(inbox: Any, outbox: Any, ready: Any, log: Any = None) -> None:
    """Hang and ignore SIGTERM: only SIGKILL can stop it."""
    def ignore(signum: int, frame: Any) -> None:
        _say(log, "SIGTERM")

    signal.signal(signal.SIGTERM, ignore)
    ready.set()
    _hang()


WORKER_KINDS = {"polite": polite_worker, "slow": slow_worker, "stuck": stuck_worker,
                "tidy": tidy_worker, "stubborn": stubborn_worker}


@contextlib.contextmanager
def watched_workers(kinds: list[str]) -> Iterator[tuple[list, Any, Any, Callable[[], dict]]]:
    """Start one worker per kind, all reading one inbox; yield (workers, inbox, outbox, logs).

    Workers are named ``<kind>-<n>`` and are running (waiting for items) when
    the block starts.  ``logs()`` returns ``{name: [message, ...]}``: what
    each worker said about itself, through a pipe only it can write to
    (``("item", x)`` for each item copied, ``("sentinel",)`` when it reached
    its sentinel, ``("SIGTERM",)`` when SIGTERM arrived).  When the block
    ends, any worker still running is killed.
    """
    inbox, outbox = multiprocessing.Queue(), multiprocessing.Queue()
    workers, ready, readers = [], [], []
    try:
        for number, kind in enumerate(kinds, 1):
            event = multiprocessing.Event()
            reader, writer = multiprocessing.Pipe(duplex=False)
            worker = multiprocessing.Process(target=WORKER_KINDS[kind], args=(inbox, outbox, event, writer),
                                             name=f"{kind}-{number}", daemon=True)
            worker.start()
            writer.close()
            workers.append(worker)
            ready.append(event)
            readers.append(reader)
        for worker, event in zip(workers, ready):
            if not event.wait(STARTUP):
                raise RuntimeError(f"worker {worker.name} did not start within {STARTUP:.0f} s")

        def logs() -> dict:
            said = {}
            for worker, reader in zip(workers, readers):
                said[worker.name] = messages = []
                try:
                    while reader.poll(0.5 if worker.is_alive() else 0.05):
                        messages.append(reader.recv())
                except (EOFError, OSError):
                    pass
            return said

        yield workers, inbox, outbox, logs
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join(PATIENCE)
        for reader in readers:
            reader.close()


@contextlib.contextmanager
def running_workers(kinds: list[str]) -> Iterator[tuple[list, Any, Any]]:
    """Start one worker per kind, all reading one inbox; yield (workers, inbox, outbox).

    Workers are named ``<kind>-<n>`` and are running (waiting for items) when
    the block starts.  When it ends, any worker still running is killed.
    """
    with watched_workers(kinds) as (workers, inbox, outbox, _):
        yield workers, inbox, outbox


def drain(source: Any, count: int, timeout: float = PATIENCE) -> list:
    """Take ``count`` items from ``source``, or as many as arrive within ``timeout`` s."""
    items: list = []
    deadline = time.monotonic() + timeout
    while len(items) < count:
        try:
            items.append(source.get(timeout=max(0.05, deadline - time.monotonic())))
        except queue.Empty:
            break
    return items
