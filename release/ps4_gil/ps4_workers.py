"""Child-process helpers for problem set 4.

They live in a module (not in the notebook) because under the *spawn* and
*forkserver* start methods a child process imports the function it runs by
name.  Nothing here is a solution:

- ``call_and_send`` is the messenger your ``map_in_processes`` can start;
- ``fetch_result`` and ``Witness`` are what the tests of Part E use.  A
  ``Witness`` hands every call of ``fetch_result`` a fresh random result and
  asks the operating system which process made the call, so the tests know
  which process computed which result, whatever a submission reports.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def call_and_send(sender: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the child: send ``(os.getpid(), func(*args))`` through ``sender``, then close it.

    ``sender`` is the sending end of a ``multiprocessing.Pipe``.  If ``func``
    raises, nothing is sent and the child exits with code 1; the parent's
    ``recv()`` then raises ``EOFError``, provided the parent has closed its
    own copy of the sending end after starting the child.
    """
    try:
        sender.send((os.getpid(), func(*args)))
    finally:
        sender.close()


# --------------------------------------------------------------------------
# For the tests of Part E


def fetch_result(address: str, label: int, delay_s: float = 0.0, linger_s: float = 0.0) -> bytes:
    """Ask the ``Witness`` at ``address`` for the result of call ``label`` and return it.

    Sleeps ``delay_s`` seconds before returning.  With ``linger_s``, the
    process that made the call cannot exit for that long after it returns.
    The result is empty when the witness refused the call.
    """
    result = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(60.0)
        conn.connect(address)
        conn.sendall(f"{label}\n".encode())
        # The size comes first: under fork, a sibling process may hold a copy
        # of the witness's end of this socket, so the end of the data is
        # never announced by the socket closing.
        try:
            size = struct.unpack("!Q", _read_exactly(conn, 8))[0]
            result = _read_exactly(conn, size)
        except (OSError, EOFError):
            result = b""
    if linger_s > 0:
        threading.Thread(target=time.sleep, args=(linger_s,)).start()  # not a daemon: delays the exit
    time.sleep(delay_s)
    return result


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = conn.recv(min(missing, 1 << 16))
        if not chunk:
            raise EOFError("the witness closed the connection")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _peer_pid(conn: socket.socket) -> int:
    """The PID of the process at the other end of a Unix socket, from the kernel."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux
        pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        return pid
    return struct.unpack("i", conn.getsockopt(0, 0x002, struct.calcsize("i")))[0]  # macOS: SOL_LOCAL, LOCAL_PEERPID


def _refuse(conn: socket.socket) -> None:
    """Answer a call with an empty result."""
    try:
        conn.sendall(struct.pack("!Q", 0))
    except OSError:
        pass
    finally:
        conn.close()


def _descends_from(pid: int, ancestor: int) -> bool:
    import psutil

    try:
        return any(parent.pid == ancestor for parent in psutil.Process(pid).parents())
    except psutil.Error:
        return False


def _alive(pid: int) -> bool:
    """True while ``pid`` runs or waits, as a zombie, to be joined."""
    import psutil

    return psutil.pid_exists(pid)


class Witness:
    """Serves ``fetch_result`` calls in a thread of this process and records who made them.

    Every call made from a descendant process of this one gets a fresh
    random result of ``size`` bytes; a call made from this process itself is
    refused.  Only a hash of each result is kept.  With ``together=n``, the
    first ``n`` calls from ``n`` different processes are answered only once
    all of them are waiting (``met``); if they are not all there ``wait_s``
    seconds after the first one, every call gets an empty result.  With
    ``hang_s``, processes that were answered and still run ``hang_s``
    seconds later are killed (``killed``): a submission waiting for them
    then stops waiting.
    """

    def __init__(self, *, size: int = 32, together: int = 0, wait_s: float = 10.0, hang_s: float | None = None) -> None:
        self._folder = tempfile.mkdtemp()
        self.address = os.path.join(self._folder, secrets.token_hex(4))
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(64)
        self._listener.settimeout(0.02)
        self._size, self._together, self._wait_s, self._hang_s = size, together, wait_s, hang_s
        self._hashes: dict[bytes, tuple[int, int]] = {}  # hash of a result -> (label, pid)
        self.callers: list[int] = []  # the PID of every call, in arrival order
        self.met = False
        self.killed: list[int] = []
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # what the tests read

    def label_of(self, result: Any) -> int | None:
        """The label of the call that got ``result``, or None if no call got it."""
        if not isinstance(result, bytes) or not result:
            return None
        found = self._hashes.get(hashlib.sha256(result).digest())
        return None if found is None else found[0]

    def pid_of(self, label: int) -> int | None:
        """The PID of the process whose call ``label`` was answered."""
        return next((pid for found, pid in list(self._hashes.values()) if found == label), None)

    def answered(self) -> list[int]:
        """The PIDs of the processes that got a result."""
        return [pid for _, pid in list(self._hashes.values())]

    def still_there(self) -> list[int]:
        """The answered processes that still run or wait to be joined."""
        return [pid for pid in self.answered() if _alive(pid)]

    def close(self) -> None:
        self._done.set()
        self._thread.join()
        self._listener.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    # the serving thread

    def _serve(self) -> None:
        held: dict[int, tuple[socket.socket, int]] = {}
        first_at = answered_at = None
        gave_up = False
        try:
            while not self._done.is_set():
                now = time.monotonic()
                if held and not self.met and now - first_at > self._wait_s:
                    for conn, _ in held.values():
                        _refuse(conn)
                    held.clear()
                    gave_up = True
                if self._hang_s is not None and answered_at is not None and now - answered_at > self._hang_s:
                    self._kill_answered()
                    answered_at = None
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                pid, label = self._greet(conn)
                if label is None or pid in held or pid in self.answered() or not _descends_from(pid, os.getpid()):
                    _refuse(conn)
                elif not self._together or self.met or gave_up:
                    if self._together:
                        _refuse(conn)  # too late: the calls that met were answered already
                    else:
                        self._answer(conn, label, pid)
                        answered_at = time.monotonic()
                else:
                    held[pid] = (conn, label)
                    first_at = first_at or time.monotonic()
                    if len(held) == self._together:
                        self.met = True
                        for held_pid, (held_conn, held_label) in held.items():
                            self._answer(held_conn, held_label, held_pid)
                        held.clear()
                        answered_at = time.monotonic()
        except BaseException as error:  # reported by the test, never printed
            self.error = error
        finally:
            for conn, _ in held.values():
                _refuse(conn)

    def _greet(self, conn: socket.socket) -> tuple[int, int | None]:
        conn.settimeout(5.0)
        pid = _peer_pid(conn)
        self.callers.append(pid)
        line = b""
        try:
            while not line.endswith(b"\n") and len(line) < 32:
                chunk = conn.recv(32)
                if not chunk:
                    break
                line += chunk
            return pid, int(line)
        except (OSError, ValueError):
            return pid, None

    def _answer(self, conn: socket.socket, label: int, pid: int) -> None:
        result = os.urandom(self._size)
        self._hashes[hashlib.sha256(result).digest()] = (label, pid)
        try:
            conn.settimeout(30.0)
            conn.sendall(struct.pack("!Q", len(result)) + result)
        except OSError:
            pass
        finally:
            conn.close()

    def _kill_answered(self) -> None:
        import psutil

        for pid in self.answered():
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
            except (psutil.Error, OSError):
                pass
