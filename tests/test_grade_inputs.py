"""Bad input to `make grade` (coursetools.grading): one clear line, and the rest of the class is graded."""
from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from grading_fixtures.course import ASSIGNMENT, FULL_MARKS, add_submission, hostile_class, make_course

from conftest import one_grader, run_make_grade
from coursetools.course import Course

pytestmark = [pytest.mark.slow, one_grader]

OPTIONS = ("--timeout", "60")
"""`make grade` options of every run here: a submission of the fixture course takes seconds."""
BOUND = 300
"""Seconds one run may take."""


@pytest.fixture(autouse=True)
def one_grading_at_a_time(grading_lock):
    with grading_lock():
        yield


def error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr}"
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("inputs") / "course")


def test_unknown_assignment(course):
    add_submission(course, "honest1")
    done = run_make_grade(course, *OPTIONS, "--assignment", "ps_nope", timeout=BOUND)
    assert done.returncode == 1
    line = error_line(done)
    assert "unknown assignment 'ps_nope'" in line and f"known: {ASSIGNMENT}" in line
    assert not (course / "grades.csv").exists()


def test_no_submissions(tmp_path):
    root = make_course(tmp_path / "empty")
    done = run_make_grade(root, *OPTIONS, timeout=BOUND)
    assert done.returncode == 1
    assert "no submissions" in error_line(done)
    assert not Course(root).gradebook_file.exists() and not (root / "grades.csv").exists()


def test_not_a_course_folder(tmp_path):
    done = run_make_grade(tmp_path / "nowhere", *OPTIONS, timeout=BOUND)
    assert done.returncode == 1
    assert "not a course folder" in error_line(done)


def test_broken_submissions_do_not_stop_the_others(course):
    """Malformed JSON, a missing notebook, an unknown assignment and an unknown one asked for by name."""
    hostile = hostile_class(course, 9)
    add_submission(course, "honest1")
    add_submission(course, "unreadable", hostile["unreadable"])
    add_submission(course, "missing", hostile["missing"])
    stray = Course(course).folder("submitted", "ps_nope", "stray")
    stray.mkdir(parents=True)
    (stray / "ps_nope.ipynb").write_text("{}")

    done = run_make_grade(course, *OPTIONS, "--assignment", ASSIGNMENT, "--assignment", "ps_nope", timeout=BOUND)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unknown assignment 'ps_nope'" in error_line(done)
    assert sum(c.score for c in Course(course).scores(ASSIGNMENT, "honest1")) == FULL_MARKS

    done = run_make_grade(course, *OPTIONS, "--student", "stray", "--student", "missing", timeout=BOUND)
    assert done.returncode == 1
    with open(course / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    assert rows[(ASSIGNMENT, "honest1")]["status"] == "graded"
    assert float(rows[(ASSIGNMENT, "honest1")]["score"]) == FULL_MARKS
    for key, why in [((ASSIGNMENT, "missing"), "missing notebook: fx.ipynb"),
                     (("ps_nope", "stray"), "unknown assignment: no folder source/ps_nope")]:
        assert rows[key]["status"] == "NEEDS ATTENTION" and float(rows[key]["score"]) == 0, rows[key]
        assert why in rows[key]["reason"]
        assert f"{key[0]}/{key[1]}: {why}" in done.stdout
