"""Every requirement a problem set's prose states has a test that checks it (issue: class 4).

``tests/requirements/<set>.md`` holds one table per set, one row per requirement:
``| part | requirement | tests | wrong submission |``.  Each row names the test
cells (grade ids) that fail when that requirement alone is broken, and the
plausible wrong submissions (``tests/wrong_submissions/<set>.py``) that break
it; those must lose points in at least one of the named test cells, which
``test_grading_pipeline.py`` then proves by grading them.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from submissions import wrong_submissions

from conftest import ASSIGNMENTS
from coursetools import COURSE_ROOT
from coursetools.course import Course

TABLES = Path(__file__).parent / "requirements"


def requirement_rows(assignment: str) -> list[dict[str, str | list[str]]]:
    """The rows of ``tests/requirements/<assignment>.md`` (header and separator skipped)."""
    rows = []
    for line in (TABLES / f"{assignment}.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.strip().startswith("|") else []
        if len(cells) != 4 or cells[0].lower() == "part" or set(cells[0]) <= set("-: "):
            continue
        rows.append({"part": cells[0], "requirement": cells[1],
                     "tests": re.findall(r"`([^`]+)`", cells[2]), "wrong": re.findall(r"`([^`]+)`", cells[3])})
    return rows


def graded_test_cells(assignment: str) -> set[str]:
    ids = set()
    for path in Course().folder("source", assignment).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            info = cell.metadata.get("nbgrader", {})
            if info.get("grade") and not info.get("solution"):
                ids.add(info["grade_id"])
    return ids


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_requirement_has_a_test_and_a_wrong_submission(assignment):
    path = TABLES / f"{assignment}.md"
    assert path.exists(), f"{assignment}: no requirement table {path.relative_to(COURSE_ROOT)}"
    rows = requirement_rows(assignment)
    assert rows, f"{path.name}: no requirement rows"
    known_tests, wrong = graded_test_cells(assignment), wrong_submissions(assignment)
    problems = []
    for row in rows:
        label = f"{row['part']}: {row['requirement'][:60]}"
        if not row["tests"]:
            problems.append(f"{label}: no test named")
        if not row["wrong"]:
            problems.append(f"{label}: no wrong submission named")
        unknown = [t for t in row["tests"] if t not in known_tests]
        if unknown:
            problems.append(f"{label}: unknown test cells {unknown}")
        for name in row["wrong"]:
            if name not in wrong:
                problems.append(f"{label}: no wrong submission {name!r}")
            elif not set(wrong[name]["loses"]) & set(row["tests"]):
                problems.append(f"{label}: {name!r} loses no points in {row['tests']}")
    assert not problems, f"{path.name}: " + " | ".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_checks_a_stated_requirement(assignment):
    """No test cell grades something the prose does not ask for."""
    named = {t for row in requirement_rows(assignment) for t in row["tests"]}
    unlisted = sorted(graded_test_cells(assignment) - named)
    assert not unlisted, f"{assignment}: test cells in no requirement row: {unlisted}"
