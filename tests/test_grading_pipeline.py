"""The grading pipeline on the real problem sets, through `make grade` (coursetools.grading).

For every problem set in source/ (new sets need no new test), in a temporary
copy of the course, nbgrader generates the student version and `make grade`
grades a class made of the instructor's solution (full marks), the blank
student version (zero), the plausible wrong submissions of
tests/wrong_submissions/<set>.py (each loses exactly the points it declares)
and the red team's gaming submissions of tests/gaming_submissions/<set>.py
(each earns at most what it declares).  The class is graded once, under the platform's
default start method, by one `make grade` run that uses every core, and each
submission is a test item of its own; test_notebooks.py runs the solutions
under the other start methods with the same integrity checks.

Plain `nbgrader autograde` (what Formgrader runs) is checked to apply the same
integrity checks; nbgrader's Validator (the Validate button) must pass the
solution and fail the blank version.
"""
from __future__ import annotations

import csv
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import MissingEntry
from nbgrader.validator import Validator
from submissions import gaming_class, gaming_files, gaming_submissions, wrong_class, wrong_submissions

from conftest import ASSIGNMENTS, COURSE, one_grader, run_make_grade, shared_dir
from coursetools.bench.baseline import grade_class_with_plain_nbgrader
from coursetools.course import CellScore, Course

GRADE_TIMEOUT = 2400


WRONG = [(a, name) for a in ASSIGNMENTS for name in wrong_submissions(a)]
GAMING = [(a, name) for a in ASSIGNMENTS for name in gaming_submissions(a)]


@dataclass
class GradedClass:
    """One `make grade` run over a class and what it recorded."""

    root: Path
    output: str
    scores: dict[tuple[str, str], list[CellScore]]
    rows: dict[tuple[str, str], dict[str, str]]

    def autograded(self, assignment: str, student: str) -> dict[str, tuple[float, float]]:
        """{grade id: (score, max)} of one submission's autograded cells."""
        key = (assignment, student)
        assert key in self.scores, f"{assignment}/{student} was not graded:\n{self.output[-3000:]}"
        return {c.grade_id: (c.score, c.max_score) for c in self.scores[key] if not c.manual}

    def row(self, assignment: str, student: str) -> dict[str, str]:
        return self.rows.get((assignment, student), {})


def make_class(root: Path) -> GradedClass:
    """Generate every set in ``root``, submit the class, grade it with `make grade`."""
    course = Course(root)
    students: dict[tuple[str, str], dict] = {}
    files: dict[tuple[str, str], dict[str, str]] = {}
    for assignment in ASSIGNMENTS:
        course.generate(assignment)
        solution = course.notebooks("source", assignment)
        students[(assignment, "solution")] = solution
        students[(assignment, "blank")] = course.notebooks("release", assignment)
        for student, notebooks in {**wrong_class(root, assignment, wrong_submissions(assignment)),
                                    **gaming_class(root, assignment, gaming_submissions(assignment))}.items():
            students[(assignment, student)] = notebooks
        for student, brought in gaming_files(gaming_submissions(assignment)).items():
            files[(assignment, student)] = brought
    for (assignment, student), notebooks in students.items():
        course.submit(assignment, student, notebooks, files.get((assignment, student)))
    done = run_make_grade(root, timeout=GRADE_TIMEOUT)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), f"make grade failed ({done.returncode}):\n{output[-3000:]}"
    with open(root / "grades.csv", newline="") as f:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    graded = {}
    for key in students:
        try:
            graded[key] = course.scores(*key)
        except MissingEntry:  # not graded at all: the test of that submission says so
            pass
    return GradedClass(root, output, graded, rows)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, grading_lock) -> GradedClass:
    """The whole class, graded once per test run: the first xdist worker to need it grades it (holding
    the grading lock, while `make grade` uses every core), the other reads what it recorded."""
    recorded = shared_dir(tmp_path_factory) / "graded-class.pickle"
    with grading_lock():
        if recorded.exists():
            return pickle.loads(recorded.read_bytes())
        graded = make_class(COURSE.copy_to(tmp_path_factory.mktemp("class") / "course").root)
        recorded.write_bytes(pickle.dumps(graded))
        return graded


@one_grader
@pytest.mark.slow
@pytest.mark.timeout(GRADE_TIMEOUT + 300)  # the first to ask for the class waits for its grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_earns_full_marks(assignment, graded_class):
    cells = graded_class.autograded(assignment, "solution")
    assert cells, f"{assignment} has no autograded test cells"
    lost = {k: v for k, v in cells.items() if v[0] != v[1]}
    assert not lost, f"{assignment} solution lost points (score, max): {lost}"
    row = graded_class.row(assignment, "solution")
    assert row.get("status", "").startswith("graded"), f"{assignment} solution: {row}"


@one_grader
@pytest.mark.slow
@pytest.mark.timeout(GRADE_TIMEOUT + 300)  # the first to ask for the class waits for its grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_earns_nothing(assignment, graded_class):
    earned = {k: v for k, v in graded_class.autograded(assignment, "blank").items() if v[0]}
    assert not earned, f"{assignment} blank release earned points: {earned}"


@one_grader
@pytest.mark.slow
@pytest.mark.timeout(GRADE_TIMEOUT + 300)  # the first to ask for the class waits for its grading
@pytest.mark.parametrize(("assignment", "name"), WRONG, ids=[f"{a}-{n}" for a, n in WRONG])
def test_wrong_submission_loses_exactly_its_points(assignment, name, graded_class):
    """A plausible wrong submission loses the points it declares, no more, no less, and is no false alarm."""
    graded = graded_class
    loses = wrong_submissions(assignment)[name]["loses"]
    cells = graded.autograded(assignment, f"wrong-{name}")
    assert set(loses) <= set(cells), f"{name}: unknown test cells {set(loses) - set(cells)}"
    diff = {k: (score, full - loses.get(k, 0)) for k, (score, full) in cells.items() if score != full - loses.get(k, 0)}
    assert not diff, f"{assignment} {name}: (got, expected) {diff}"
    row = graded.row(assignment, f"wrong-{name}")
    assert row.get("status", "").startswith("graded"), f"{assignment} {name} needs attention: {row.get('reason')}"


@one_grader
@pytest.mark.slow
@pytest.mark.timeout(GRADE_TIMEOUT + 300)  # the first to ask for the class waits for its grading
@pytest.mark.parametrize(("assignment", "name"), GAMING, ids=[f"{a}-{n}" for a, n in GAMING])
def test_gaming_submission_earns_no_more_than_its_work(assignment, name, graded_class):
    """A red-team submission (cheating or careless) never scores more than the work it did."""
    spec = gaming_submissions(assignment)[name]
    cells = graded_class.autograded(assignment, f"game-{name}")
    earned = sum(score for score, _ in cells.values())
    assert earned <= spec["at_most"], (
        f"{assignment} {name} ({spec['attack']}) earned {earned:g} > {spec['at_most']:g}: "
        f"{ {k: s for k, (s, _) in cells.items() if s} }")


CLASS_ONE = {"ps1_processes": ["blank_with_result_callback", "blank_ast_try_wrapper_hex_exec",
                               "cell_scoped_tracer_part_a"]}


@pytest.mark.slow
@pytest.mark.parametrize("scan", [True, False], ids=["scan", "runtime-only"])
def test_plain_nbgrader_applies_the_integrity_checks(tmp_path, scan):
    """`nbgrader autograde` (and so Formgrader) runs the same checks: kernel tampering earns nothing there
    either, with the static scan and with the runtime checks alone; the solution keeps full marks."""
    assignment, names = next(iter(CLASS_ONE.items()))
    course = COURSE.copy_to(tmp_path / "course")
    course.generate(assignment)
    table = {n: gaming_submissions(assignment)[n] for n in names}
    class_ = {"solution": course.notebooks("source", assignment), **gaming_class(course.root, assignment, table)}
    options = [] if scan else ["--GuardedExecute.static_scan=False"]
    graded = grade_class_with_plain_nbgrader(course, assignment, class_, options=options)
    solution = [c for c in graded["solution"] if not c.manual]
    assert all(c.score == c.max_score for c in solution), [(c.grade_id, c.score) for c in solution]
    for name in names:
        earned = sum(c.score for c in graded[f"game-{name}"] if not c.manual)
        assert earned <= table[name]["at_most"], f"{name} earned {earned:g} under plain nbgrader"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validator_passes_solution_and_fails_release(assignment, course_copy):
    """nbgrader's Validator (the Validate button) accepts the solution and rejects the blank version.

    `nbgrader validate` exits 0 either way, so the Validator's results are read directly.
    """
    course = Course(course_copy)
    course.generate(assignment)
    validator = Validator(config=course.config)
    for path in sorted(course.folder("source", assignment).glob("*.ipynb")):
        result = validator.validate(str(path))
        assert not result, f"Validate rejects the solution {path.name}: {list(result)}"
    for path in sorted(course.folder("release", assignment).glob("*.ipynb")):
        result = validator.validate(str(path))
        assert result.get("failed"), f"Validate accepts the blank {path.name}: {result}"
