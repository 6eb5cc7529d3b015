"""Measure how deterministic autograding is: grade each solution many times.

For every assignment in ``source/`` (or those named) and every start method,
the instructor's solution is autograded ``--runs`` times, as that many
students in one plain ``nbgrader autograde`` run, in a temporary copy of the
course.  With ``--busy``, CPU-burning processes keep all but one core busy
meanwhile, as on a loaded grading machine.  Prints one line per assignment
and method::

    python -m coursetools.grading.stress --runs 20 --busy
    python -m coursetools.grading.stress --runs 3 --methods spawn ps2_ipc

and exits non-zero if any run lost a point (the lost cells are listed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import START_METHODS, available_start_methods
from ..bench.baseline import grade_class_with_plain_nbgrader
from ..course import Course, NbgraderError

BURN = "while True:\n    pass\n"


@dataclass
class StressResult:
    """The grading runs of one assignment under one start method."""

    assignment: str
    method: str
    runs: int
    full: int = 0
    seconds: float = 0.0
    lost: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.full == self.runs


@contextmanager
def busy_cores(count: int) -> Iterator[list[subprocess.Popen]]:
    """Run ``count`` processes that burn CPU until the block ends."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(count)]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.terminate()
        for burner in burners:
            try:
                burner.wait(10)
            except subprocess.TimeoutExpired:
                burner.kill()
                burner.wait()


def stress(assignment: str, method: str, runs: int, course: Course | None = None,
           keep: bool = False) -> StressResult:
    """Autograde the solution of ``assignment`` ``runs`` times under ``method``."""
    outcome = StressResult(assignment, method, runs)
    work = Path(tempfile.mkdtemp(prefix=f"stress-{assignment}-{method}-"))
    course = (course or Course()).copy_to(work / "course")
    solution = course.notebooks("source", assignment)
    class_ = {f"run{number:02d}": solution for number in range(1, runs + 1)}
    start = time.perf_counter()
    try:
        scores = grade_class_with_plain_nbgrader(course, assignment, class_, method)
    except (NbgraderError, OSError, subprocess.SubprocessError) as error:
        outcome.error = str(error)
        scores = {}
    outcome.seconds = time.perf_counter() - start
    for student, cells in sorted(scores.items()):
        graded = [cell for cell in cells if not cell.manual]
        short = [cell for cell in graded if cell.score != cell.max_score]
        if graded and not short:
            outcome.full += 1
        for cell in short:
            outcome.lost.append(f"{student} {cell.notebook}:{cell.grade_id} {cell.score:g}/{cell.max_score:g}")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    elif not outcome.ok:
        outcome.lost.append(f"(course copy kept in {course.root})")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.grading.stress",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in source/")
    parser.add_argument("--runs", type=int, default=20, help="gradings per assignment and method (20)")
    parser.add_argument("--busy", action="store_true", help="keep all cores but one busy meanwhile")
    parser.add_argument("--methods", nargs="+", choices=START_METHODS, default=list(START_METHODS))
    parser.add_argument("--keep", action="store_true", help="keep the course copy of a failing assignment")
    args = parser.parse_args(argv)

    methods = available_start_methods(tuple(args.methods))
    known = Course().assignments()
    names = args.assignments or known
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"no such assignment in source/: {', '.join(unknown)}")
    burners = max(1, (os.cpu_count() or 2) - 1) if args.busy else 0

    print(f"{args.runs} gradings per line; busy cores: {burners}; start methods: {' '.join(methods)}")
    print(f"{'assignment':<16} {'method':<11} {'full marks':>10} {'seconds':>8}  per run")
    outcomes = []
    with busy_cores(burners):
        for name in names:
            for method in methods:
                outcome = stress(name, method, args.runs, keep=args.keep)
                outcomes.append(outcome)
                mark = "" if outcome.ok else "   LOST POINTS" if not outcome.error else "   ERROR"
                print(f"{name:<16} {method:<11} {f'{outcome.full}/{outcome.runs}':>10} "
                      f"{outcome.seconds:8.1f}  {outcome.seconds / max(1, outcome.runs):6.1f} s{mark}",
                      flush=True)
    failed = [outcome for outcome in outcomes if not outcome.ok]
    for outcome in failed:
        print(f"\n{outcome.assignment} under {outcome.method}:")
        if outcome.error:
            print(f"  error: {outcome.error}")
        for line in outcome.lost:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
