"""Export: ``grades.csv`` at the course root, and the course's files given back to its owner."""
from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from ..course import Course
from .submission import ATTENTION, GradingOutcome

CSV_FIELDS = ["assignment", "student", "score", "max_score", "status", "reason"]


def export_csv(course: Course, outcomes: list[GradingOutcome]) -> Path:
    """``grades.csv``: a row per student per assignment, from the gradebook, ``submitted/`` and this run.

    A submission that could not be graded has score 0, status NEEDS ATTENTION
    and the reason (its previous grade, if any, stays in the gradebook and is
    named); one in ``submitted/`` but never graded says so.
    """
    submitted = {(assignment, student) for student, assignment, _ in course.submissions()}
    latest = {(o.job.assignment, o.job.student): o for o in outcomes}
    recorded: dict[tuple[str, str], dict] = {}
    maxima: dict[str, float] = {}
    students = {s for _, s in submitted} | {s for _, s in latest}
    if course.gradebook_file.exists():
        with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
            warnings.simplefilter("ignore", SAWarning)
            students |= {s.id for s in gb.students}
            for assignment in gb.assignments:
                maxima[assignment.name] = assignment.max_score
                for sub in assignment.submissions:
                    penalty = sub.late_submission_penalty or 0.0
                    recorded[(assignment.name, sub.student.id)] = {
                        "score": max(0.0, sub.score - penalty),
                        "status": "graded (needs manual grading)" if sub.needs_manual_grade else "graded",
                        "reason": f"late penalty {penalty:g}" if penalty else ""}
    assignments = set(maxima) | {a for a, _ in submitted} | {a for a, _ in latest}
    rows = []
    for assignment in sorted(assignments):
        for student in sorted(students):
            key = (assignment, student)
            row = {"assignment": assignment, "student": student, "score": 0.0,
                   "max_score": maxima.get(assignment, ""), "status": "not submitted", "reason": ""}
            row.update(recorded.get(key, {}))
            outcome = latest.get(key)
            if outcome is not None and not outcome.graded:
                kept = f"; previous grade {row['score']:g} kept in the gradebook" if key in recorded else ""
                row.update(score=0.0, status=ATTENTION, reason=outcome.reason + kept)
            elif outcome is not None and outcome.attention:
                row.update(status=ATTENTION, reason=outcome.why())
            elif key not in recorded and key in submitted:
                row.update(status=ATTENTION, reason="submitted but not graded yet")
            rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        for name in ("score", "max_score"):
            if isinstance(row[name], float):
                row[name] = f"{row[name]:g}"
        writer.writerow(row)
    path = grades_csv(course)
    tmp = path.with_name(".grades.csv.tmp")
    tmp.write_text(buffer.getvalue())
    tmp.replace(path)
    return path


def grades_csv(course: Course) -> Path:
    """Where ``make grade`` writes the class's grades (private, like the gradebook)."""
    return course.root / "grades.csv"


def return_files_to_course_owner(course: Course) -> None:
    """Run as root (for the sandbox), leave what grading wrote to the course folder's owner."""
    owner = course.root.stat()
    if os.geteuid() != 0 or owner.st_uid == 0:
        return
    paths = [course.gradebook_file, grades_csv(course)]
    for kind in ("autograded", "feedback"):
        if course.folder(kind).is_dir():
            paths.append(course.folder(kind))
            paths.extend(course.folder(kind).rglob("*"))
    for path in paths:
        if path.exists() and not path.is_symlink():
            os.chown(path, owner.st_uid, owner.st_gid)
