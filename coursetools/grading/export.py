"""Export: ``grades.csv`` at the course root, and the course's files given back to its owner.

One grades file, one schema: the columns ``nbgrader export`` writes (made by
nbgrader's own CSV exporter, so a TA's import script reads either file the
same way), then ``status`` and ``reason``, which say what this run could not
grade and why.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin
from sqlalchemy.exc import SAWarning

from ..course import Course
from .submission import ATTENTION, GradingOutcome

STATUS_FIELDS = ["status", "reason"]
"""The columns ``make grade`` adds after nbgrader's own."""

SCORE_FIELDS = ["raw_score", "late_submission_penalty", "score"]
"""nbgrader's score columns: all 0 in the row of a submission this run could not grade."""

NO_GRADEBOOK = SimpleNamespace(assignments=[], students=[])
"""What nbgrader's exporter iterates over, empty: it then writes its header alone."""


def nbgrader_rows(db_url: str | None) -> tuple[list[str], list[dict[str, str]]]:
    """What ``nbgrader export`` (its ``CsvExportPlugin``) writes for a gradebook (None: there is none yet):
    its header and its rows."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-export-") as folder:
        dest = Path(folder) / "grades.csv"
        exporter = CsvExportPlugin(to=str(dest))
        if db_url is None:
            exporter.export(NO_GRADEBOOK)
        else:
            with warnings.catch_warnings(), Gradebook(db_url) as gb:
                warnings.simplefilter("ignore", SAWarning)
                exporter.export(gb)
        with open(dest, newline="") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)


def recorded_status(db_url: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(assignment, student) -> (status, reason) of every submission in the gradebook."""
    found = {}
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                penalty = sub.late_submission_penalty or 0.0
                status = "graded (needs manual grading)" if sub.needs_manual_grade else "graded"
                found[(assignment.name, sub.student.id)] = (status, f"late penalty {penalty:g}" if penalty else "")
    return found


def export_csv(course: Course, outcomes: list[GradingOutcome]) -> Path:
    """``grades.csv``: nbgrader's export of the gradebook with a status and a reason in every row.

    nbgrader writes a row per student per assignment of the gradebook; the
    students and assignments found only in ``submitted/`` or in this run get
    their rows too (score 0).  A submission this run could not grade has score 0,
    status NEEDS ATTENTION and the reason (its previous grade, if any, stays
    in the gradebook and is named); one in ``submitted/`` but never graded
    says so; one never submitted says ``not submitted``.
    """
    db_url = course.db_url if course.gradebook_file.exists() else None
    fields, exported = nbgrader_rows(db_url)
    recorded = recorded_status(db_url) if db_url else {}
    rows = {(row["assignment"], row["student_id"]): row for row in exported}
    maxima = {row["assignment"]: row["max_score"] for row in exported}
    submitted = {(assignment, student) for student, assignment, _ in course.submissions()}
    latest = {(o.job.assignment, o.job.student): o for o in outcomes}
    known = set(rows) | submitted | set(latest)
    every = {(a, s) for a in {a for a, _ in known} for s in {s for _, s in known}}
    for assignment, student in every - set(rows):
        row = dict.fromkeys(fields, "")
        row.update(dict.fromkeys(SCORE_FIELDS, "0.0"), assignment=assignment, student_id=student,
                   max_score=maxima.get(assignment, ""))
        rows[(assignment, student)] = row
    for key, row in rows.items():
        status, reason = recorded.get(key, ("not submitted", ""))
        outcome = latest.get(key)
        if outcome is not None and not outcome.graded:
            kept = f"; previous grade {float(row['score']):g} kept in the gradebook" if key in recorded else ""
            row.update(dict.fromkeys(SCORE_FIELDS, "0.0"))
            status, reason = ATTENTION, outcome.reason + kept
        elif outcome is not None and outcome.attention:
            status, reason = ATTENTION, outcome.why()
        elif key not in recorded and key in submitted:
            status, reason = ATTENTION, "submitted but not graded yet"
        row.update(status=status, reason=reason)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fields + STATUS_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows[key] for key in sorted(rows))
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
