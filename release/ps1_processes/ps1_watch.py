"""How the tests of problem set 1 watch processes from the outside.

The tests do not take your functions' word for what their processes did: they
ask the operating system.  Nothing here is a solution, and nothing here keeps
state between calls; you may use it to check your own work.

* :class:`ForkWatch` notes every child that ``os.fork()`` makes in this
  process while it is open, and can tell how each child ended.
* :class:`Gate` is a folder whose lock the test holds.  The jobs in
  ``ps1_workers`` take a shared lock on the folder they are given, so they
  wait at a held gate; the operating system lists who waits (``/proc/locks``).
  The gate opens once ``expected`` processes wait at the same time (or when
  a deadline passes, or when this kernel itself waits: then the work did not
  run in other processes).

Exit codes come from pidfds (Linux 5.3+); reading them after the process is
gone needs ``PIDFD_GET_INFO`` (Linux 6.15+), else :meth:`exit_code` is None.
"""
from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import struct
import tempfile
import threading
import time

import psutil

_PIDFD_INFO_SIZE = 64
_PIDFD_GET_INFO = (3 << 30) | (_PIDFD_INFO_SIZE << 16) | (0xFF << 8) | 11  # _IOWR(0xFF, 11, 64 bytes)
_PIDFD_INFO_EXIT = 1 << 3


def _open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):  # no pidfds here (not Linux 5.3+)
        return None


def _ended(pidfd: int | None) -> bool:
    """Whether the process behind ``pidfd`` has ended (a zombie counts as ended)."""
    if pidfd is None:
        return False
    readable, _, _ = select.select([pidfd], [], [], 0)
    return bool(readable)


def _exit_code(pidfd: int | None) -> int | None:
    """The exit code (``Process.exitcode`` style: minus the signal) of an ended, reaped process."""
    if pidfd is None:
        return None
    info = bytearray(_PIDFD_INFO_SIZE)
    struct.pack_into("Q", info, 0, _PIDFD_INFO_EXIT)
    try:
        fcntl.ioctl(pidfd, _PIDFD_GET_INFO, info, True)
    except OSError:
        return None
    if not struct.unpack_from("Q", info, 0)[0] & _PIDFD_INFO_EXIT:
        return None
    return os.waitstatus_to_exitcode(struct.unpack_from("i", info, 60)[0])


def _wait_ended(pidfds: list[int | None], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for pidfd in pidfds:
        if pidfd is not None:
            select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))


def _children() -> set[int]:
    try:
        return {child.pid for child in psutil.Process().children()}
    except psutil.Error:
        return set()


def _descends_from_me(pid: int) -> bool:
    me = os.getpid()
    try:
        return pid != me and any(parent.pid == me for parent in psutil.Process(pid).parents())
    except psutil.Error:
        return False


class _Pidfds:
    """pidfds of watched processes, closed together."""

    def __init__(self) -> None:
        self.fds: dict[int, int | None] = {}

    def add(self, pid: int) -> None:
        if pid not in self.fds:
            self.fds[pid] = _open_pidfd(pid)

    def ended(self, pid: int) -> bool:
        return _ended(self.fds.get(pid))

    def exit_code(self, pid: int) -> int | None:
        return _exit_code(self.fds.get(pid))

    def wait_ended(self, timeout: float = 20.0) -> None:
        _wait_ended(list(self.fds.values()), timeout)

    def kill_running(self) -> None:
        for pidfd in self.fds.values():
            if pidfd is not None and not _ended(pidfd):
                try:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except OSError:
                    pass

    def close(self) -> None:
        for pidfd in self.fds.values():
            if pidfd is not None:
                os.close(pidfd)
        self.fds.clear()


class ForkWatch:
    """``with ForkWatch() as forks:`` notes the children ``os.fork()`` makes in this process.

    ``forks.pids`` lists them in the order they were forked; ``forks.ended(pid)``
    and ``forks.exit_code(pid)`` tell how each ended.  (``os.register_at_fork``
    cannot be undone: after the block the hooks stay, doing nothing.)
    """

    def __init__(self) -> None:
        self.pids: list[int] = []
        self._pidfds = _Pidfds()
        self._active = False
        self._before: set[int] = set()

    def _before_fork(self) -> None:
        if self._active:
            self._before = _children()

    def _after_fork(self) -> None:
        if not self._active:
            return
        try:
            for pid in sorted(_children() - self._before):
                self.pids.append(pid)
                self._pidfds.add(pid)
        except Exception:
            pass  # a hook must never print: the test sees a missing child instead

    def __enter__(self) -> ForkWatch:
        os.register_at_fork(before=self._before_fork, after_in_parent=self._after_fork)
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        self._active = False

    def ended(self, pid: int) -> bool:
        return self._pidfds.ended(pid)

    def reaped(self, pid: int) -> bool:
        """Whether the child has ended and been waited for (it is no zombie, nor running)."""
        try:
            return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None and self.ended(pid)
        except ChildProcessError:
            return True

    def exit_code(self, pid: int) -> int | None:
        """How the child ended, whether or not it was waited for (None: not ended, or unknown)."""
        try:
            zombie = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            zombie = None
        if zombie is not None:
            return zombie.si_status if zombie.si_code == os.CLD_EXITED else -zombie.si_status
        return self._pidfds.exit_code(pid)

    def close(self) -> None:
        """Reap the children left as zombies, and forget them."""
        for pid in self.pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        self._pidfds.close()


class Gate:
    """``with Gate(expected) as gate:`` a fresh folder, ``gate.folder``, whose lock this test holds.

    A watcher thread reads ``/proc/locks`` until ``expected`` processes that
    descend from this one wait for the lock at the same time, then opens the
    gate.  After the block (or :meth:`open_and_settle`):

    * ``gate.waiting`` the PIDs that waited together when the gate opened;
    * ``gate.parents`` the parent PID of each of them;
    * ``gate.siblings`` the processes made since the gate was set up that
      share a parent with those waiters (a pool's workers), when it opened;
    * ``gate.in_kernel`` whether this kernel itself waited at the gate;
    * ``gate.opened_early`` whether it opened on its deadline instead;
    * ``gate.ended(pid)``, ``gate.exit_code(pid)`` for every waiter and sibling.

    Leaving the block kills the watched processes that are still running.
    """

    def __init__(self, expected: int, deadline: float = 20.0) -> None:
        self.expected = expected
        self.deadline = deadline
        self.folder = tempfile.mkdtemp()
        self.waiting: set[int] = set()
        self.parents: dict[int, int | None] = {}
        self.siblings: set[int] = set()
        self.in_kernel = False
        self.opened_early = False
        self.opened = threading.Event()
        self._pidfds = _Pidfds()
        self._stop = threading.Event()
        self._lock_fd = os.open(self.folder, os.O_RDONLY)
        self._inode = os.stat(self.folder).st_ino
        self._before = self._descendants()
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _descendants() -> set[int]:
        try:
            return {p.pid for p in psutil.Process().children(recursive=True)}
        except psutil.Error:
            return set()

    def _waiters(self) -> set[int]:
        """PIDs blocked on this folder's lock, from /proc/locks."""
        inode = f":{self._inode} "
        waiters = set()
        with open("/proc/locks") as locks:
            for line in locks:
                fields = line.split()
                if "->" in fields and inode in line + " ":
                    position = fields.index("->")
                    if fields[position + 5].rsplit(":", 1)[-1] == str(self._inode):
                        waiters.add(int(fields[position + 4]))
        return waiters

    def _open(self) -> None:
        if not self.opened.is_set():
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self.opened.set()

    def _watch(self) -> None:
        give_up = time.monotonic() + self.deadline
        try:
            while not self._stop.is_set():
                waiters = self._waiters()
                if os.getpid() in waiters:
                    self.in_kernel = True
                    break
                waiters = {pid for pid in waiters if _descends_from_me(pid)}
                for pid in waiters:
                    self._pidfds.add(pid)
                if len(waiters) >= self.expected:
                    self.parents = {pid: self._parent(pid) for pid in waiters}
                    self.waiting = waiters
                    self.siblings = self._siblings_of(waiters)
                    for pid in self.siblings:
                        self._pidfds.add(pid)
                    break
                if time.monotonic() > give_up:
                    self.opened_early = True
                    break
                self._stop.wait(0.005)
        except Exception:
            self.opened_early = True
        finally:
            self._open()

    @staticmethod
    def _parent(pid: int) -> int | None:
        try:
            return psutil.Process(pid).ppid()
        except psutil.Error:
            return None

    def _siblings_of(self, waiters: set[int]) -> set[int]:
        parents = {self.parents[pid] for pid in waiters} - {None}
        siblings = set()
        for pid in self._descendants() - self._before:
            try:
                process = psutil.Process(pid)
                if process.ppid() in parents and not any("resource_tracker" in part for part in process.cmdline()):
                    siblings.add(pid)
            except psutil.Error:
                pass
        return siblings | waiters

    def __enter__(self) -> Gate:
        self._thread.start()
        return self

    def open_and_settle(self, timeout: float = 20.0) -> None:
        """Wait for the gate to open on its own (at most its deadline), then for the watched to end."""
        self._thread.join(self.deadline + 5)
        self._stop.set()
        self._thread.join()
        self._pidfds.wait_ended(timeout)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._open()
        os.close(self._lock_fd)
        self._pidfds.kill_running()
        self._pidfds.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def ended(self, pid: int) -> bool:
        return self._pidfds.ended(pid)

    def exit_code(self, pid: int) -> int | None:
        return self._pidfds.exit_code(pid)
