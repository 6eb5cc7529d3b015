"""The course folder as the tests and the tools see it: copies, submissions, scores.

The repository root is an nbgrader course directory; these helpers work on it
or on a temporary copy of it.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import COURSE_ROOT

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
