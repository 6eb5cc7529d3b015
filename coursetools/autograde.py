"""Autograde submissions with plain nbgrader in a course folder, read scores.

The grading-pipeline tests use this on a temporary copy of the course: the
solutions must earn full marks, the blank student versions zero, and each
plausible wrong submission must lose exactly the points it should.  (The TA's
``make grade`` is :mod:`coursetools.grade`, which adds a sandbox and workers.)
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import COURSE_ROOT, put_environment_scripts_on_path
from .release import NbgraderError, assignments, generate
from .startmethod import kernel_env

COPIED = ("nbgrader_config.py", "source")


def copy_course(dest: Path, root: Path = COURSE_ROOT) -> Path:
    """Copy what grading needs (config and ``source/``) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = Path(root) / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(src, dest / name)
    return dest


@dataclass(frozen=True)
class CellScore:
    """The autograded score of one graded cell."""

    notebook: str
    grade_id: str
    score: float
    max_score: float
    manual: bool


def notebooks_in(folder: Path) -> dict[str, nbformat.NotebookNode]:
    """The notebooks of a folder by name (without .ipynb)."""
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(folder).glob("*.ipynb"))}


def notebooks_of(assignment: str, root: Path) -> dict[str, nbformat.NotebookNode]:
    """The notebooks of ``source/<assignment>`` by name (without .ipynb)."""
    return notebooks_in(Path(root) / "source" / assignment)


def submit(root: Path, assignment: str, student: str, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    """Place a student's notebooks (and the release's other files) in ``submitted/``."""
    folder = Path(root) / "submitted" / student / assignment
    release = Path(root) / "release" / assignment
    if release.is_dir():
        shutil.copytree(release, folder, dirs_exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def autograde(root: Path, assignment: str, method: str | None = None, timeout: float = 1800,
              options: list[str] | None = None) -> None:
    """Run ``nbgrader autograde`` on every submission of ``assignment`` (``options``: more arguments)."""
    put_environment_scripts_on_path()
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force", *(options or [])]
    done = subprocess.run(command, cwd=root, env=kernel_env(method), capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise NbgraderError(f"nbgrader autograde {assignment} exited {done.returncode}: {tail[0]}")


def scores(root: Path, assignment: str, student: str) -> list[CellScore]:
    """Every graded cell's score for one student's autograded submission."""
    found = []
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                manual = grade.auto_score is None
                found.append(CellScore(nb.name, grade.name, grade.score, grade.max_score, manual))
    return found


def grade_class(
    root: Path,
    assignment: str,
    submissions: dict[str, dict[str, nbformat.NotebookNode]],
    method: str | None = None,
    options: list[str] | None = None,
) -> dict[str, list[CellScore]]:
    """Generate ``assignment`` in ``root``, submit, autograde; scores by student."""
    generate(assignment, root)
    for student, notebooks in submissions.items():
        submit(root, assignment, student, notebooks)
    autograde(root, assignment, method, options=options)
    return {student: scores(root, assignment, student) for student in submissions}


__all__ = ["CellScore", "copy_course", "notebooks_in", "notebooks_of", "submit", "autograde", "scores", "grade_class", "assignments"]
