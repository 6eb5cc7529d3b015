"""Time `make grade` against plain sequential `nbgrader autograde` on the same class.

``python -m coursetools.bench.grading`` builds a class in a temp folder: for
every problem set in ``source/``, ``--copies`` students submit the solution
and ``--blanks`` submit the blank student version.  Two identical copies of
that course are graded, one with ``nbgrader autograde <ps> --force`` per
problem set (what a TA would otherwise run), one with ``python -m
coursetools.grading`` (sandbox, workers, feedback and grades.csv included,
unless ``--no-feedback``).  It prints both wall times, the ratio, and whether
every student's cell scores are identical.  Not a test: timings depend on the
machine and its load.

    python -m coursetools.bench.grading                 # 24 copies + 2 blanks per set
    python -m coursetools.bench.grading --copies 2 --blanks 1 --assignment ps1_processes
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..course import Course, NbgraderError
from ..grading.cli import cores
from .baseline import autograde_with_plain_nbgrader


def build_class(course: Course, names: list[str], copies: int, blanks: int) -> list[str]:
    """Generate every set in ``course`` and submit the class; return the students."""
    students = [f"student{i:02d}" for i in range(copies)] + [f"blank{i}" for i in range(blanks)]
    for name in names:
        course.generate(name)
        solution = course.notebooks("source", name)
        release = course.notebooks("release", name)
        for student in students:
            course.submit(name, student, release if student.startswith("blank") else solution)
    return students


def compare(plain: Course, ours: Course, names: list[str], students: list[str]) -> list[str]:
    """Every difference between the two gradebooks' cell scores."""
    differences = []
    for name in names:
        for student in students:
            try:
                a = sorted(plain.scores(name, student), key=lambda c: (c.notebook, c.grade_id))
            except Exception as error:  # not graded by nbgrader
                a = [f"missing: {error}"]
            try:
                b = sorted(ours.scores(name, student), key=lambda c: (c.notebook, c.grade_id))
            except Exception as error:
                b = [f"missing: {error}"]
            if a != b:
                differences.append(f"{name}/{student}: nbgrader {a} != grade {b}")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.bench.grading", description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=24, help="students submitting the solution (default 24)")
    parser.add_argument("--blanks", type=int, default=2, help="students submitting the blank version (default 2)")
    parser.add_argument("--assignment", action="append", help="problem set to use (default: all in source/)")
    parser.add_argument("--workers", type=int, help="passed to coursetools.grading (default: number of cores)")
    parser.add_argument("--no-feedback", action="store_true", help="passed to coursetools.grading")
    parser.add_argument("--keep", action="store_true", help="keep the temp courses and print where they are")
    args = parser.parse_args(argv)
    names = args.assignment or Course().assignments()
    temp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        plain = Course().copy_to(temp / "plain")
        try:
            students = build_class(plain, names, args.copies, args.blanks)
        except NbgraderError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        shutil.copytree(plain.root, temp / "grade")
        ours = Course(temp / "grade")
        total = len(students) * len(names)
        print(f"class: {len(students)} students x {len(names)} problem set(s) = {total} submissions "
              f"({', '.join(names)}); {cores()} cores; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)

        started = time.monotonic()
        for name in names:
            autograde_with_plain_nbgrader(plain, name, timeout=24 * 3600)
        plain_seconds = time.monotonic() - started
        print(f"nbgrader autograde, sequential:  {plain_seconds:7.1f} s  "
              f"({plain_seconds / total:.2f} s per submission)", flush=True)

        command = [sys.executable, "-m", "coursetools.grading", "--course-root", str(ours.root)]
        command += ["--workers", str(args.workers)] if args.workers else []
        command += ["--no-feedback"] if args.no_feedback else []
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True)
        ours_seconds = time.monotonic() - started
        lines = done.stdout.strip().splitlines()
        what = "without feedback" if args.no_feedback else "with feedback and grades.csv"
        print(f"coursetools.grading ({what}): {ours_seconds:7.1f} s  ({ours_seconds / total:.2f} s per submission;"
              f" exit {done.returncode}; {lines[0] if lines else 'no output'})")
        if done.returncode != 0:
            print("\n".join(lines[-10:]) + done.stderr[-2000:])

        differences = compare(plain, ours, names, students)
        print(f"speed-up: {plain_seconds / ours_seconds:.2f}x   identical scores: {not differences} "
              f"(load average now {os.getloadavg()[0]:.1f})")
        for line in differences[:20]:
            print("  " + line)
        if args.keep:
            print(f"courses kept in {temp}")
        return 0 if not differences and done.returncode == 0 else 1
    finally:
        if not args.keep:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
