"""Time every lesson under each start method (``make bench``).

A benchmark, not a test: it prints seconds per lesson and method, the
slowest lesson, and whether each lesson stayed within the course's budget
(20 s under spawn on a 2-core machine; 30 s for the GIL lesson).
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

from .. import COURSE_ROOT, available_start_methods
from ..notebooks import execute

BUDGET_SECONDS = {"08_gil.ipynb": 30.0}
DEFAULT_BUDGET = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.bench.lessons", description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=Path, help="default: every course/NN_*.ipynb")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted((COURSE_ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
    methods = available_start_methods()
    print(f"Python {sys.version.split()[0]}, {multiprocessing.cpu_count()} cores; seconds per lesson")
    print(f"{'lesson':34}" + "".join(f"{m:>12}" for m in methods) + "   budget")
    over = []
    for lesson in lessons:
        row = []
        for method in methods:
            run = execute(lesson, method, allow_errors=True)
            problems = run.errors() + run.leftover
            row.append(f"{run.seconds:10.1f}{'!' if problems else ' '} ")
            if method == "spawn" and run.seconds > BUDGET_SECONDS.get(lesson.name, DEFAULT_BUDGET):
                over.append(lesson.name)
            if problems:
                over.append(f"{lesson.name} ({method}: {problems[0]})")
        budget = BUDGET_SECONDS.get(lesson.name, DEFAULT_BUDGET)
        print(f"{lesson.name:34}" + "".join(row) + f"   {budget:.0f} s", flush=True)
    print("all within budget, no errors" if not over else "attention: " + "; ".join(over))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
