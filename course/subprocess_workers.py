"""Small programs that lesson 04 runs as child processes.

Run as ``python subprocess_workers.py COMMAND [ARGS]``; each command stands in
for an ordinary command-line tool, without any network access:

- ``args ARG...``       print how many arguments arrived, then each one (repr);
- ``upper``             copy standard input to standard output in capitals;
- ``fail CODE MESSAGE`` print MESSAGE to standard error and exit with CODE;
- ``sleep SECONDS``     sleep, printing nothing (a child that is still busy);
- ``helper SECONDS``    start a helper (``sleep SECONDS``) of its own, print the
  helper's PID, then sleep as long: a program that leaves a grandchild.

Using ``sys.executable`` and this file instead of shell tools keeps the lesson
portable.  The functions below are what the commands do, for the unit tests.
"""
from __future__ import annotations

import subprocess
import sys
import time
from typing import TextIO

import psutil


def show_args(args: list[str], out: TextIO) -> None:
    """Write the number of ``args`` and then each one, quoted, on its own line."""
    out.write(f"{len(args)} argument(s):\n")
    for arg in args:
        out.write(f"  {arg!r}\n")


def shout(source: TextIO, out: TextIO) -> None:
    """Copy ``source`` to ``out`` in capitals, line by line, as lines arrive."""
    for line in source:
        out.write(line.upper())
        out.flush()


def fail(code: int, message: str, err: TextIO) -> int:
    """Write ``message`` to ``err`` and return ``code``, the exit code to use."""
    err.write(message + "\n")
    return code


def start_helper(seconds: str, out: TextIO) -> None:
    """Start ``sleep seconds`` as a child of this process (sharing its stdout), print its PID, sleep."""
    helper = subprocess.Popen([sys.executable, __file__, "sleep", seconds])
    out.write(f"helper PID {helper.pid}\n")
    out.flush()
    time.sleep(float(seconds))


def running(pid: int, within: float = 0.0) -> bool:
    """Whether process ``pid`` still runs, after waiting up to ``within`` seconds for it to end.

    A zombie (ended, not yet waited for by its parent) counts as ended.  Asked
    from outside, with psutil: it works for any process, not only our children.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    """Run the command named by ``argv[0]``; return the exit code."""
    if not argv:
        return fail(2, "usage: subprocess_workers.py args|upper|fail|sleep|helper ...", sys.stderr)
    command, rest = argv[0], argv[1:]
    if command == "args":
        show_args(rest, sys.stdout)
        return 0
    if command == "upper":
        shout(sys.stdin, sys.stdout)
        return 0
    if command == "fail" and len(rest) == 2:
        return fail(int(rest[0]), rest[1], sys.stderr)
    if command == "sleep" and len(rest) == 1:
        time.sleep(float(rest[0]))
        return 0
    if command == "helper" and len(rest) == 1:
        start_helper(rest[0], sys.stdout)
        return 0
    return fail(2, f"unknown command or wrong arguments: {argv!r}", sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
