"""The gradebook writer: only the main grading process writes the real gradebook and folders."""
from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from ..course import Course, NbgraderError
from .discovery import source_assignments
from .files import copy_files
from .protocol import private_course_root
from .submission import GradingOutcome

MAX_COPIED_FILE = 16 * 2**20
"""Files a submission wrote that are larger than this are not copied to autograded/."""


def prepare_gradebook(course: Course, names: list[str], workspace: Path) -> dict[str, str]:
    """Add missing assignments to the gradebook from ``source/``; return errors by assignment.

    ``nbgrader generate_assignment`` records the notebooks and graded cells;
    its student version is written into ``workspace``, never ``release/``.
    """
    errors = {}
    with Gradebook(course.db_url) as gb:
        present = {a.name: {n.name for n in a.notebooks} for a in gb.assignments}
    known = source_assignments(course)
    for name in names:
        if present.get(name) == set(known[name]):
            continue
        try:
            course.generate(name, release_to=workspace / "release")
        except NbgraderError as error:
            errors[name] = "could not add the assignment to the gradebook: " + (error.detail or str(error))
    return errors


def snapshot(course: Course, dest: Path) -> None:
    """A consistent copy of the gradebook (SQLite's backup API)."""
    source = sqlite3.connect(course.gradebook_file)
    target = sqlite3.connect(dest)
    with target:
        source.backup(target)
    source.close()
    target.close()
    os.chmod(dest, 0o600)


def merge(gb: Gradebook, outcome: GradingOutcome, course: Course) -> str:
    """Copy one graded submission into the real gradebook and folders; return its score text."""
    job, private_course = outcome.job, course.moved_to(private_course_root(outcome.folder))
    with warnings.catch_warnings(), Gradebook(private_course.db_url) as private:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own, harmless
        graded = private.find_submission(job.assignment, job.student)
        gb.update_or_create_student(job.student)
        recorded = gb.update_or_create_submission(job.assignment, job.student)
        recorded.timestamp = graded.timestamp
        for graded_notebook in graded.notebooks:
            recorded_notebook = gb.find_submission_notebook(graded_notebook.name, job.assignment, job.student)
            recorded_notebook.late_submission_penalty = graded_notebook.late_submission_penalty
            for graded_cell in graded_notebook.grades:
                recorded_cell = gb.find_grade(graded_cell.name, graded_notebook.name, job.assignment, job.student)
                score = graded_cell.auto_score
                if score is not None:  # never more than the real gradebook allows
                    score = min(max(float(score), 0.0), float(recorded_cell.max_score))
                recorded_cell.auto_score = score
                recorded_cell.needs_manual_grade = bool(graded_cell.needs_manual_grade
                                                        or recorded_cell.manual_score is not None)
            for comment in graded_notebook.comments:
                gb.find_comment(comment.name, graded_notebook.name, job.assignment, job.student).auto_comment = \
                    comment.auto_comment
        gb.db.commit()
    for kind in ("autograded", "feedback"):
        src = private_course.folder(kind, job.assignment, job.student)
        if not src.is_dir():
            continue
        dest = course.folder(kind, job.assignment, job.student)
        staging = dest.parent / f".{job.assignment}.grading-{uuid.uuid4().hex[:8]}"
        skipped = copy_files(src, staging, course.ignored, MAX_COPIED_FILE)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
        if skipped and kind == "autograded":
            outcome.notes.append(f"not copied to {course.folder_name(kind)}/: {', '.join(skipped[:3])}"
                                 + (" ..." if len(skipped) > 3 else ""))
    submission = gb.find_submission(job.assignment, job.student)
    return f"{submission.score:g}/{submission.max_score:g}"
