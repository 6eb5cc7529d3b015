"""A student in JupyterLab, driven in headless Chromium: a lesson runs clean, Validate tells the truth.

The server is this environment's ``jupyter lab`` (what ``make lab`` starts) in
a student's folder, with an empty home: no popup, no kernel picker and the
Validate button come from what ``make`` installs, not from anyone's settings.
Screenshots: ``build/ui/lab-*.png``.
"""
from __future__ import annotations

import browser
import nbformat
import pytest
from submissions import typed_solution

from conftest import COURSE

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))]

LESSON = "06_threads"
PROBLEM_SET = "ps1_processes"
RUN_ALL_SECONDS = 180
VALIDATE_MS = 240_000


@pytest.fixture
def lab(tmp_path, no_child_left_running):
    """JupyterLab serving a student's folder: the lessons, the blank ps1 and a solved copy of it."""
    folder = tmp_path / "student"
    browser.copy_tree(COURSE.root / "course", folder / "course")
    release = COURSE.folder("release", PROBLEM_SET)
    browser.copy_tree(release, folder / "blank" / PROBLEM_SET)
    solved = browser.copy_tree(release, folder / "solved" / PROBLEM_SET)
    for name, nb in typed_solution(COURSE.root, PROBLEM_SET).items():
        nbformat.write(nb, solved / f"{name}.ipynb")
    with browser.LabServer(folder, tmp_path / "home") as server:
        yield server


@pytest.fixture
def page(lab):
    with browser.chromium() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()


def code_cells(path) -> int:
    return sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)


def test_a_lesson_runs_all_cells_with_no_error_and_no_popup(lab, page):
    browser.open_notebook(page, lab, f"course/{LESSON}.ipynb")
    browser.screenshot(page, "lab-lesson-opened")
    assert browser.dialogs_and_popups(page) == []
    browser.run_all_cells(page, RUN_ALL_SECONDS)
    browser.screenshot(page, "lab-lesson-ran")
    assert len(browser.executed_prompts(page)) == code_cells(lab.folder / "course" / f"{LESSON}.ipynb")
    assert browser.error_outputs(page) == []
    assert browser.dialogs_and_popups(page) == []
    assert browser.kernel_name(page) == "Python 3 (course)"


def test_validate_lists_the_blanks_failures_and_passes_a_solution(lab, page):
    blank = nbformat.read(lab.folder / "blank" / PROBLEM_SET / f"{PROBLEM_SET}.ipynb", as_version=4)
    # The visible test cells: a test cell whose tests are all hidden is only its docstring in the student
    # version, and passes there.
    tests = [cell.source for cell in blank.cells
             if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
             and len(cell.source.strip().splitlines()) > 1]
    assert tests, f"{PROBLEM_SET} has no visible test cells"

    browser.open_notebook(page, lab, f"blank/{PROBLEM_SET}/{PROBLEM_SET}.ipynb")
    passed, failed = browser.validate(page, VALIDATE_MS)
    browser.screenshot(page, "lab-validate-blank")
    assert not passed
    assert sorted(source.strip() for source in failed) == sorted(source.strip() for source in tests)
    browser.close_dialog(page)

    browser.open_notebook(page, lab, f"solved/{PROBLEM_SET}/{PROBLEM_SET}.ipynb")
    passed, failed = browser.validate(page, VALIDATE_MS)
    browser.screenshot(page, "lab-validate-solved")
    assert passed and failed == []
    browser.close_dialog(page)
    assert browser.dialogs_and_popups(page) == []
