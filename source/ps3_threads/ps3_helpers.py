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
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

#: Seconds a test waits for threads before it reports a deadlock.
PATIENCE = 10.0
#: Seconds a forced pause waits at most for the other threads; after one
#: such timeout (another thread is blocked on something not watched here),
#: the race goes on without pauses.
FALLBACK = 5.0

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class Interleaver:
    """The bookkeeping of one :func:`race`: who has done what, who is blocked."""

    def __init__(self, fallback: float | None = None) -> None:
        self._cond = threading.Condition()
        self.ticks: dict[int, int] = {}
        self.blocked: set[int] = set()
        self.done: set[int] = set()
        self.holders: set[int] = set()
        self.fallback = FALLBACK if fallback is None else fallback
        self.forcing = True
        self.fallbacks = 0

    def enlist(self) -> None:
        """Make the calling thread a participant."""
        with self._cond:
            self.ticks[threading.get_ident()] = 0

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


_active: Interleaver | None = None
_race_lock = threading.Lock()


def _participating() -> Interleaver | None:
    """The running race's interleaver if the calling thread takes part in it."""
    interleaver = _active
    if interleaver is not None and interleaver.participates():
        return interleaver
    return None


def after_read() -> None:
    """Called right after a thread read shared state: a forced pause inside a race."""
    interleaver = _participating()
    if interleaver is not None:
        interleaver.tick(pause=True)


class TracedLock:
    """A lock (wrapping a ``threading.Lock`` or ``RLock``) that :func:`race` can watch.

    Outside a race it behaves exactly like the lock it wraps.
    """

    def __init__(self, lock: Any = None) -> None:
        self._lock = threading.Lock() if lock is None else lock

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        interleaver = _participating()
        if interleaver is None:
            return self._lock.acquire(blocking, timeout)
        if self._lock.acquire(False):
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
            interleaver.first_lock()
        return got

    def release(self) -> None:
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


def race(*calls: Callable[[], Any], timeout: float = PATIENCE, return_exceptions: bool = False) -> list:
    """Run each call in its own thread, all at once, taking turns as the module doc says.

    Returns the calls' results in order.  An exception raised by a call is
    re-raised here (or, with ``return_exceptions``, returned in its place).
    Raises AssertionError when some threads have not finished after
    ``timeout`` seconds: they are waiting for each other, a deadlock (they
    are daemon threads, left waiting).
    """
    global _active
    interleaver = Interleaver()
    start = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        interleaver.enlist()
        try:
            start.wait(timeout)
            outcomes[index] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            outcomes[index] = error
        finally:
            interleaver.leave()

    with _race_lock:
        _active = interleaver
        try:
            threads = [threading.Thread(target=run, args=(i, call), name=f"race-{i + 1}", daemon=True)
                       for i, call in enumerate(calls)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + timeout
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            stuck = [thread.name for thread in threads if thread.is_alive()]
        finally:
            _active = None
    if stuck:
        raise AssertionError(f"deadlock: {len(stuck)} of {len(calls)} threads were still waiting "
                             f"after {timeout:.0f} s ({', '.join(stuck)})")
    if not return_exceptions:
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
    return outcomes


def call_with_timeout(func: Callable, *args: Any, timeout: float = 30.0, **kwargs: Any) -> Any:
    """Return ``func(*args, **kwargs)``, run in a daemon thread so that a test cannot hang.

    Re-raises what ``func`` raised; raises AssertionError when it has not
    returned after ``timeout`` seconds (it goes on in the background).
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=run, name=f"call-{getattr(func, '__name__', 'func')}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"{getattr(func, '__name__', 'the call')}() did not return within "
                             f"{timeout:.0f} s: is it waiting for something that never comes (a deadlock)?")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --------------------------------------------------------------------------- Part A

def traced(cls: type) -> type:
    """A subclass of the counter class ``cls`` whose ``value`` the tests can watch.

    Inside a :func:`race`, a read of ``self.value`` pauses (see the module
    doc), and the locks the counter keeps in its attributes, or its class's,
    become :class:`TracedLock` s.  ``accesses(counter)`` tells how many times
    racing threads read and wrote ``value``.
    """

    class Traced(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            object.__setattr__(self, "_traced_counts", {"reads": 0, "writes": 0})
            object.__setattr__(self, "_traced_counts_lock", threading.Lock())
            for klass in type(self).__mro__:
                for name, attr in list(vars(klass).items()):
                    if isinstance(attr, _LOCK_TYPES) and name not in self.__dict__:
                        object.__setattr__(self, name, TracedLock(attr))
            super().__init__(*args, **kwargs)

        def __setattr__(self, name: str, value: Any) -> None:
            if isinstance(value, _LOCK_TYPES):
                value = TracedLock(value)
            super().__setattr__(name, value)

        def _traced_count(self, what: str) -> None:
            if _participating() is not None:
                with self._traced_counts_lock:
                    self._traced_counts[what] += 1

        @property
        def value(self) -> Any:
            try:
                current = self.__dict__["_traced_value"]
            except KeyError:  # never assigned: a class attribute, or nothing
                current = super(Traced, self).value
            self._traced_count("reads")
            after_read()
            return current

        @value.setter
        def value(self, new: Any) -> None:
            self._traced_count("writes")
            self.__dict__["_traced_value"] = new

    Traced.__name__ = Traced.__qualname__ = f"Traced{cls.__name__}"
    return Traced


def accesses(counter: Any) -> dict[str, int]:
    """How many times racing threads read and wrote ``counter.value`` (see :func:`traced`)."""
    return dict(counter._traced_counts)


# --------------------------------------------------------------------------- Part C

class Account:
    """A bank account: ``number``, ``balance`` and the ``lock`` that guards the balance.

    Reading ``balance`` inside a :func:`race` is a forced pause; ``lock`` is a
    :class:`TracedLock`.
    """

    def __init__(self, number: int, balance: int = 0) -> None:
        self.number = number
        self._balance = balance
        self.lock = TracedLock()

    @property
    def balance(self) -> int:
        value = self._balance
        after_read()
        return value

    @balance.setter
    def balance(self, value: int) -> None:
        self._balance = value

    def __repr__(self) -> str:
        return f"Account({self.number}, balance={self._balance})"


# --------------------------------------------------------------------------- Part D

class Together:
    """A function for thread pools that proves several threads work at the same time.

    ``Together(workers)`` returns ``(item, thread number, together)``.  Each
    thread that calls it gets a number (0, 1, 2, ... in the order of their
    first calls; thread idents would not do, since a new thread may reuse the
    ident of one that ended).  The first call in each thread waits (at most
    ``timeout`` s) until ``workers`` threads are waiting at once; ``together``
    says whether they met.  ``threads`` lists the threads that called it.
    """

    def __init__(self, workers: int, timeout: float = 20.0) -> None:
        self.barrier = threading.Barrier(workers)
        self.timeout = timeout
        self.threads: list[threading.Thread] = []
        self._seen = threading.local()
        self._lock = threading.Lock()

    def __call__(self, item: Any) -> tuple[Any, int, bool]:
        if not hasattr(self._seen, "number"):
            with self._lock:
                self._seen.number = len(self.threads)
                self.threads.append(threading.current_thread())
            try:
                self.barrier.wait(self.timeout)
                self._seen.met = True
            except threading.BrokenBarrierError:
                self._seen.met = False
        return item, self._seen.number, self._seen.met


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
