"""The benchmark's baseline: autograde with plain, sequential ``nbgrader autograde``.

What a TA would run without ``make grade`` (and what Formgrader runs): one
``nbgrader autograde <assignment> --force`` over every submission.  The
grading benchmark times it against ``make grade``; the pipeline tests check
that this path applies the course's integrity checks too.
"""
from __future__ import annotations

import subprocess
import sys

import nbformat

from .. import put_environment_scripts_on_path
from ..course import CellScore, Course, NbgraderError
from ..nbgrader_errors import error_line
from ..startmethod import start_method_env


def autograde_with_plain_nbgrader(course: Course, assignment: str, method: str | None = None,
                                  timeout: float = 1800, options: list[str] | None = None) -> None:
    """Run ``nbgrader autograde`` on every submission of ``assignment`` (``options``: more arguments)."""
    put_environment_scripts_on_path()
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force", *(options or [])]
    done = subprocess.run(command, cwd=course.root, env=start_method_env(method), capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise NbgraderError(f"nbgrader autograde {assignment} exited {done.returncode}",
                            error_line(done.stderr or done.stdout))


def grade_class_with_plain_nbgrader(
    course: Course,
    assignment: str,
    submissions: dict[str, dict[str, nbformat.NotebookNode]],
    method: str | None = None,
    options: list[str] | None = None,
    files: dict[str, dict[str, str]] | None = None,
) -> dict[str, list[CellScore]]:
    """Generate ``assignment`` in ``course``, submit (with the other ``files`` of some students), autograde
    with plain nbgrader; scores by student."""
    course.generate(assignment)
    for student, notebooks in submissions.items():
        course.submit(assignment, student, notebooks, (files or {}).get(student))
    autograde_with_plain_nbgrader(course, assignment, method, options=options)
    return {student: course.scores(assignment, student) for student in submissions}
