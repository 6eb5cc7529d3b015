"""The lab's three workloads, made of equal units of work.

``"cpu"``  pure Python arithmetic: needs the GIL the whole time;
``"io"``   a short sleep plus writing and reading back a small file: waits
           without the GIL;
``"c"``    SHA-256 of a 1 MiB buffer: C code that releases the GIL while it
           hashes.

A run splits its units as evenly as possible between its workers (strong
scaling: the total work is the same in every mode, so
``speedup = serial wall time / parallel wall time``).
"""
from __future__ import annotations

import hashlib
import tempfile
import time

WORKLOADS = ("cpu", "io", "c")
WORKLOAD_TITLES = {
    "cpu": "CPU-bound (pure Python)",
    "io": "I/O-bound (sleep + file)",
    "c": "C code releasing the GIL (SHA-256)",
}

CPU_UNIT_LOOPS = 20_000
HASH_BUFFER_BYTES = 1 << 20
IO_UNIT_SLEEP_S = 0.004
IO_UNIT_BYTES = 64 * 1024


def spin(loops: int) -> int:
    """Pure Python arithmetic: ``loops`` iterations holding the GIL."""
    total = 0
    for number in range(loops):
        total += number * number % 7
    return total


def _hash_buffer() -> bytes:
    return bytes(range(256)) * (HASH_BUFFER_BYTES // 256)


def do_units(workload: str, units: int) -> int:
    """Do ``units`` units of ``workload`` in the calling thread; return a checksum.

    The checksum depends only on ``workload`` and ``units`` (so tests can
    check that nothing was skipped).
    """
    if workload == "cpu":
        return sum(spin(CPU_UNIT_LOOPS) for _ in range(units))
    if workload == "c":
        buffer = _hash_buffer()
        checksum = 0
        for _ in range(units):
            checksum ^= hashlib.sha256(buffer).digest()[0]
        return checksum + units
    if workload == "io":
        payload = b"x" * IO_UNIT_BYTES
        with tempfile.TemporaryFile() as scratch:
            for _ in range(units):
                time.sleep(IO_UNIT_SLEEP_S)
                scratch.seek(0)
                scratch.write(payload)
                scratch.flush()
                scratch.seek(0)
                if scratch.read() != payload:
                    raise OSError("scratch file did not read back what was written")
        return units
    raise ValueError(f"unknown workload {workload!r}; choose from {WORKLOADS}")


def split_units(units: int, workers: int) -> list[int]:
    """Split ``units`` into ``workers`` shares that differ by at most one."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    share, extra = divmod(units, workers)
    return [share + (1 if index < extra else 0) for index in range(workers)]


def calibrate(workload: str, seconds: float) -> int:
    """How many units of ``workload`` take about ``seconds`` here, serially.

    Times a growing batch until it lasts at least a tenth of the target
    (and at least 20 ms), then scales.  Returns at least 1.
    """
    units = 1
    while True:
        start = time.perf_counter()
        do_units(workload, units)
        elapsed = time.perf_counter() - start
        if elapsed >= min(0.2, max(0.02, seconds / 10)) or units >= 1 << 20:
            return max(1, round(units * seconds / elapsed))
        units *= 4
