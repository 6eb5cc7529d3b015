"""The benchmark's baseline: autograde with plain, sequential ``nbgrader autograde``.

What a TA would run without ``make grade`` (and what Formgrader runs): one
``nbgrader autograde <assignment> --force`` over every submission.  The
grading benchmark times it against ``make grade``; the pipeline tests check
that this path applies the course's integrity checks too.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from .. import put_environment_scripts_on_path
from ..course import CellScore, scores, submit
from ..nbgrader_errors import error_line
from ..release import NbgraderError, generate
from ..startmethod import start_method_env


def autograde_with_plain_nbgrader(root: Path, assignment: str, method: str | None = None, timeout: float = 1800,
                                  options: list[str] | None = None) -> None:
    """Run ``nbgrader autograde`` on every submission of ``assignment`` (``options``: more arguments)."""
    put_environment_scripts_on_path()
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force", *(options or [])]
    done = subprocess.run(command, cwd=root, env=start_method_env(method), capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        why = error_line(done.stderr or done.stdout)
        raise NbgraderError(f"nbgrader autograde {assignment} exited {done.returncode}: {why}")


def grade_class_with_plain_nbgrader(
    root: Path,
    assignment: str,
    submissions: dict[str, dict[str, nbformat.NotebookNode]],
    method: str | None = None,
    options: list[str] | None = None,
) -> dict[str, list[CellScore]]:
    """Generate ``assignment`` in ``root``, submit, autograde with plain nbgrader; scores by student."""
    generate(assignment, root)
    for student, notebooks in submissions.items():
        submit(root, assignment, student, notebooks)
    autograde_with_plain_nbgrader(root, assignment, method, options=options)
    return {student: scores(root, assignment, student) for student in submissions}
