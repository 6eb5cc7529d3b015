"""Finding the work: the submissions in ``submitted/<student>/<assignment>/``."""
from __future__ import annotations

from pathlib import Path

import nbformat

from .submission import Job


class GradeError(Exception):
    """Grading cannot start; the message is one line for the TA."""


def source_assignments(root: Path) -> dict[str, list[str]]:
    """Assignments in ``source/`` and their notebook names."""
    found = {}
    source = root / "source"
    if source.is_dir():
        for folder in sorted(source.iterdir()):
            notebooks = sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []
            if notebooks and not folder.name.startswith("."):
                found[folder.name] = notebooks
    return found


def find_jobs(root: Path, assignments: list[str] | None, students: list[str] | None) -> list[Job]:
    """Every submission to grade, with the ones that cannot be graded already marked."""
    known = source_assignments(root)
    submitted = root / "submitted"
    jobs = []
    if submitted.is_dir():
        for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if students and student_dir.name not in students:
                continue
            for folder in sorted(p for p in student_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if assignments and folder.name not in assignments:
                    continue
                jobs.append(mark_ungradable(Job(folder.name, student_dir.name, folder), known))
    if not jobs:
        what = " ".join(filter(None, [f"for {', '.join(assignments)}" if assignments else "",
                                      f"by {', '.join(students)}" if students else ""]))
        raise GradeError(f"no submissions {what + ' ' if what else ''}in {submitted} (expected "
                         "submitted/<student>/<assignment>/<notebook>.ipynb)")
    return jobs


def mark_ungradable(job: Job, known: dict[str, list[str]]) -> Job:
    """Mark a submission that cannot be graded (and notebooks it lacks)."""
    if job.assignment not in known:
        job.problem = f"unknown assignment: no folder source/{job.assignment}"
        return job
    missing, unreadable = [], []
    for name in known[job.assignment]:
        path = job.path / f"{name}.ipynb"
        if not path.is_file() or path.is_symlink():
            missing.append(f"{name}.ipynb")
            continue
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:  # any parse or schema error
            text = str(error).strip().splitlines()
            unreadable.append(f"{name}.ipynb ({type(error).__name__}: {text[0] if text else ''})")
    if unreadable:
        job.problem = "notebook unreadable: " + ", ".join(unreadable)
    elif len(missing) == len(known[job.assignment]):
        job.problem = "missing notebook: " + ", ".join(missing)
    elif missing:
        job.notes.append("missing notebook (scored 0): " + ", ".join(missing))
    return job
