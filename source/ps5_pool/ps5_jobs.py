"""The jobs of problem set 5: what your pool runs, each job in a child process.

A job is a pair ``(func, arg)``: your pool calls ``func(arg)`` in a child
process.  Every ``func`` here is a plain module-level function, so a child
started by *spawn* or *forkserver* can import it by name.  Nothing here is a
solution: these jobs misbehave on command (crash, hang, flood) so that your
pool can show it survives them.

Jobs log with the logger :data:`LOG` (``logging.getLogger("ps5.jobs")``, level
INFO, not propagating to the root logger): a child sees those records only if
a handler is attached to that logger in the child.

The tests use :func:`scripted` with an :class:`Order`: it leaves a trace of
what the job did in a folder the test made (which process ran it, and whether
it finished), so that the test can check your pool's report from outside it;
it first waits (a few milliseconds) until the test has seen its process.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ps_common import meet

LOG = logging.getLogger("ps5.jobs")
LOG.setLevel(logging.INFO)
LOG.propagate = False

#: Seconds a job that hangs keeps hanging (it is meant to be killed long before).
FOREVER = 3600.0
#: Seconds a scripted job waits for the test's watcher to see its process before it goes on anyway.
SEEN_WITHIN = 10.0


# --------------------------------------------------------------------------- jobs for trying things out

def square(n: int) -> int:
    """Return ``n * n``, after logging one line."""
    LOG.info("squaring %s", n)
    return n * n


def chatty(lines: int) -> int:
    """Log ``lines`` numbered lines, then return ``lines``."""
    for number in range(lines):
        LOG.info("line %d of %d", number + 1, lines)
    return lines


def fail(message: str) -> None:
    """Raise ``ValueError(message)``: the job fails, its process does not."""
    LOG.info("about to fail")
    raise ValueError(message)


def crash(code: int) -> None:
    """End this process at once with exit code ``code`` (``os._exit``): nothing is sent back."""
    LOG.info("about to crash")
    os._exit(code)


def hang(seconds: float = FOREVER) -> None:
    """Sleep ``seconds`` (an hour unless told), as a job stuck on something that never comes."""
    LOG.info("hanging")
    time.sleep(seconds)


def hang_with_helper(seconds: float = FOREVER) -> None:
    """Start a helper program (a grandchild process of the pool), then sleep ``seconds``."""
    subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds!r})"])
    LOG.info("started a helper, now hanging")
    time.sleep(seconds)


# --------------------------------------------------------------------------- jobs the tests script

@dataclass(frozen=True)
class Order:
    """What :func:`scripted` does, and where it leaves its trace.

    ``do`` is one of ``"ok"`` (return :func:`answer` of the token), ``"raise"``
    (ValueError), ``"exit"`` (``os._exit(code)``), ``"kill"`` (SIGKILL to
    itself), ``"hang"`` (start ``helpers`` grandchildren, then hang).  Before
    that it waits until every job named in ``after`` has finished (it raises
    RuntimeError if that takes more than ``meet_within`` s), sleeps ``seconds``, logs ``lines`` lines, and, with
    ``parties``, meets that many jobs at ``folder/meeting``.  ``payload``
    bytes are added to the answer of an ``"ok"`` job.
    """

    token: str
    folder: str
    do: str = "ok"
    seconds: float = 0.0
    lines: int = 0
    parties: int = 0
    code: int = 0
    helpers: int = 0
    payload: int = 0
    after: tuple[str, ...] = ()
    meet_within: float = 20.0


def answer(token: str, nonce: str) -> str:
    """What an ``"ok"`` job returns for ``token``; ``nonce`` is made by the job's run (see :func:`scripted`)."""
    return hashlib.sha256(f"ps5:{token}:{nonce}".encode()).hexdigest()[:16]


def log_line(token: str, nonce: str, number: int) -> str:
    """The ``number``-th line (from 0) that the run of the job ``token`` with ``nonce`` logs."""
    return f"{token} says {number} ({nonce})"


def _trace(order: Order, what: str, content: str = "") -> None:
    """Leave ``<what>-<token>-<pid>`` in the order's folder, holding ``content``."""
    (Path(order.folder) / f"{what}-{order.token}-{os.getpid()}").write_text(content)


def _wait_until_seen(order: Order) -> None:
    """Wait until the test's watcher has seen this process (it leaves ``seen-<pid>``), or time is up.

    A job may be over in milliseconds; waiting here makes sure the test has
    seen, from outside, which process ran it.
    """
    mark = Path(order.folder) / f"seen-{os.getpid()}"
    deadline = time.monotonic() + SEEN_WITHIN
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.005)


def _wait_for(order: Order) -> None:
    """Wait until each job named in ``order.after`` has left a ``finished`` trace; raise if time runs out."""
    deadline = time.monotonic() + order.meet_within
    folder = Path(order.folder)
    while not all(any(folder.glob(f"finished-{token}-*")) for token in order.after):
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {order.token} waited {order.meet_within:.0f} s in vain for other jobs to finish")
        time.sleep(0.01)


def scripted(order: Order) -> str | None:
    """Do what ``order`` says, leaving ``started-...`` and (if it returns) ``finished-...`` traces.

    Each run makes a nonce of its own, written in its ``started`` trace: its
    answer and its log lines depend on it, so they can only come from the run.
    """
    nonce = secrets.token_hex(8)
    _trace(order, "started", nonce)
    _wait_until_seen(order)
    if order.after:
        _wait_for(order)
    if order.seconds:
        time.sleep(order.seconds)
    for number in range(order.lines):
        LOG.info("%s", log_line(order.token, nonce, number))
    if order.parties:
        meeting = Path(order.folder) / "meeting"
        meeting.mkdir(exist_ok=True)
        meet(str(meeting), str(os.getpid()), order.parties, order.meet_within)
    if order.do == "raise":
        raise ValueError(f"job {order.token} refuses")
    if order.do == "exit":
        os._exit(order.code)
    if order.do == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if order.do == "hang":
        for _ in range(order.helpers):
            subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({FOREVER!r})", order.token])
        _trace(order, "hanging")
        time.sleep(FOREVER)
    _trace(order, "finished")
    return answer(order.token, nonce) + "p" * order.payload
