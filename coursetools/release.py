"""Generate the student versions of the problem sets with nbgrader.

``make release`` runs ``python -m coursetools.release``: every assignment in
``source/`` is generated into ``release/`` (and recorded in the gradebook, as
``nbgrader generate_assignment --create`` does).  The tests call
:meth:`coursetools.course.Course.generate` on a temporary copy of the course
to prove that the committed ``release/`` is exactly what nbgrader makes.
"""
from __future__ import annotations

import argparse
import sys

from .course import Course, NbgraderError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.release", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in source/")
    args = parser.parse_args(argv)
    course = Course()
    status = 0
    for name in args.assignments or course.assignments():
        try:
            course.generate(name)
            print(f"{course.folder_name('release')}/{name}: generated")
        except NbgraderError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
