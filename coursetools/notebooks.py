"""Execute notebooks with nbclient under a chosen start method.

Used by the tests (every lesson and problem-set source under fork, spawn and
forkserver), by ``make bench`` and by authors who refresh a lesson's committed
outputs::

    python -m coursetools.notebooks execute course/03_pools.ipynb   # in place
    python -m coursetools.notebooks run --method spawn course/*.ipynb
    python -m coursetools.notebooks outputs course/10_processes_vs_threads.ipynb   # = make outputs

``outputs`` is ``execute`` for outputs that get committed: before each lesson it
checks that the machine is quiet (:mod:`coursetools.quiet`) and refuses, with
the reasons, when it is not; a lesson that raised or left a process running is
not saved.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from . import COURSE_ROOT, quiet
from .course import Course
from .processes import processes_marked
from .startmethod import start_method_env

RUN_MARKER = "COURSE_NOTEBOOK_RUN"


@dataclass
class NotebookRun:
    """What executing one notebook produced."""

    notebook: nbformat.NotebookNode
    seconds: float
    leftover: list[str] = field(default_factory=list)  # "PID 123 python3" per survivor
    integrity: list[str] = field(default_factory=list)  # what the integrity checks caught (guarded runs)

    def errors(self) -> list[str]:
        """One line for every cell that raised, except cells tagged ``raises-exception``."""
        found = []
        for index, cell in enumerate(self.notebook.cells):
            if "raises-exception" in cell.get("metadata", {}).get("tags", []):
                continue
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    found.append(f"cell {index}: {out['ename']}: {out['evalue']}")
        return found


def execute(
    path: Path,
    method: str | None = None,
    timeout: int = 120,
    allow_errors: bool = False,
    grace_seconds: float = 2.0,
    guarded: bool = False,
) -> NotebookRun:
    """Run every cell of ``path`` in a fresh kernel whose cwd is its folder.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first error
    unless ``allow_errors``.  Processes the notebook left running are
    reported in ``leftover`` (after ``grace_seconds`` to exit) and killed.
    ``guarded``: run it as autograding does, with the integrity checks
    (:mod:`coursetools.grading.integrity`); their findings go to ``integrity``.
    """
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    token = uuid.uuid4().hex
    env = start_method_env(method)
    env[RUN_MARKER] = token
    resources = {"metadata": {"path": str(path.parent)}}
    reasons: list[str] = []
    start = time.perf_counter()
    try:
        if guarded:
            from .grading.integrity.guard import GuardedExecute

            guard = GuardedExecute(timeout=timeout, kernel_name="python3", kernel_launch_env=env,
                                   config=Course().config)  # the course's ignore list
            nb, _ = guard.preprocess(nb, resources)
            reasons = guard.reasons
        else:
            NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                           resources=resources).execute(env=env)
    finally:
        seconds = time.perf_counter() - start
        deadline = time.monotonic() + grace_seconds
        leftover = processes_marked(RUN_MARKER, token)
        while leftover and time.monotonic() < deadline:
            time.sleep(0.1)
            leftover = processes_marked(RUN_MARKER, token)
        described = []
        for proc in leftover:
            try:
                described.append(f"PID {proc.pid} {' '.join(proc.cmdline())[:80]}")
                proc.kill()
            except psutil.Error:
                pass
    return NotebookRun(nb, seconds, described, reasons)


REFUSED = 3
"""Exit status of ``outputs`` when it refused to run on a busy machine."""


def refresh_outputs(paths: list[Path], max_load: float, max_busy: float, busy_ok: bool,
                    check=quiet.check) -> int:
    """Execute each lesson in place if the machine is quiet just before it; see the module docstring.

    Returns 0 when every lesson was saved, 1 when one had problems (not saved),
    ``REFUSED`` when the machine was busy (that lesson and the ones after it are left as they were).
    """
    status = 0
    for index, path in enumerate(paths):
        if not path.is_file():
            print(f"error: no notebook at {path}", file=sys.stderr)
            status = 1
            continue
        machine = check(max_load=max_load, max_busy=max_busy)
        if not machine.quiet and not busy_ok:
            left = [str(p) for p in paths[index:]]
            print(f"refused: the machine is busy, so measurements would be wrong: {machine.summary()}")
            print(f"not executed: {', '.join(left)}; run again on a quiet machine "
                  "(or pass --busy-ok and re-execute the measurement cells later)")
            return REFUSED
        print(f"{path}: {machine.summary()}" + ("" if machine.quiet else ", executing anyway (--busy-ok)"),
              flush=True)
        result = execute(path, allow_errors=True)
        problems = result.errors() + [f"left running: {p}" for p in result.leftover]
        if problems:
            print(f"{path}: {result.seconds:.1f} s, NOT SAVED: {problems}")
            status = 1
            continue
        nbformat.write(result.notebook, path)
        print(f"{path}: {result.seconds:.1f} s, outputs saved")
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.notebooks")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute notebooks and save their outputs in place")
    ex.add_argument("paths", nargs="+", type=Path)
    run = sub.add_parser("run", help="execute notebooks without saving; print seconds")
    run.add_argument("--method", choices=["fork", "spawn", "forkserver"])
    run.add_argument("paths", nargs="+", type=Path)
    out = sub.add_parser("outputs", help="re-execute lessons in place for committing, only on a quiet machine")
    out.add_argument("paths", nargs="*", type=Path, help="default: every course/NN_*.ipynb")
    out.add_argument("--max-load", type=float, default=quiet.MAX_LOAD_PER_CORE,
                     help="refuse above this 1-minute load average per core (default %(default)s)")
    out.add_argument("--max-busy", type=float, default=quiet.MAX_BUSY_PERCENT,
                     help="refuse when a 1 s sample finds the cores busier than this, in %% (default %(default)s)")
    out.add_argument("--busy-ok", action="store_true",
                     help="execute even on a busy machine (then its measurement cells need a re-execution)")
    args = parser.parse_args(argv)
    if args.command == "outputs":
        lessons = args.paths or sorted((COURSE_ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
        return refresh_outputs(lessons, args.max_load, args.max_busy, args.busy_ok)
    status = 0
    for path in args.paths:
        if not path.is_file():
            print(f"error: no notebook at {path}", file=sys.stderr)
            status = 1
            continue
        result = execute(path, getattr(args, "method", None), allow_errors=True)
        problems = result.errors() + [f"left running: {p}" for p in result.leftover]
        if args.command == "execute":
            nbformat.write(result.notebook, path)
        print(f"{path}: {result.seconds:.1f} s" + ("" if not problems else f"  PROBLEMS: {problems}"))
        status = status or bool(problems)
    return status


if __name__ == "__main__":
    sys.exit(main())
