"""What problem set 3's tests use to make thread bugs show every time (no solutions here).

A race between threads usually shows only now and then: the bad interleaving
needs a thread switch at just the wrong moment.  The tests here do not wait
for luck.  :func:`race` runs functions in threads, all at once, and makes them
take turns at every *read of shared state* and at their *first lock*:

* a thread that has just read a shared value pauses until each other thread
  has also done something observable (read a value, taken or tried a lock),
  or is blocked waiting for a lock, or has finished;
* a thread that has just taken its first lock pauses the same way.

So two threads that read the same value without a lock both read it before
either writes it back (a lost update, every time), and two threads that take
two locks in opposite orders each get their first lock before either tries
its second (a deadlock, every time).  Code that holds the right lock is not
disturbed: the other threads are then blocked on that lock, and no pause
waits for a blocked thread.

Reads are watched on :class:`Account` balances and on the ``value`` of a
counter class passed through :func:`traced`; locks are watched when they are
a :class:`TracedLock` (every ``Account.lock`` is one, and :func:`traced`
wraps the locks a counter keeps in its attributes).

A race keeps its bookkeeping to itself: the code under test cannot ask
whether it runs inside one, and a balance or a traced ``value`` has no
second, unwatched copy to read or write.

What problem sets 1 to 3 share (``call_with_timeout``, the meeting behind
:class:`Together`) is in ``ps_common.py``.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

# The notebook imports call_with_timeout from here, like everything else it uses.
from ps_common import call_with_timeout, meet, meeting_folder  # noqa: F401

#: Seconds a test waits for threads before it reports a deadlock.
PATIENCE = 10.0
#: Seconds a forced pause waits at most for the other threads; after one
#: such timeout (another thread is blocked on something not watched here),
#: the race goes on without pauses.
FALLBACK = 5.0

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_MISSING = object()


class Interleaver:
    """The bookkeeping of one :func:`race`: who has done what, who is blocked, who holds which lock."""

    def __init__(self, fallback: float | None = None, log: list | None = None) -> None:
        self._cond = threading.Condition()
        self.ticks: dict[int, int] = {}
        self.blocked: set[int] = set()
        self.done: set[int] = set()
        self.holders: set[int] = set()
        self.held: dict[int, dict[int, int]] = {}
        self.log = log
        self.fallback = FALLBACK if fallback is None else fallback
        self.forcing = True
        self.fallbacks = 0

    def enlist(self) -> None:
        """Make the calling thread a participant."""
        with self._cond:
            self.ticks[threading.get_ident()] = 0
            self.held[threading.get_ident()] = {}

    def leave(self) -> None:
        """The calling thread has finished."""
        with self._cond:
            self.done.add(threading.get_ident())
            self._cond.notify_all()

    def participates(self) -> bool:
        me = threading.get_ident()
        return me in self.ticks and me not in self.done

    def tick(self, pause: bool) -> None:
        """Record a step of the calling thread; with ``pause``, let the others catch up."""
        me = threading.get_ident()
        with self._cond:
            if me not in self.ticks or me in self.done:
                return
            self.ticks[me] += 1
            self._cond.notify_all()
            if not (pause and self.forcing):
                return
            snapshot = dict(self.ticks)
            others = [t for t in self.ticks if t != me]

            def caught_up() -> bool:
                return all(self.ticks[t] > snapshot[t] or t in self.blocked or t in self.done
                           for t in others)

            if not self._cond.wait_for(caught_up, self.fallback):
                self.fallbacks += 1
                self.forcing = False

    def set_blocked(self, blocked: bool) -> None:
        """The calling thread starts or stops waiting for a lock."""
        me = threading.get_ident()
        with self._cond:
            if me not in self.ticks:
                return
            if blocked:
                self.blocked.add(me)
            else:
                self.blocked.discard(me)
            self.ticks[me] += 1
            self._cond.notify_all()

    def first_lock(self) -> bool:
        """True the first time the calling thread gets a lock."""
        me = threading.get_ident()
        with self._cond:
            first = me not in self.holders
            self.holders.add(me)
            return first

    def hold(self, lock: object, change: int) -> None:
        """The calling thread took (``change`` 1) or released (-1) ``lock``."""
        with self._cond:
            held = self.held.setdefault(threading.get_ident(), {})
            count = held.get(id(lock), 0) + change
            if count > 0:
                held[id(lock)] = count
            else:
                held.pop(id(lock), None)

    def note(self, owner: object, kind: str) -> None:
        """Log that the calling thread read or wrote ``owner``'s watched value, and which locks it held."""
        if self.log is None:
            return
        with self._cond:
            held = frozenset(self.held.get(threading.get_ident(), {}))
            self.log.append((owner, kind, held))


def _runner(interleaver: Interleaver, start: threading.Barrier, timeout: float,
            outcomes: list, index: int, call: Callable[[], Any]) -> None:
    """The body of a race thread: the watched code finds its race by this frame on its stack."""
    interleaver.enlist()
    try:
        start.wait(timeout)
        outcomes[index] = call()
    except BaseException as error:  # noqa: BLE001 - handed to the caller
        outcomes[index] = error
    finally:
        interleaver.leave()


def _machinery():
    """Build the watched classes around a private lookup of the running race.

    The lookup walks the calling thread's stack to the :func:`_runner` frame
    of its race; nothing in the module's namespace says whether a race runs.
    """
    runner_code = _runner.__code__

    def race_here() -> Interleaver | None:
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code is runner_code:
                interleaver = frame.f_locals.get("interleaver")
                if interleaver is not None and interleaver.participates():
                    return interleaver
                return None
            frame = frame.f_back
        return None

    def after_read() -> None:
        """Called right after a thread read shared state: a forced pause inside a race."""
        interleaver = race_here()
        if interleaver is not None:
            interleaver.tick(pause=True)

    def noted_read(owner: object) -> None:
        interleaver = race_here()
        if interleaver is not None:
            interleaver.note(owner, "read")
            interleaver.tick(pause=True)

    def noted_write(owner: object) -> None:
        interleaver = race_here()
        if interleaver is not None:
            interleaver.note(owner, "write")

    class TracedLock:
        """A lock (wrapping a ``threading.Lock`` or ``RLock``) that :func:`race` can watch.

        Outside a race it behaves exactly like the lock it wraps.
        """

        def __init__(self, lock: Any = None) -> None:
            self._lock = threading.Lock() if lock is None else lock

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            interleaver = race_here()
            if interleaver is None:
                return self._lock.acquire(blocking, timeout)
            if self._lock.acquire(False):
                interleaver.hold(self, 1)
                interleaver.tick(pause=interleaver.first_lock())
                return True
            if not blocking:
                interleaver.tick(pause=False)
                return False
            interleaver.set_blocked(True)
            try:
                got = self._lock.acquire(True, timeout)
            finally:
                interleaver.set_blocked(False)
            if got:
                interleaver.hold(self, 1)
                interleaver.first_lock()
            return got

        def release(self) -> None:
            interleaver = race_here()
            if interleaver is not None:
                interleaver.hold(self, -1)
            self._lock.release()

        def __enter__(self) -> bool:
            return self.acquire()

        def __exit__(self, *exc: Any) -> None:
            self.release()

        def locked(self) -> bool:
            if hasattr(self._lock, "locked"):
                return self._lock.locked()
            if self._lock._is_owned():  # an RLock held by the calling thread
                return True
            if self._lock.acquire(False):
                self._lock.release()
                return False
            return True

        def __getattr__(self, name: str) -> Any:
            return getattr(self._lock, name)

        def __repr__(self) -> str:
            return f"<TracedLock {self._lock!r}>"

    def traced(cls: type) -> type:
        """A subclass of the counter class ``cls`` whose ``value`` the tests can watch.

        Inside a :func:`race`, a read of ``self.value`` pauses (see the module
        doc), and the locks the counter keeps in its attributes, or its class's,
        become :class:`TracedLock` s.  ``accesses(counter)`` tells how many times
        threads other than the main thread read and wrote ``value`` (in a race
        or not).
        """
        # Per counter (by id, removed when the counter goes): [value, reads, writes].
        state: dict[int, list] = {}

        class Traced(cls):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                state[id(self)] = [_MISSING, 0, 0]
                weakref.finalize(self, state.pop, id(self), None)
                for klass in type(self).__mro__:
                    for name, attr in list(vars(klass).items()):
                        if isinstance(attr, _LOCK_TYPES) and name not in self.__dict__:
                            object.__setattr__(self, name, TracedLock(attr))
                super().__init__(*args, **kwargs)

            def __setattr__(self, name: str, value: Any) -> None:
                if isinstance(value, _LOCK_TYPES):
                    value = TracedLock(value)
                super().__setattr__(name, value)

            @property
            def value(self) -> Any:
                mine = state[id(self)]
                current = mine[0]
                if current is _MISSING:  # never assigned: a class attribute, or nothing
                    current = super().value
                if threading.current_thread() is not threading.main_thread():
                    mine[1] += 1
                noted_read(self)
                return current

            @value.setter
            def value(self, new: Any) -> None:
                mine = state[id(self)]
                if threading.current_thread() is not threading.main_thread():
                    mine[2] += 1
                noted_write(self)
                mine[0] = new

        def accesses(counter: Any) -> dict[str, int]:
            _, reads, writes = state[id(counter)]
            return {"reads": reads, "writes": writes}

        Traced.__name__ = Traced.__qualname__ = f"Traced{cls.__name__}"
        counting[Traced] = accesses
        return Traced

    counting: weakref.WeakKeyDictionary[type, Callable] = weakref.WeakKeyDictionary()

    def accesses(counter: Any) -> dict[str, int]:
        """How many times threads other than the main thread read and wrote ``counter.value`` (see :func:`traced`)."""
        return counting[type(counter)](counter)

    balances: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    class Account:
        """A bank account: ``number``, ``balance`` and the ``lock`` that guards the balance.

        Reading ``balance`` inside a :func:`race` is a forced pause; ``lock`` is a
        :class:`TracedLock`.  The balance lives only behind the property.
        """

        def __init__(self, number: int, balance: int = 0) -> None:
            self.number = number
            balances[self] = balance
            self.lock = TracedLock()

        @property
        def balance(self) -> int:
            value = balances[self]
            noted_read(self)
            return value

        @balance.setter
        def balance(self, value: int) -> None:
            noted_write(self)
            balances[self] = value

        def __repr__(self) -> str:
            return f"Account({self.number}, balance={balances[self]})"

    return after_read, TracedLock, traced, accesses, Account


after_read, TracedLock, traced, accesses, Account = _machinery()
del _machinery


def race(*calls: Callable[[], Any], timeout: float = PATIENCE, return_exceptions: bool = False,
         strict: bool = False, log: list | None = None) -> list:
    """Run each call in its own thread, all at once, taking turns as the module doc says.

    Returns the calls' results in order.  An exception raised by a call is
    re-raised here (or, with ``return_exceptions``, returned in its place).
    Raises AssertionError when some threads have not finished after
    ``timeout`` seconds: they are waiting for each other, a deadlock (they
    are daemon threads, left waiting).  With ``strict``, also when a forced
    pause had to give up because a thread waited for a lock the race cannot
    see.  With ``log`` (a list), appends ``(account or counter, "read" or
    "write", ids of the TracedLocks the thread held)`` for every access to a
    balance or a traced ``value``.
    """
    interleaver = Interleaver(log=log)
    start = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)
    threads = [threading.Thread(target=lambda i=i, call=call: _runner(interleaver, start, timeout, outcomes, i, call),
                                daemon=True)
               for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise AssertionError(f"deadlock: {len(stuck)} of {len(calls)} threads were still waiting "
                             f"after {timeout:.0f} s ({', '.join(stuck)})")
    if strict and interleaver.fallbacks:
        raise AssertionError(f"a thread waited {interleaver.fallback:.0f} s for a lock the race cannot watch: "
                             "keep the lock in an attribute of the object, created in __init__")
    if not return_exceptions:
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
    return outcomes


# --------------------------------------------------------------------------- Part D

class Together:
    """A function for thread pools that shows several threads working at the same time.

    ``Together(workers)`` returns ``(item, thread number, together)``.  Each
    thread that calls it gets a number (0, 1, 2, ... in the order of their
    first calls; thread idents would not do, since a new thread may reuse the
    ident of one that ended).  The first call in each thread waits (at most
    ``timeout`` s) until ``workers`` threads have come; ``together`` says
    whether they met.  ``threads`` lists the threads that called it.
    """

    def __init__(self, workers: int, timeout: float = 20.0) -> None:
        self.workers = workers
        self.timeout = timeout
        self.threads: list[threading.Thread] = []
        self.folder = meeting_folder()
        self._seen = threading.local()
        self._lock = threading.Lock()

    def __call__(self, item: Any) -> tuple[Any, int, bool]:
        if not hasattr(self._seen, "number"):
            with self._lock:
                self._seen.number = len(self.threads)
                self.threads.append(threading.current_thread())
        together = meet(self.folder, f"thread-{self._seen.number}", self.workers, self.timeout)
        return item, self._seen.number, together


def fail_on(bad: Any, error: type[Exception] = ValueError) -> Callable[[Any], Any]:
    """A function that returns ``item * 2`` but raises ``error`` for the item ``bad``."""

    def doubled(item: Any) -> Any:
        if item == bad:
            raise error(f"cannot handle {item!r}")
        return item * 2

    return doubled


def new_threads(before: set[threading.Thread]) -> list[str]:
    """Names of the running threads that were not in ``before``."""
    return [t.name for t in threading.enumerate() if t not in before and t.is_alive()]


def os_threads() -> set[int]:
    """The operating system's ids of this process's threads (also those ``threading`` does not list)."""
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:  # no /proc (macOS, Windows): ask psutil
        import psutil

        return {thread.id for thread in psutil.Process().threads()}


def threads_left(before: set[int], grace: float = 2.0) -> set[int]:
    """Threads of this process not in ``before`` (from :func:`os_threads`) still there after ``grace`` s at most.

    A thread that has just been joined may take a moment to leave the
    operating system's list, hence the wait.
    """
    deadline = time.monotonic() + grace
    while True:
        left = os_threads() - before
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)
