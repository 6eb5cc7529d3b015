"""``grades.csv`` has one schema: nbgrader's own export columns, then status and reason."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from conftest import COURSE
from coursetools import put_environment_scripts_on_path
from coursetools.course import CONFIG_FILE, Course
from coursetools.grading.export import STATUS_FIELDS, export_csv
from coursetools.grading.submission import ATTENTION, GradingOutcome, Job

ASSIGNMENT = "ps_x"


def read_csv(path: Path) -> tuple[list[str], dict[tuple[str, str], dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), {(r["assignment"], r["student_id"]): r for r in reader}


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    """A gradebook with one assignment (3 + 2 points) and three students: ``ann`` scored 2 + 2, ``bob``
    1 + 0 with a late penalty of 0.5, ``cy`` submitted nothing (made once: alembic is slow)."""
    folder = tmp_path_factory.mktemp("gradebook")
    (folder / CONFIG_FILE).write_text((COURSE.root / CONFIG_FILE).read_text())
    course = Course(folder)
    put_environment_scripts_on_path()  # nbgrader runs alembic by name to create a gradebook
    with Gradebook(course.db_url) as gb:
        gb.add_assignment(ASSIGNMENT, duedate="2026-11-30 12:00:00")
        gb.add_notebook("nb", ASSIGNMENT)
        for cell, points in (("part_a", 3), ("part_b", 2)):
            gb.add_grade_cell(cell, "nb", ASSIGNMENT, max_score=points, cell_type="code")
        for student, first, last in (("ann", "Ann", "Ash"), ("bob", "Bob", "Birch"), ("cy", "Cy", "Cedar")):
            gb.add_student(student, first_name=first, last_name=last, email=f"{student}@example.org")
        for student, scores in (("ann", (2, 2)), ("bob", (1, 0))):
            gb.add_submission(ASSIGNMENT, student)
            for cell, score in zip(("part_a", "part_b"), scores):
                grade = gb.find_grade(cell, "nb", ASSIGNMENT, student)
                grade.auto_score, grade.needs_manual_grade = score, False
        gb.find_submission_notebook("nb", ASSIGNMENT, "bob").late_submission_penalty = 0.5
        gb.db.commit()
    return course.gradebook_file


@pytest.fixture
def course(tmp_path, gradebook) -> Course:
    """A course folder with a copy of that gradebook."""
    (tmp_path / CONFIG_FILE).write_text((COURSE.root / CONFIG_FILE).read_text())
    course = Course(tmp_path)
    shutil.copy(gradebook, course.gradebook_file)
    return course


def nbgrader_export(course: Course, dest: Path) -> tuple[list[str], dict[tuple[str, str], dict[str, str]]]:
    """What `nbgrader export` writes for the course's gradebook (nbgrader's CSV exporter)."""
    with Gradebook(course.db_url) as gb:
        CsvExportPlugin(to=str(dest)).export(gb)
    return read_csv(dest)


def outcome(student: str, graded: bool, reason: str = "") -> GradingOutcome:
    return GradingOutcome(Job(ASSIGNMENT, student, Path("submitted", student, ASSIGNMENT)), graded, reason)


def test_header_is_nbgraders_then_status_and_reason(course, tmp_path):
    theirs, _ = nbgrader_export(course, tmp_path / "theirs.csv")
    ours, _ = read_csv(export_csv(course, []))
    assert "student_id" in theirs and "raw_score" in theirs and "late_submission_penalty" in theirs
    assert ours == theirs + STATUS_FIELDS


def test_same_file_name_as_nbgrader_export(course, monkeypatch):
    """`nbgrader export` run from the course root and `make grade` write the same file."""
    monkeypatch.chdir(course.root)
    with Gradebook(course.db_url) as gb:
        CsvExportPlugin().export(gb)
    written = course.root / "grades.csv"
    assert written.is_file()
    assert export_csv(course, []) == written


def test_graded_rows_are_nbgraders_rows(course, tmp_path):
    theirs_fields, theirs = nbgrader_export(course, tmp_path / "theirs.csv")
    _, ours = read_csv(export_csv(course, []))
    assert set(ours) == set(theirs)
    for key, row in theirs.items():
        assert {name: ours[key][name] for name in theirs_fields} == row, key
    assert float(ours[(ASSIGNMENT, "ann")]["score"]) == 4
    assert float(ours[(ASSIGNMENT, "bob")]["score"]) == 0.5
    assert (ours[(ASSIGNMENT, "ann")]["status"], ours[(ASSIGNMENT, "ann")]["reason"]) == ("graded", "")
    assert ours[(ASSIGNMENT, "bob")]["reason"] == "late penalty 0.5"
    assert ours[(ASSIGNMENT, "cy")]["status"] == "not submitted"


def test_a_failed_regrade_scores_zero_and_names_the_grade_kept(course):
    _, rows = read_csv(export_csv(course, [outcome("ann", False, "timeout: 600 s"), outcome("bob", True)]))
    ann = rows[(ASSIGNMENT, "ann")]
    assert ann["status"] == ATTENTION
    assert ann["reason"] == "timeout: 600 s; previous grade 4 kept in the gradebook"
    assert [float(ann[name]) for name in ("raw_score", "late_submission_penalty", "score")] == [0, 0, 0]
    assert rows[(ASSIGNMENT, "bob")]["status"] == "graded"


def test_students_and_assignments_outside_the_gradebook_get_rows(course):
    """A submission never graded, and one this run could not grade for an assignment the gradebook lacks."""
    (course.folder("submitted", ASSIGNMENT, "dee") / "nb.ipynb").parent.mkdir(parents=True)
    failed = GradingOutcome(Job("ps_nope", "eve", Path("submitted", "eve", "ps_nope")), False, "unknown assignment")
    _, rows = read_csv(export_csv(course, [failed]))
    assert rows[(ASSIGNMENT, "dee")]["status"] == ATTENTION
    assert rows[(ASSIGNMENT, "dee")]["reason"] == "submitted but not graded yet"
    assert rows[(ASSIGNMENT, "dee")]["max_score"] == rows[(ASSIGNMENT, "ann")]["max_score"]
    assert (rows[("ps_nope", "eve")]["status"], rows[("ps_nope", "eve")]["reason"]) == (ATTENTION, "unknown assignment")
    assert rows[("ps_nope", "ann")]["status"] == "not submitted"
    assert all(float(rows[("ps_nope", "eve")][name]) == 0 for name in ("raw_score", "score"))
    assert len(rows) == 2 * 5  # every assignment for every student


def test_no_gradebook_still_writes_nbgraders_header(tmp_path):
    (tmp_path / CONFIG_FILE).write_text((COURSE.root / CONFIG_FILE).read_text())
    course = Course(tmp_path)
    failed = GradingOutcome(Job(ASSIGNMENT, "ann", Path("submitted", "ann", ASSIGNMENT)), False, "kernel died")
    fields, rows = read_csv(export_csv(course, [failed]))
    assert fields[-2:] == STATUS_FIELDS and "student_id" in fields
    assert rows[(ASSIGNMENT, "ann")]["reason"] == "kernel died"
    assert not course.gradebook_file.exists()
