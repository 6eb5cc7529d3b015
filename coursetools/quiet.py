"""Is this machine quiet enough to take measurements whose outputs a lesson commits?

A lesson's measurement cells (lesson 08's speedups, lesson 10's start costs) show
whatever the machine did while they ran: executed under load, they commit a
wrong picture.  ``make outputs`` (``python -m coursetools.notebooks outputs``)
asks :func:`check` before each lesson and refuses, with the reasons, when

* the 1-minute load average per core is above ``max_load`` (other work was
  waiting for a core during the last minute), or
* a short calibration finds the cores busy: over ``sample_seconds`` the
  processes already running used more than ``max_busy`` of the machine's CPU
  time (``psutil.cpu_percent``, which sees every process, ours included).

The load average lags by about a minute, the sample sees only its own second:
together they catch a machine that was busy and one that just became busy.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

MAX_LOAD_PER_CORE = 0.5
"""Default limit of the 1-minute load average divided by the number of cores."""
MAX_BUSY_PERCENT = 25.0
"""Default limit of the machine's CPU use during the calibration sample, in percent."""
SAMPLE_SECONDS = 1.0


@dataclass
class Quietness:
    """What :func:`check` measured, and why it judged the machine busy (no reasons: quiet)."""

    cores: int
    load_per_core: float | None  # None where the system has no load average
    busy_percent: float
    reasons: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return not self.reasons

    def summary(self) -> str:
        """One line: the figures, then the verdict."""
        load = "no load average" if self.load_per_core is None else f"load {self.load_per_core:.2f} per core"
        figures = f"{self.cores} cores, {load}, CPU {self.busy_percent:.0f} % busy"
        return f"{figures}: quiet" if self.quiet else f"{figures}: busy ({'; '.join(self.reasons)})"


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none (Windows)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def busy_percent(seconds: float = SAMPLE_SECONDS) -> float:
    """Percent of all cores' time spent busy during the next ``seconds``."""
    return psutil.cpu_percent(interval=seconds)


def check(max_load: float = MAX_LOAD_PER_CORE, max_busy: float = MAX_BUSY_PERCENT,
          sample_seconds: float = SAMPLE_SECONDS,
          load: Callable[[], float | None] = load_average,
          busy: Callable[[float], float] = busy_percent) -> Quietness:
    """Measure the machine now and judge it; ``load`` and ``busy`` are the probes (replaceable in tests)."""
    cores = psutil.cpu_count(logical=True) or 1
    one_minute = load()
    per_core = None if one_minute is None else one_minute / cores
    percent = busy(sample_seconds)
    reasons = []
    if per_core is not None and per_core > max_load:
        reasons.append(f"the 1-minute load average is {one_minute:.1f} on {cores} cores, "
                       f"{per_core:.2f} per core (limit {max_load:g})")
    if percent > max_busy:
        reasons.append(f"the cores were {percent:.0f} % busy during a {sample_seconds:g} s sample "
                       f"(limit {max_busy:g} %)")
    return Quietness(cores, per_core, percent, reasons)
