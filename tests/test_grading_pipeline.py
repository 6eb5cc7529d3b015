"""The grading pipeline, for every problem set in source/ (new sets need no new test).

In a temporary copy of the course, nbgrader generates the student version and
autogrades a class made of: the instructor's solution (full marks), the blank
student version (zero), and the plausible wrong submissions listed in
tests/wrong_submissions/<assignment>.py (each loses exactly the points it
declares).  nbgrader's Validator must pass the solution and fail the blank.
"""
from __future__ import annotations

import copy
import importlib.util
import multiprocessing
from pathlib import Path

import nbformat
import pytest
from nbgrader.validator import Validator

from coursetools import START_METHODS
from coursetools.autograde import grade_class, notebooks_of
from coursetools.release import course_config, generate

from conftest import ASSIGNMENTS

WRONG_DIR = Path(__file__).parent / "wrong_submissions"
AVAILABLE = [m for m in START_METHODS if m in multiprocessing.get_all_start_methods()]


def wrong_submissions(assignment: str) -> dict[str, dict]:
    """The SUBMISSIONS dict of tests/wrong_submissions/<assignment>.py (empty if none)."""
    path = WRONG_DIR / f"{assignment}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"wrong_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SUBMISSIONS


def with_cells_replaced(notebooks: dict[str, nbformat.NotebookNode], replacements: dict[str, str]):
    """The solution notebooks with some solution cells' sources replaced by a student's."""
    changed = copy.deepcopy(notebooks)
    pending = dict(replacements)
    for nb in changed.values():
        for cell in nb.cells:
            info = cell.metadata.get("nbgrader", {})
            if info.get("grade_id") in pending:
                assert info.get("solution"), f"{info['grade_id']} is not a solution cell"
                cell.source = pending.pop(info["grade_id"])
    assert not pending, f"no solution cells with grade ids {sorted(pending)}"
    return changed


def autograded_points(cells) -> dict[str, float]:
    return {c.grade_id: c.score for c in cells if not c.manual}


def autograded_max(cells) -> dict[str, float]:
    return {c.grade_id: c.max_score for c in cells if not c.manual}


def release_notebooks(root: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    folder = root / "release" / assignment
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


@pytest.mark.parametrize("method", AVAILABLE)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_blank_zero(assignment, method, course_copy):
    """The solution earns every autograded point and the blank version none, under each start method."""
    generate(assignment, course_copy)
    class_ = {"solution": notebooks_of(assignment, course_copy),
              "blank": release_notebooks(course_copy, assignment)}
    scores = grade_class(course_copy, assignment, class_, method)
    full = autograded_max(scores["solution"])
    assert full, f"{assignment} has no autograded test cells"
    lost = {k: (v, full[k]) for k, v in autograded_points(scores["solution"]).items() if v != full[k]}
    assert not lost, f"{assignment} solution under {method} lost points (score, max): {lost}"
    earned = {k: v for k, v in autograded_points(scores["blank"]).items() if v}
    assert not earned, f"{assignment} blank release under {method} earned points: {earned}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_wrong_submissions_lose_exactly_their_points(assignment, course_copy):
    """Each plausible wrong submission loses the points it declares, no more, no less."""
    wrong = wrong_submissions(assignment)
    if not wrong:
        pytest.skip(f"no tests/wrong_submissions/{assignment}.py")
    solution = notebooks_of(assignment, course_copy)
    class_ = {f"wrong-{name}": with_cells_replaced(solution, spec["cells"]) for name, spec in wrong.items()}
    scores = grade_class(course_copy, assignment, class_)
    problems = []
    for name, spec in wrong.items():
        got = autograded_points(scores[f"wrong-{name}"])
        full = autograded_max(scores[f"wrong-{name}"])
        assert set(spec["loses"]) <= set(full), f"{name}: unknown test cells {set(spec['loses']) - set(full)}"
        expected = {k: full[k] - spec["loses"].get(k, 0) for k in full}
        diff = {k: (got[k], expected[k]) for k in full if got[k] != expected[k]}
        if diff:
            problems.append(f"{name}: (got, expected) {diff}")
    assert not problems, f"{assignment}: " + " | ".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validator_passes_solution_and_fails_release(assignment, course_copy):
    """nbgrader's Validator (the Validate button) accepts the solution and rejects the blank version.

    `nbgrader validate` exits 0 either way, so the Validator's results are read directly.
    """
    generate(assignment, course_copy)
    validator = Validator(config=course_config(course_copy))
    for path in sorted((course_copy / "source" / assignment).glob("*.ipynb")):
        result = validator.validate(str(path))
        assert not result, f"Validate rejects the solution {path.name}: {list(result)}"
    for path in sorted((course_copy / "release" / assignment).glob("*.ipynb")):
        result = validator.validate(str(path))
        assert result.get("failed"), f"Validate accepts the blank {path.name}: {result}"
