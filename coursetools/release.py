"""Generate the student versions of the problem sets with nbgrader.

``make release`` runs ``python -m coursetools.release``: every assignment in
``source/`` is generated into ``release/`` (and recorded in the gradebook, as
``nbgrader generate_assignment --create`` does).  The tests call
:func:`generate` on a temporary copy of the course to prove that the committed
``release/`` is exactly what nbgrader makes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import COURSE_ROOT, put_environment_scripts_on_path
from .nbgrader_errors import result_error_line


class NbgraderError(RuntimeError):
    """An nbgrader step failed; the message is one line a TA can act on."""


def course_config(root: Path = COURSE_ROOT) -> Config:
    """``root/nbgrader_config.py`` (if any) with the course root set to ``root``."""
    root = Path(root).resolve()
    config = Config()
    if (root / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def api(root: Path = COURSE_ROOT) -> NbGraderAPI:
    """An nbgrader API object for the course at ``root``."""
    put_environment_scripts_on_path()
    return NbGraderAPI(config=course_config(root))


def assignments(root: Path = COURSE_ROOT) -> list[str]:
    """Names of the problem sets in ``root/source`` (folders holding a notebook)."""
    source = Path(root) / "source"
    return sorted(
        d.name for d in source.iterdir()
        if d.is_dir() and not d.name.startswith(".") and any(d.glob("*.ipynb"))
    )


def generate(assignment: str, root: Path = COURSE_ROOT) -> None:
    """Generate ``release/<assignment>`` from ``source/<assignment>``."""
    if not (Path(root) / "source" / assignment).is_dir():
        raise NbgraderError(f"unknown assignment {assignment!r}: no folder source/{assignment}")
    result = api(root).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise NbgraderError(f"generating {assignment} failed: {result_error_line(result)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.release", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in source/")
    args = parser.parse_args(argv)
    status = 0
    for name in args.assignments or assignments():
        try:
            generate(name)
            print(f"release/{name}: generated")
        except NbgraderError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
