"""Grade the class: autograde submitted/, write feedback and grades.csv (`make grade`)."""
from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from .. import COURSE_ROOT, put_environment_scripts_on_path
from ..course import Course
from . import sandbox as sb
from .discovery import GradeError, find_jobs, source_assignments
from .export import export_csv, return_files_to_course_owner
from .overrides import UnsupportedVersion, require_tested_versions
from .scheduler import grade

DEFAULT_TIMEOUT = 600
"""Wall-clock seconds one submission may take, all its notebooks together."""


def parse_size(text: str) -> int:
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}
    match = re.fullmatch(r"(\d+)\s*([KMG]?)i?B?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M, 4G)")
    return int(match.group(1)) * units[match.group(2).upper()]


def cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m coursetools.grading", description=__doc__.splitlines()[0])
    parser.add_argument("--course-root", type=Path, default=COURSE_ROOT,
                        help="course folder (default: this repository)")
    parser.add_argument("--assignment", action="append", help="grade only this assignment (repeatable)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--workers", type=int, default=cores(),
                        help="worker processes, each importing nbgrader once (default: number of cores)")
    parser.add_argument("--per-worker", type=int, default=2,
                        help="submissions each worker grades at once, in the sandbox only (default 2: notebooks "
                             "spend much of their time waiting)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"wall-clock seconds for one submission (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--no-sandbox", action="store_true", help="only resource limits and process clean-up")
    parser.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    parser.add_argument("--memory", type=parse_size, default=sb.Limits.memory_bytes,
                        help="address-space limit of each student process (default 4G)")
    parser.add_argument("--max-processes", type=int, default=sb.Limits.processes,
                        help="processes + threads of one submission (sandbox only, default 256)")
    parser.add_argument("--max-file-size", type=parse_size, default=sb.Limits.file_bytes,
                        help="largest file student code may write (default 256M)")
    parser.add_argument("--workdir", type=Path, help="where private grading folders go (default /var/tmp or $TMPDIR)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    put_environment_scripts_on_path()
    course = Course(args.course_root)
    started = time.monotonic()
    status = 0
    try:
        require_tested_versions()
        source = course.folder_name("source")
        if not course.folder("source").is_dir():
            raise GradeError(f"{course.root} is not a course folder: no {source}/")
        if args.workers < 1 or args.per_worker < 1 or args.timeout <= 0:
            raise GradeError("--workers, --per-worker and --timeout must be positive")
        wanted = args.assignment
        if wanted:
            known = source_assignments(course)
            for name in [a for a in wanted if a not in known]:
                print(f"error: unknown assignment {name!r}: no folder {source}/{name} with a notebook "
                      f"(known: {', '.join(known) or 'none'})", file=sys.stderr)
                status = 1
            wanted = [a for a in wanted if a in known]
            if not wanted:
                return status
        jobs = find_jobs(course, wanted, args.student)
    except (GradeError, UnsupportedVersion) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    limits = sb.Limits(memory_bytes=args.memory, cpu_seconds=int(args.timeout), processes=args.max_processes,
                       file_bytes=args.max_file_size)
    sandbox = sb.detect(args.no_sandbox, limits)
    print(sandbox.describe(), flush=True)
    sb.become_subreaper()
    try:
        outcomes = grade(course, jobs, workers=args.workers, per_worker=args.per_worker, timeout=args.timeout,
                         sandbox=sandbox, workdir=args.workdir, feedback=not args.no_feedback)
    except KeyboardInterrupt:
        print("interrupted: grades recorded so far are kept", file=sys.stderr)
        return 130
    except (sqlite3.DatabaseError, SQLAlchemyError) as error:
        print(f"error: cannot use {course.gradebook_file}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        sb.sweep(root_pid=os.getpid())
    path = export_csv(course, outcomes)
    return_files_to_course_owner(course)
    attention = [o for o in outcomes if o.attention]
    graded = sum(o.graded for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"graded {graded} of {len(outcomes)} submission(s) in {time.monotonic() - started:.1f} s "
          f"(slowest: {slowest.job.assignment}/{slowest.job.student}, {slowest.seconds:.1f} s); wrote {path}")
    if attention:
        print(f"{len(attention)} submission(s) need attention:")
        for outcome in attention:
            print(f"  {outcome.job.assignment}/{outcome.job.student}: {outcome.why()}")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
