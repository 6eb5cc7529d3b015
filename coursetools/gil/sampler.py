"""Per-core CPU use, sampled by a separate process.

A sampler thread inside the measuring process would compete for the very GIL
it measures, so :class:`CpuSampler` runs :func:`sampler_loop` in a process of
its own and talks to it through a pipe.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psutil

from . import interpreter

SAMPLE_INTERVAL_S = 0.08
"""Sampler period: 12.5 samples per second, so >= 10 Hz even with late ticks."""


@dataclass
class CoreSample:
    """Busy percentage of every core over the interval that ends at ``t``."""

    t: float
    per_core: list[float]


def busy_percent(before: Sequence[Any], after: Sequence[Any]) -> list[float]:
    """Per-core busy percentage between two ``psutil.cpu_times(percpu=True)``.

    Busy means neither idle nor waiting for I/O; guest time is already
    counted in user time on Linux, so it is not added twice.
    """
    percents = []
    for old, new in zip(before, after):
        def total(times: Any) -> float:
            extra = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
            return sum(times) - extra

        def idle(times: Any) -> float:
            return times.idle + getattr(times, "iowait", 0.0)

        elapsed = total(new) - total(old)
        busy = elapsed - (idle(new) - idle(old))
        percents.append(0.0 if elapsed <= 0 else max(0.0, min(100.0, 100.0 * busy / elapsed)))
    return percents


def sampler_loop(conn: multiprocessing.connection.Connection, interval: float) -> None:
    """Sampler process: answer ``"start"``/``"stop"``/``"quit"`` on ``conn``.

    After ``"start"`` it takes a sample every ``interval`` seconds until
    ``"stop"`` arrives, then sends ``(samples, per_core_over_whole_run)``.
    """
    try:
        while True:
            command = conn.recv()
            if command != "start":
                return
            first = previous = psutil.cpu_times(percpu=True)
            conn.send(("started", time.monotonic()))
            samples: list[CoreSample] = []
            next_tick = time.monotonic() + interval
            while not conn.poll(max(0.0, next_tick - time.monotonic())):
                current = psutil.cpu_times(percpu=True)
                now = time.monotonic()
                samples.append(CoreSample(now, busy_percent(previous, current)))
                previous = current
                next_tick += interval
                if next_tick < now:  # starved: skip the ticks we missed
                    next_tick = now + interval
            conn.recv()  # "stop"
            last = psutil.cpu_times(percpu=True)
            samples.append(CoreSample(time.monotonic(), busy_percent(previous, last)))
            conn.send((samples, busy_percent(first, last)))
    except (EOFError, OSError, KeyboardInterrupt):
        return
    finally:
        conn.close()


class CpuSampler:
    """A sampler process that records per-core CPU between start() and stop().

    Use it as a context manager so the process always ends::

        with CpuSampler() as sampler:
            sampler.start()
            ...                     # the work to watch
            samples, overall = sampler.stop()
    """

    def __init__(self, interval: float = SAMPLE_INTERVAL_S, mp_context: Any = None) -> None:
        self.interval = interval
        self._context = mp_context or multiprocessing.get_context()
        self._conn: multiprocessing.connection.Connection | None = None
        self.process: Any = None
        self.started_at: float | None = None

    def __enter__(self) -> CpuSampler:
        ours, theirs = self._context.Pipe()
        self.process = self._context.Process(
            target=sampler_loop, args=(theirs, self.interval), name="cpu-sampler", daemon=True
        )
        with interpreter.fork_warning_ignored():
            self.process.start()
        theirs.close()
        self._conn = ours
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> float:
        """Take the baseline; return its ``time.monotonic()``."""
        _, self.started_at = self._ask("start")
        return self.started_at

    def stop(self) -> tuple[list[CoreSample], list[float]]:
        """Return the samples since start() and each core's busy % over them."""
        samples, overall = self._ask("stop")
        return samples, overall

    def _ask(self, command: str) -> Any:
        if self._conn is None:
            raise RuntimeError("use CpuSampler as a context manager")
        try:
            self._conn.send(command)
            return self._conn.recv()
        except (EOFError, OSError) as error:
            exitcode = None if self.process is None else self.process.exitcode
            raise RuntimeError(f"the sampler process is gone (exit code {exitcode})") from error

    def close(self) -> None:
        """Tell the sampler to quit and wait for it (kill it if it won't)."""
        if self._conn is not None:
            try:
                self._conn.send("quit")
            except OSError:
                pass
            self._conn.close()
            self._conn = None
        if self.process is not None:
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.process = None
