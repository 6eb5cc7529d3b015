"""Finding the work: the submissions in ``submitted/<student>/<assignment>/``."""
from __future__ import annotations

import nbformat

from ..course import Course
from .submission import Job


class GradeError(Exception):
    """Grading cannot start; the message is one line for the TA."""


def source_assignments(course: Course) -> dict[str, list[str]]:
    """Assignments in ``source/`` and their notebook names."""
    return {name: course.notebook_names(name) for name in course.assignments()}


def find_jobs(course: Course, assignments: list[str] | None, students: list[str] | None) -> list[Job]:
    """Every submission to grade, with the ones that cannot be graded already marked."""
    known = source_assignments(course)
    jobs = [mark_ungradable(Job(assignment, student, folder), known, course.folder_name("source"))
            for student, assignment, folder in course.submissions()
            if (not students or student in students) and (not assignments or assignment in assignments)]
    if not jobs:
        what = " ".join(filter(None, [f"for {', '.join(assignments)}" if assignments else "",
                                      f"by {', '.join(students)}" if students else ""]))
        raise GradeError(f"no submissions {what + ' ' if what else ''}in {course.folder('submitted')} (expected "
                         f"{course.folder_name('submitted')}/<student>/<assignment>/<notebook>.ipynb)")
    return jobs


def mark_ungradable(job: Job, known: dict[str, list[str]], source: str) -> Job:
    """Mark a submission that cannot be graded (and notebooks it lacks); ``source``: the source folder's name."""
    if job.assignment not in known:
        job.problem = f"unknown assignment: no folder {source}/{job.assignment}"
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
